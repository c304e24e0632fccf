"""Replica isolation on the local runtime: each replica gets a private working directory outside
the server home and, when the server runs as root, an unprivileged uid (by default its own).

What this does not isolate (docs/security.md): replicas share the host's network namespace (any
local process can connect to an engine's port: hence the per-replica key), /proc/PID/cmdline is
world-readable, and a replica can read whatever other users may read. The Docker runtime is the
stronger boundary.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import stat
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from modelport.domain.errors import PermanentError, TemporaryError

DEFAULT_UID_RANGE = (2_000_000, 2_999_999)  # above the ids distributions and subuid maps hand out
_ROOT_REPLICA_DIR = Path("/var/lib/modelport/replicas")
_CLAIM_TRIES = 64


class UserMode(StrEnum):
    """Who a replica's processes run as."""

    SERVER = "server"  # the server's own user: no uid switch (the only choice when not root)
    SHARED = "shared"  # every replica as one configured user
    PER_REPLICA = "per_replica"  # each replica its own uid from a range, claimed by its directory


@dataclass(frozen=True)
class ReplicaUsers:
    mode: UserMode
    uid: int | None = None  # SHARED
    gid: int | None = None
    name: str | None = None
    first: int = 0  # PER_REPLICA: the uid range, inclusive
    last: int = 0

    @classmethod
    def parse(cls, value: str, *, is_root: bool) -> ReplicaUsers:
        """MODELPORT_REPLICA_USER: "auto", "server", "A-B" (uid range), a user name or a uid."""
        text = value.strip()
        if text == "server" or (text == "auto" and not is_root):
            return cls(UserMode.SERVER)
        if not is_root:
            raise ValueError(
                f"MODELPORT_REPLICA_USER={text!r} needs the server to run as root "
                "(use 'auto' or 'server')"
            )
        if text == "auto":
            return cls(UserMode.PER_REPLICA, first=DEFAULT_UID_RANGE[0], last=DEFAULT_UID_RANGE[1])
        first, dash, last = text.partition("-")
        if dash:
            if not (first.isdigit() and last.isdigit()) or not 0 < int(first) <= int(last):
                raise ValueError(f"MODELPORT_REPLICA_USER={text!r}: a uid range is 'FIRST-LAST'")
            return cls(UserMode.PER_REPLICA, first=int(first), last=int(last))
        if text.isdigit():
            uid = int(text)
            with contextlib.suppress(KeyError):
                entry = pwd.getpwuid(uid)
                return cls(UserMode.SHARED, uid=uid, gid=entry.pw_gid, name=entry.pw_name)
            return cls(UserMode.SHARED, uid=uid, gid=uid)
        try:
            entry = pwd.getpwnam(text)
        except KeyError:
            raise ValueError(f"MODELPORT_REPLICA_USER={text!r}: no such user") from None
        return cls(UserMode.SHARED, uid=entry.pw_uid, gid=entry.pw_gid, name=entry.pw_name)


@dataclass(frozen=True)
class Placement:
    """Where and as whom one replica runs."""

    workdir: Path
    uid: int | None  # None: the server's own user
    gid: int | None
    user_name: str | None = None


def default_replica_dir() -> Path:
    if os.geteuid() == 0:
        return _ROOT_REPLICA_DIR
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "modelport" / "replicas"


