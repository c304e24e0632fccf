"""Replica isolation on the local runtime: who replicas run as, their private directories, and
(as root, for real) a uid per replica for the engine and its exec probes."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from modelport.domain.errors import PermanentError
from modelport.domain.launch import LaunchPlan
from modelport.domain.specs import ProbeProtocol, ProbeSpec
from modelport.runtime.base import ProcessState
from modelport.runtime.isolation import (
    DEFAULT_UID_RANGE,
    Placement,
    ReplicaIsolation,
    ReplicaUsers,
    UserMode,
)
from modelport.runtime.local import LocalRuntime
from tests.conftest import IN_CI

TCP = ProbeSpec(protocol=ProbeProtocol.TCP)
as_root = pytest.mark.skipif(
    os.geteuid() != 0 and not IN_CI, reason="switching uids needs root (CI runs as root)"
)


@pytest.mark.parametrize(
    ("value", "is_root", "expected"),
    [
        ("auto", False, ReplicaUsers(UserMode.SERVER)),
        ("server", True, ReplicaUsers(UserMode.SERVER)),
        ("auto", True, ReplicaUsers(UserMode.PER_REPLICA, first=2_000_000, last=2_999_999)),
        ("5000-5009", True, ReplicaUsers(UserMode.PER_REPLICA, first=5000, last=5009)),
        ("nobody", True, ReplicaUsers(UserMode.SHARED, uid=65534, gid=65534, name="nobody")),
        ("4242", True, ReplicaUsers(UserMode.SHARED, uid=4242, gid=4242)),
    ],
)
def test_replica_user_setting(value: str, is_root: bool, expected: ReplicaUsers) -> None:
    assert ReplicaUsers.parse(value, is_root=is_root) == expected


@pytest.mark.parametrize(
    ("value", "is_root", "why"),
    [("9-1", True, "FIRST-LAST"), ("no-such-user-x", True, "FIRST-LAST"),
     ("nosuchuserx", True, "no such user"), ("nobody", False, "needs the server to run as root")],
)  # fmt: skip
def test_bad_replica_user_settings_are_refused(value: str, is_root: bool, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        ReplicaUsers.parse(value, is_root=is_root)


def test_replica_directories_may_not_live_in_the_server_home(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside the server home"):
        ReplicaIsolation.from_settings(tmp_path / "home" / "replicas", "server", tmp_path / "home")


@as_root
def test_replica_directories_must_be_reachable_by_the_replica_users(open_dir: Path) -> None:
    closed = open_dir / "closed"
    closed.mkdir(mode=0o700)

    with pytest.raises(ValueError, match=f"{closed} is not searchable"):
        ReplicaIsolation.from_settings(closed / "replicas", "5000-5009", open_dir / "home")
    ReplicaIsolation.from_settings(open_dir / "replicas", "5000-5009", open_dir / "home")


def test_a_replica_directory_is_private_and_released(tmp_path: Path) -> None:
    isolation = ReplicaIsolation(tmp_path / "replicas")
    first, second = isolation.place("ep-r1-g1"), isolation.place("ep-r1-g1")

    assert first.workdir != second.workdir  # two servers, one endpoint name: never shared
    assert stat.S_IMODE(first.workdir.stat().st_mode) == 0o700
    isolation.release(str(first.workdir))
    isolation.release(str(tmp_path))  # not one of its directories: left alone
    assert not first.workdir.exists() and second.workdir.exists() and tmp_path.exists()


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory other users may pass through (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="mp-open-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_an_executable_behind_a_closed_directory_is_named(open_dir: Path) -> None:
    tmp_path = open_dir
    closed = tmp_path / "closed"
    (closed / "bin").mkdir(parents=True)
    program = closed / "bin" / "engine"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    closed.chmod(0o700)  # like /root: other users cannot pass
    placement = Placement(tmp_path, 2_000_001, 2_000_001)

    with pytest.raises(PermanentError, match=f"{closed} is not searchable"):
        ReplicaIsolation.check_can_run(str(program), placement, None)
    ReplicaIsolation.check_can_run("/bin/sh", placement, None)  # reachable: no error
    ReplicaIsolation.check_can_run(str(program), Placement(tmp_path, None, None), None)


@pytest.fixture
async def per_replica(tmp_path: Path) -> AsyncIterator[LocalRuntime]:
    users = ReplicaUsers(
        UserMode.PER_REPLICA, first=DEFAULT_UID_RANGE[0], last=DEFAULT_UID_RANGE[1]
    )
    base = Path("/tmp") / f"mp-replicas-{os.getpid()}"  # traversable by the replicas' uids
    rt = LocalRuntime(tmp_path / "logs", isolation=ReplicaIsolation(base, users))
    started: list = []
    rt_start = rt.start

    async def start(key: str, plan: LaunchPlan):  # type: ignore[no-untyped-def]
        handle = await rt_start(key, plan)
        started.append(handle)
        return handle

    rt.start = start  # type: ignore[method-assign]
    yield rt
    for handle in started:
        await rt.stop(handle, grace_seconds=0)
    os.rmdir(base)


def _sh(script: str, port: int = 9) -> LaunchPlan:
    return LaunchPlan(
        argv=["/bin/sh", "-c", script], host="127.0.0.1", port=port, readiness=TCP, liveness=TCP
    )


@as_root
async def test_as_root_each_replica_runs_as_its_own_uid(per_replica: LocalRuntime) -> None:
    a = await per_replica.start("a-r1-g1", _sh("sleep 30"))
    b = await per_replica.start("b-r2-g1", _sh("sleep 30"))

    for handle in (a, b):
        assert handle.uid is not None and handle.workdir is not None and handle.pid is not None
        assert DEFAULT_UID_RANGE[0] <= handle.uid <= DEFAULT_UID_RANGE[1]
        status = Path(f"/proc/{handle.pid}/status").read_text()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1:] == [str(handle.uid)] * 4  # real, effective, saved, fs
        groups = next(line for line in status.splitlines() if line.startswith("Groups:"))
        assert groups.split()[1:] == []  # root's supplementary groups dropped
        info = Path(handle.workdir).stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (handle.uid, 0o700)
    assert a.uid != b.uid

    # Exec probes run as the replica's user, in its directory.
    check = f'test "$(id -u)" = {a.uid} && test "$PWD" = {a.workdir} && test "$HOME" = "$PWD"'
    assert await per_replica.exec_probe(a, ["/bin/sh", "-c", check], timeout=10)
    assert not await per_replica.exec_probe(a, ["/bin/sh", "-c", "test $(id -u) = 0"], 10)

    await per_replica.stop(a, grace_seconds=5)
    assert not Path(str(a.workdir)).exists()  # the uid's claim is freed with it
    assert (await per_replica.status(b)).state is ProcessState.RUNNING


@as_root
async def test_as_root_an_engine_the_replica_user_cannot_reach_fails_clearly(
    per_replica: LocalRuntime, tmp_path: Path
) -> None:
    closed = tmp_path / "closed"  # pytest's tmp dirs are 0700: no other user passes
    closed.mkdir()
    engine = closed / "engine"
    engine.write_text("#!/bin/sh\nsleep 30\n")
    engine.chmod(0o755)
    plan = LaunchPlan(argv=[str(engine)], host="127.0.0.1", port=9, readiness=TCP, liveness=TCP)

    with pytest.raises(PermanentError, match="MODELPORT_REPLICA_USER=server"):
        await per_replica.start("c-r3-g1", plan)
    assert list(per_replica.isolation.base_dir.iterdir()) == []  # its directory was released


def test_a_link_in_a_closed_directory_to_an_open_program_is_named(open_dir: Path) -> None:
    """A venv's bin/python is a link to a system Python: the link's own directory must be
    searchable too (exec walks the path as given), not only the target's."""
    closed = open_dir / "checkout"
    (closed / ".venv" / "bin").mkdir(parents=True)
    link = closed / ".venv" / "bin" / "python"
    link.symlink_to("/bin/sh")
    closed.chmod(0o700)  # like a clone made with `mktemp -d`
    placement = Placement(open_dir, 2_000_001, 2_000_001)

    with pytest.raises(PermanentError, match=f"{closed} is not searchable"):
        ReplicaIsolation.check_can_run(str(link), placement, None)
    closed.chmod(0o755)
    ReplicaIsolation.check_can_run(str(link), placement, None)
