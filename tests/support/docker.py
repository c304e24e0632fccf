"""A real Docker daemon for tests, and the test images built locally (no registry is reachable).

`modelport/llamacpp:<tag>` is a FROM-scratch image assembled from this host: the Python that
.venv uses (binary + stdlib), the site-packages `python3 -m llama_cpp.server` imports, and the
shared-library closure (ldd) of all of it. `modelport/custom-chat:<tag>` adds a small
OpenAI-style server script on top (a custom container serving real inference). Tags are a hash
of what goes in, so a build happens once per content and later runs reuse the image. The GGUF
model is never baked in: tests mount it read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import docker
import httpx
import pytest
from docker import DockerClient
from docker.errors import DockerException, ImageNotFound

from tests.conftest import need

LLAMACPP_REPO = "modelport/llamacpp"  # the engines' default image for framework llamacpp
CUSTOM_REPO = "modelport/custom-chat"
TINY_REPO = "modelport/tiny"
_BUILDER_VERSION = "1"  # bump to rebuild when this file's layout changes
_IMAGES = Path(__file__).parent / "images"
_SITE = "/opt/modelport/site"
_TOOLS = ("sh", "true", "false", "sleep", "cat")  # for exec probes and custom commands
_STDLIB_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3"}
# Imported to list the site-packages the server needs (what uvicorn picks at run time too).
_ENTRY_MODULES = (
    "llama_cpp.server.app llama_cpp.server.__main__ uvicorn.main uvicorn.loops.auto "
    "uvicorn.loops.uvloop uvicorn.protocols.http.auto uvicorn.protocols.http.h11_impl "
    "uvicorn.protocols.http.httptools_impl uvicorn.protocols.websockets.auto uvicorn.lifespan.on"
)
_LDD_PATH = re.compile(r"(/\S+) \(0x")


def docker_available() -> DockerClient | None:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException:
        return None
    return client


@pytest.fixture(scope="session")
def docker_client() -> Iterator[DockerClient]:
    client = docker_available()
    need(client is not None, "no Docker daemon reachable (scripts/setup-docker.sh starts one)")
    assert client is not None
    yield client
    client.close()


@pytest.fixture(scope="session")
def llamacpp_image(docker_client: DockerClient) -> str:
    return build_llamacpp_image(docker_client)


@pytest.fixture(scope="session")
def custom_image(docker_client: DockerClient, llamacpp_image: str) -> str:
    return build_custom_image(docker_client, llamacpp_image)


def build_llamacpp_image(client: DockerClient) -> str:
    """`modelport/llamacpp:<content tag>`, also tagged `latest` (the engine's default)."""
    files = _rootfs_files()
    dockerfile = (_IMAGES / "llamacpp" / "Dockerfile").read_text()
    tag = f"{LLAMACPP_REPO}:{_content_tag(files, dockerfile)}"
    if not _exists(client, tag):
        with tempfile.TemporaryDirectory(prefix="modelport-image-") as context:
            _assemble(Path(context), files)
            shutil.copy(_IMAGES / "llamacpp" / "Dockerfile", Path(context) / "Dockerfile")
            _build(Path(context), tag)
    client.images.get(tag).tag(LLAMACPP_REPO, "latest")
    return tag


def build_custom_image(client: DockerClient, base: str) -> str:
    """A custom serving image: the llama.cpp base plus images/custom/serve.py as entrypoint."""
    source = _IMAGES / "custom"
    text = (source / "Dockerfile").read_text() + (source / "serve.py").read_text()
    tag = f"{CUSTOM_REPO}:{hashlib.sha256((base + text).encode()).hexdigest()[:16]}"
    if not _exists(client, tag):
        with tempfile.TemporaryDirectory(prefix="modelport-image-") as context:
            shutil.copytree(source, context, dirs_exist_ok=True)
            _build(Path(context), tag, build_args={"BASE": base})
    return tag


def build_tiny_image(client: DockerClient) -> str:
    """`modelport/tiny:<tag>`: a few MB of shell tools (sh, sleep, true, ...) and their
    libraries; runs `sleep`. For pull tests, where pushing the Python image would be slow."""
    files = _tool_files()
    dockerfile = (_IMAGES / "tiny" / "Dockerfile").read_text()
    tag = f"{TINY_REPO}:{_content_tag(files, dockerfile)}"
    if not _exists(client, tag):
        with tempfile.TemporaryDirectory(prefix="modelport-image-") as context:
            _assemble(Path(context), files)
            shutil.copy(_IMAGES / "tiny" / "Dockerfile", Path(context) / "Dockerfile")
            _build(Path(context), tag)
    return tag


def _exists(client: DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def _build(context: Path, tag: str, build_args: dict[str, str] | None = None) -> None:
    args = [f"--build-arg={k}={v}" for k, v in (build_args or {}).items()]
    done = subprocess.run(
        ["docker", "build", "-q", "-t", tag, *args, str(context)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"docker build {tag} failed:\n{done.stderr[-3000:]}"


# --- the root filesystem ----------------------------------------------------------------------
def _rootfs_files() -> dict[str, Path]:
    """Path inside the image -> file on this host (symlinks resolved: the image gets copies)."""
    python = Path(os.path.realpath(sys.executable))
    files: dict[str, Path] = {"/usr/bin/python3": python}
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in _walk(stdlib, skip=_STDLIB_SKIP):
        files[str(path)] = path
    site = Path(sysconfig.get_paths()["purelib"])
    for top in _site_tops(site):
        source = site / top
        for path in _walk(source) if source.is_dir() else [source]:
            files[f"{_SITE}/{path.relative_to(site)}"] = path
    binaries = [p for p in files.values() if p.suffix == ".so" or ".so." in p.name]
    for lib in _shared_libraries([python, *binaries]):
        files.setdefault(lib, Path(os.path.realpath(lib)))
    return {**files, **_tool_files()}


def _tool_files() -> dict[str, Path]:
    """/bin tools (sh, sleep, true, ...) with the libraries they load."""
    files: dict[str, Path] = {}
    for tool in _TOOLS:
        found = shutil.which(tool)
        if found is not None:
            files[f"/bin/{tool}"] = Path(os.path.realpath(found))
    for lib in _shared_libraries(list(files.values())):
        files[lib] = Path(os.path.realpath(lib))
    return files


def _walk(root: Path, skip: set[str] | frozenset[str] = frozenset()) -> Iterator[Path]:
    for directory, dirs, names in os.walk(root):
        if Path(directory) == root:
            dirs[:] = [d for d in dirs if d not in skip]
        for name in names:
            path = Path(directory) / name
            if path.is_file():
                yield path


def _site_tops(site: Path) -> list[str]:
    """Top-level names in site-packages that the server's modules come from (+ their .libs)."""
    code = (
        "import importlib, sys\n"
        f"for m in {_ENTRY_MODULES.split()!r}: importlib.import_module(m)\n"
        f"site = {str(site)!r} + '/'\n"
        "tops = {getattr(m, '__file__', None) or '' for m in list(sys.modules.values())}\n"
        "print('\\n'.join(sorted({f[len(site):].split('/')[0] for f in tops "
        "if f.startswith(site)})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    tops = [t for t in done.stdout.split() if t and t != "_distutils_hack"]
    libs = [f"{t}.libs" for t in tops if (site / f"{t}.libs").is_dir()]
    return sorted({*tops, *libs})


def _shared_libraries(binaries: list[Path]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(binaries), 200):
        done = subprocess.run(
            ["ldd", *map(str, binaries[start : start + 200])],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for line in done.stdout.splitlines():
            hit = _LDD_PATH.search(line)
            if hit and not hit.group(1).startswith(str(Path(sys.prefix))):
                found.add(hit.group(1))
    return found


def _content_tag(files: dict[str, Path], dockerfile: str) -> str:
    digest = hashlib.sha256(f"{_BUILDER_VERSION}\n{dockerfile}".encode())
    for target in sorted(files):
        stat = files[target].stat()
        digest.update(f"{target}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _assemble(context: Path, files: dict[str, Path]) -> None:
    root = context / "rootfs"
    for target, source in files.items():
        dest = root / target.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, dest)  # same filesystem: no copy
        except OSError:
            shutil.copy2(source, dest)
    if (root / "usr/bin/python3").exists():
        (root / "usr/bin/python3.11").symlink_to("python3")
    (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")


# --- a private registry -----------------------------------------------------------------------
REGISTRY_BINARY = "/usr/bin/docker-registry"  # Debian's docker-registry (Distribution)


@dataclass(frozen=True)
class Registry:
    server: str  # host:port, loopback (dockerd treats 127.0.0.0/8 as an insecure registry)
    username: str
    password: str


@contextlib.contextmanager
def running_registry(workdir: Path) -> Iterator[Registry]:
    """docker-registry on a loopback port with htpasswd (bcrypt) auth and storage in workdir."""
    need(Path(REGISTRY_BINARY).exists(), "docker-registry is not installed (apt docker-registry)")
    port = _free_port()
    user, password = "puller", secrets.token_urlsafe(12)
    htpasswd = workdir / "htpasswd"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=8)).decode()
    htpasswd.write_text(f"{user}:{hashed}\n")
    config = workdir / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        f"auth:\n  htpasswd:\n    realm: modelport-tests\n    path: {htpasswd}\n"
    )
    log = (workdir / "registry.log").open("wb")
    proc = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, (workdir / "registry.log").read_text()[-2000:]
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 401:
                    break  # up, and asking for credentials
            assert time.monotonic() < deadline, "docker-registry did not start"
            time.sleep(0.1)
        yield Registry(f"127.0.0.1:{port}", user, password)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def push(client: DockerClient, image: str, registry: Registry, ref: str) -> str:
    """`image` pushed to `registry` as `ref` (repo:tag); the local `ref` tag is removed again,
    so the daemon has to pull it. Returns the pushed image's id."""
    source = client.images.get(image)
    target = f"{registry.server}/{ref}"
    source.tag(target)
    auth = {"username": registry.username, "password": registry.password}
    repository, tag = target.rsplit(":", 1)
    for line in client.images.push(repository, tag, auth_config=auth, stream=True, decode=True):
        assert "error" not in line, line
    client.images.remove(target)
    return source.id or ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatedProxy:
    """A TCP proxy to `upstream` on a loopback port whose new connections wait while the gate
    is closed: a test holds a pull in flight for as long as it needs, deterministically."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self._open = threading.Event()
        self._open.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.set()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._open.wait()
        with client, socket.create_connection(("127.0.0.1", self._upstream)) as upstream:
            pump = threading.Thread(target=_copy, args=(upstream, client), daemon=True)
            pump.start()
            _copy(client, upstream)
            pump.join()


def _copy(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