class ReplicaIsolation:
    def __init__(self, base_dir: Path | None = None, users: ReplicaUsers | None = None) -> None:
        self.base_dir = (base_dir or default_replica_dir()).absolute()
        self.users = users or ReplicaUsers(UserMode.SERVER)

    @classmethod
    def from_settings(cls, base_dir: Path | None, user: str, server_home: Path) -> ReplicaIsolation:
        isolation = cls(base_dir, ReplicaUsers.parse(user, is_root=os.geteuid() == 0))
        home = server_home.absolute()
        if isolation.base_dir == home or home in isolation.base_dir.parents:
            raise ValueError(
                f"MODELPORT_REPLICA_DIR={isolation.base_dir} is inside the server home {home}: "
                "replicas must not reach the database and keys"
            )
        if isolation.users.mode is not UserMode.SERVER:
            for parent in reversed(isolation.base_dir.parents):
                if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
                    raise ValueError(
                        f"MODELPORT_REPLICA_DIR={isolation.base_dir}: {parent} is not searchable "
                        "by other users, so replicas could not enter their directories"
                    )
        return isolation

    def place(self, replica_key: str) -> Placement:
        """Create the replica's private directory (mode 0700, owned by the replica's user)."""
        if self.users.mode is UserMode.SERVER:
            # Left as it is when it exists: a server whose replicas switch uids may share it.
            self.base_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        else:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            # Others may pass through to their own directory but not list anyone else's.
            self.base_dir.chmod(0o711)
        users = self.users
        if users.mode is UserMode.PER_REPLICA:
            return self._claim_uid()
        workdir = Path(tempfile.mkdtemp(prefix=f"{replica_key}-", dir=self.base_dir))
        if users.mode is UserMode.SHARED:
            assert users.uid is not None and users.gid is not None
            os.chown(workdir, users.uid, users.gid)
            return Placement(workdir, users.uid, users.gid, users.name)
        return Placement(workdir, None, None)

    def _claim_uid(self) -> Placement:
        # The directory named after a uid is that uid's claim: mkdir is atomic, so two servers
        # on one host never hand out the same uid; it is freed when the replica stops.
        users = self.users
        for _ in range(_CLAIM_TRIES):
            uid = random.randint(users.first, users.last)
            workdir = self.base_dir / str(uid)
            try:
                workdir.mkdir(mode=0o700)
            except FileExistsError:
                continue
            os.chown(workdir, uid, uid)
            return Placement(workdir, uid, uid)
        raise TemporaryError(f"no free replica uid in {users.first}-{users.last} now", delay=5.0)

    def release(self, workdir: str | None) -> None:
        """Remove a replica's directory once its processes are gone (only ours, never others)."""
        if workdir is None:
            return
        path = Path(workdir)
        if path.parent != self.base_dir or not path.is_dir():
            return
        shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def check_can_run(executable: str, placement: Placement, path_env: str | None) -> None:
        """PermanentError when the replica's user could not even start `executable` (e.g. a
        Python under /root, which is mode 0700): better one clear event than a crash loop."""
        if placement.uid is None:
            return
        found = shutil.which(executable, path=path_env) if "/" not in executable else executable
        if found is None:
            return  # the spawn reports it
        real = Path(os.path.realpath(found))
        uid, gid = placement.uid, placement.gid
        # The kernel walks the path as given (a venv's bin/python is a link) and then the
        # link's target: every directory of both must be searchable.
        given = Path(os.path.abspath(found))
        directories = dict.fromkeys([*reversed(given.parents), *reversed(real.parents)])
        for directory in directories:
            if not _may(directory, uid, gid, stat.S_IXOTH):
                raise PermanentError(
                    f"the replica's user (uid {uid}) cannot run {str(real)!r}: {directory} is "
                    "not searchable by other users. Install the engine where other users can "
                    "read it, or set MODELPORT_REPLICA_USER=server (replicas then run as the "
                    "server's user, without isolation from it)"
                )
        if not _may(real, uid, gid, stat.S_IXOTH):
            raise PermanentError(
                f"the replica's user (uid {uid}) may not execute {str(real)!r} (file mode)"
            )


def _may(path: Path, uid: int, gid: int | None, other_bit: int) -> bool:
    """Whether uid/gid has the permission whose "others" bit is `other_bit` (x or r) on path."""
    try:
        info = path.stat()
    except OSError:
        return True  # not ours to judge: the spawn reports a missing path
    shift = 6 if info.st_uid == uid else 3 if info.st_gid == gid else 0
    return bool(info.st_mode & (other_bit << shift))
