"""The model fetcher itself (models/fetch.py, hub.py) against a real local Hub, a real SQLite
store and a real fsspec object store: which token reaches the Hub, a rotated token tried at
once after a failure, model-repository copies into the content-keyed cache (once, checked
against their sha256, never half-published), and failures a user can act on."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fsspec
import pytest
from cryptography.fernet import Fernet

from modelport.clock import FakeClock
from modelport.controller.fetching import ModelStaging, StagedModel
from modelport.domain.decisions import EventReason
from modelport.domain.errors import ModelUnavailable
from modelport.domain.integrations import IntegrationKind, SecretFields
from modelport.domain.records import Endpoint, Project, Role
from modelport.domain.specs import EndpointSpec, Framework
from modelport.models.cache import ModelCache, content_key
from modelport.models.fetch import FetchProgress, ModelFetcher, RepositoryFetch
from modelport.models.hub import HubClient
from modelport.models.objects import FsspecObjects, file_key
from modelport.models.uploads import Chunk
from modelport.schemas.integrations import IntegrationCreate
from modelport.schemas.models import ModelCreate
from modelport.security.secrets import SecretBox
from modelport.services.auth import Principal
from modelport.services.integrations import IntegrationService
from modelport.services.models import ModelLimits, ModelService
from modelport.services.spec_secrets import engine_environment, seal
from modelport.store.repositories import SqlStore, open_store
from tests.support.hub import HUB_TOKEN, HubRepo, LocalHub, local_hub

PRIVATE = "org/private-gguf"  # readable with HUB_TOKEN only
PUBLIC = "org/public-gguf"  # readable by anyone
FILE = "tiny.Q4.gguf"
WEIGHTS = bytes(range(256)) * 256  # 64 KiB: the fetch paths, not download speed
SPEC_TOKEN = "hf_spectoken00000000000000000000000"  # refused by the local hub
SERVER_TOKEN = "hf_servertoken000000000000000000000"  # the server process's own HF_TOKEN
DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def running_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    weights = tmp_path_factory.mktemp("weights") / FILE
    weights.write_bytes(WEIGHTS)
    repos = HubRepo(PRIVATE, {FILE: weights}), HubRepo(PUBLIC, {FILE: weights}, token=None)
    with local_hub(*repos) as hub:
        yield hub


@pytest.fixture
def hub(running_hub: LocalHub, monkeypatch: pytest.MonkeyPatch) -> LocalHub:
    """The module's hub with no requests recorded yet; the server process has an HF_TOKEN of
    its own, which no fetch may send (huggingface_hub reads it when given token=None)."""
    monkeypatch.setenv("HF_TOKEN", SERVER_TOKEN)
    running_hub.requests.clear()
    return running_hub


@dataclass
class Site:
    """One project on a real SQLite store, with the services the fetcher is wired to."""

    store: SqlStore
    box: SecretBox
    clock: FakeClock
    project: Project
    admin: Principal
    integrations: IntegrationService
    cache: ModelCache

    def fetcher(self, hub: LocalHub | str, models: ModelService | None = None) -> ModelFetcher:
        url = hub if isinstance(hub, str) else hub.url
        return ModelFetcher(
            self.cache,
            HubClient(url, self.cache.hf_cache),
            hf_token=self.integrations.hf_token,
            repository=models,
        )

    def endpoint(self, env: dict[str, str] | None = None, **model: str) -> Endpoint:
        secrets = [{"name": k, "value": v, "secret": True} for k, v in (env or {}).items()]
        spec = EndpointSpec.model_validate(
            {"framework": Framework.CUSTOM, "command": ["serve"], "model": model, "env": secrets}
        )
        sealed = seal(spec, self.box)
        return self.store.create_endpoint(
            self.project.id, f"e-{uuid.uuid4().hex[:8]}", sealed, sealed.model_dump_json()
        )

    def hf_integration(self, token: str, name: str = "hf") -> None:
        body = IntegrationCreate(name=name, kind=IntegrationKind.HUGGING_FACE, token=token)
        self.integrations.create(self.admin, body)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'modelport.db'}", clock)
    box = SecretBox(Fernet.generate_key())
    project = store.create_project("team-a")
    yield Site(
        store=store,
        box=box,
        clock=clock,
        project=project,
        admin=Principal(token_id=1, project_id=project.id, role=Role.ADMIN),
        integrations=IntegrationService(store, box),
        cache=ModelCache(tmp_path / "cache"),
    )
    store.close()


async def fetch_endpoint(site: Site, fetcher: ModelFetcher, endpoint: Endpoint) -> Path:
    """What the controller does before a launch: the job from the stored (sealed) spec and
    its decrypted env, then the fetch."""
    env = engine_environment(endpoint.spec, site.box)
    job = fetcher.fetch_of(endpoint.project_id, endpoint.spec, env)
    assert job is not None
    return await fetcher.fetch(job, FetchProgress())


@pytest.mark.parametrize(
    ("repo", "integration", "env", "sent"),
    [
        # The integration's token wins over the spec's HF_TOKEN (refused by the hub if sent).
        (PRIVATE, HUB_TOKEN, {"HF_TOKEN": SPEC_TOKEN}, HUB_TOKEN),
        (PRIVATE, None, {"HF_TOKEN": HUB_TOKEN}, HUB_TOKEN),
        (PUBLIC, None, {}, None),  # anonymous: not the server's own HF_TOKEN either
    ],
    ids=["integration", "spec-hf-token", "anonymous"],
)
async def test_the_hub_sees_exactly_the_token_the_spec_chose(
    hub: LocalHub,
    site: Site,
    repo: str,
    integration: str | None,
    env: dict[str, str],
    sent: str | None,
) -> None:
    model = {"hf_id": repo, "path": FILE}
    if integration is not None:
        site.hf_integration(integration)
        model["integration"] = "hf"
    endpoint = site.endpoint(env, **model)

    path = await fetch_endpoint(site, site.fetcher(hub), endpoint)

    assert path.name == FILE and path.read_bytes() == WEIGHTS
    seen = hub.seen(repo)
    assert seen and {r.token for r in seen} == {sent}, seen


async def test_a_rotated_token_is_tried_at_once_after_a_failure(hub: LocalHub, site: Site) -> None:
    site.hf_integration("hf_oldtoken0000000000000000000000")  # the hub refuses it
    endpoint = site.endpoint(hf_id=PRIVATE, path=FILE, integration="hf")
    replica = site.store.create_replica(endpoint.id, endpoint.generation, site.clock.now())
    # A failure is remembered for a minute of backoff; the fake clock never moves here.
    staging = ModelStaging(
        site.fetcher(hub), site.store, site.box, site.clock, backoff=lambda _: 60
    )
    events: list[EventReason] = []

    async def event(_e: Endpoint, reason: EventReason, _m: str, _r: int | None) -> None:
        events.append(reason)

    async def staged() -> StagedModel:
        deadline = time.monotonic() + DEADLINE_S
        while (found := await staging.stage(endpoint, replica, event)) is None:
            assert time.monotonic() < deadline, "the fetch did not end in time"
            await asyncio.sleep(0.02)
        return found

    with pytest.raises(ModelUnavailable) as refused:
        await staged()
    assert "refused the token (integration 'hf')" in refused.value.message
    asked = len(hub.seen(PRIVATE))
    with pytest.raises(ModelUnavailable):  # remembered: the hub is not asked again
        await staging.stage(endpoint, replica, event)
    assert len(hub.seen(PRIVATE)) == asked

    site.integrations.rotate(site.admin, "hf", SecretFields(token=HUB_TOKEN))
    ready = await staged()  # a new credential: fetched now, not after the backoff

    assert ready.path is not None and Path(ready.path).read_bytes() == WEIGHTS
    assert {r.token for r in hub.seen(PRIVATE)[asked:]} == {HUB_TOKEN}
    assert EventReason.MODEL_READY in events
    await staging.close()


# --- the model repository on an object store that is not this host's disk --------------------

MODEL_FILE = "w/model.gguf"


@pytest.fixture
def remote_objects() -> Iterator[tuple[str, FsspecObjects]]:
    """A real fsspec object store with no local directory (as S3 is): fetches copy out of it."""
    url = f"memory://models-{uuid.uuid4().hex}"
    yield url, FsspecObjects(url, {})
    fsspec.filesystem("memory").rm(url, recursive=True)


@pytest.fixture
def models(site: Site, remote_objects: tuple[str, FsspecObjects]) -> ModelService:
    service = ModelService(site.store, remote_objects[1], ModelLimits(1 << 20, 1 << 20), site.clock)
    service.create(site.admin, ModelCreate(name="smol"))
    chunk = Chunk(start=0, length=len(WEIGHTS), total=len(WEIGHTS), field="Content-Range")
    sha = hashlib.sha256(WEIGHTS).hexdigest()
    service.upload(site.admin, "smol", MODEL_FILE, chunk, sha, [WEIGHTS])
    service.ready(site.admin, "smol")
    return service


def cache_entries(cache: ModelCache) -> dict[str, list[str]]:
    return {
        name: sorted(p.name for p in (cache.root / name).iterdir())
        for name in ("ready", "tmp")
        if (cache.root / name).is_dir()
    }


async def test_a_repository_model_is_copied_into_the_cache_once(
    hub: LocalHub, site: Site, models: ModelService
) -> None:
    fetcher = site.fetcher(hub, models)
    endpoint = site.endpoint(model_id="smol")
    env = engine_environment(endpoint.spec, site.box)
    job = fetcher.fetch_of(site.project.id, endpoint.spec, env)
    assert job == RepositoryFetch(site.project.id, "smol")
    files = models.files_of(site.project.id, "smol")
    assert files.local_dir is None  # so the fetch copies

    first = FetchProgress()
    path = await fetcher.fetch(job, first)

    assert path == site.cache.ready(content_key("repo-files", files.content_key))
    assert (path / MODEL_FILE).read_bytes() == WEIGHTS
    assert (first.done, first.total) == (len(WEIGHTS), len(WEIGHTS))
    inode = (path / MODEL_FILE).stat().st_ino

    again = FetchProgress()
    one_file = RepositoryFetch(site.project.id, str(files.model.id), MODEL_FILE)  # by id
    assert await fetcher.fetch(job, again) == path
    assert await fetcher.fetch(one_file, FetchProgress()) == path / MODEL_FILE
    assert (again.done, again.total) == (0, None)  # nothing copied: the content was there
    assert (path / MODEL_FILE).stat().st_ino == inode
    assert cache_entries(site.cache) == {"ready": [path.name], "tmp": []}
    assert hub.seen() == []


async def test_a_damaged_repository_file_is_unavailable_and_never_published(
    hub: LocalHub, site: Site, models: ModelService, remote_objects: tuple[str, FsspecObjects]
) -> None:
    model = models.files_of(site.project.id, "smol").model
    url = remote_objects[0]
    damaged = bytearray(WEIGHTS)
    damaged[-1] ^= 0xFF  # same size, other bytes: only the sha256 tells
    fsspec.filesystem("memory").pipe(
        f"{url}/{file_key(site.project.id, model.id, MODEL_FILE)}", bytes(damaged)
    )
    endpoint = site.endpoint(model_id="smol")

    with pytest.raises(ModelUnavailable) as unavailable:
        await fetch_endpoint(site, site.fetcher(hub, models), endpoint)

    assert unavailable.value.message == (
        f"model 'smol': file '{MODEL_FILE}' does not match its sha256; upload the model again"
    )
    assert site.cache.ready(content_key("repo-files", model.content_key or "")) is None
    assert cache_entries(site.cache) == {"tmp": []}  # the staging copy is gone too


# --- failures a user can act on ------------------------------------------------------------


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was just free)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("model", "env", "says"),
    [
        (
            {"hf_id": "org/missing"},
            {"HF_TOKEN": HUB_TOKEN},
            "Hugging Face repo org/missing not found at {hub} with the endpoint's HF_TOKEN: "
            "check model.hf_id",
        ),
        (
            {"hf_id": PRIVATE},
            {},  # a private repo asked for anonymously: the Hub says it does not exist
            "Hugging Face repo org/private-gguf not found at {hub} with no token: check "
            "model.hf_id; a private or gated repo needs a token",
        ),
        (
            {"hf_id": PRIVATE, "revision": "v9"},
            {"HF_TOKEN": HUB_TOKEN},
            "Hugging Face repo org/private-gguf has no revision 'v9'; check model.revision",
        ),
        (
            {"hf_id": PRIVATE, "path": "absent.gguf"},
            {"HF_TOKEN": HUB_TOKEN},
            "Hugging Face repo org/private-gguf at main has no file 'absent.gguf'; check "
            "model.path",
        ),
        (
            {"hf_id": PRIVATE},
            {"HF_TOKEN": SPEC_TOKEN},
            "the Hub at {hub} refused the token (the endpoint's HF_TOKEN) for "
            "org/private-gguf (401 invalid credentials): replace the token",
        ),
        (
            {"hf_id": PUBLIC, "path": FILE},
            {},
            "the Hub at {down} is unreachable (ConnectError) fetching "
            "org/public-gguf@main/tiny.Q4.gguf: check the network and MODELPORT_HF_ENDPOINT",
        ),
    ],
    ids=["no-repo", "private-anonymous", "no-revision", "no-file", "401", "unreachable"],
)
async def test_an_unfetchable_source_says_what_to_do(
    hub: LocalHub, site: Site, model: dict[str, str], env: dict[str, str], says: str
) -> None:
    down = closed_port_url()
    fetcher = site.fetcher(down if "{down}" in says else hub)
    endpoint = site.endpoint(env, **model)

    with pytest.raises(ModelUnavailable) as unavailable:
        await fetch_endpoint(site, fetcher, endpoint)

    message = unavailable.value.message
    assert says.format(hub=hub.url, down=down) in message, message
    assert "\n" not in message and "Traceback" not in message
    assert HUB_TOKEN not in message and SPEC_TOKEN not in message  # named, never shown
    assert not (site.cache.root / "ready").exists() or cache_entries(site.cache)["ready"] == []
