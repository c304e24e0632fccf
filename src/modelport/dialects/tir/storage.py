"""Where a TIR endpoint's files live: `path`, `disk_path`, `mount_path`, `sfs_id`/`sfs_path`.

- storage_type "disk" (TIR's default): a disk of `disk_size` GB per replica, mounted at
  `resource_details.mount_path`, else `disk_path` (/mnt/models): a Mount without a source, the
  runtime's per-endpoint scratch directory, writable.
- storage_type "sfs": shared file storage. Modelport has no SFS service of its own: `sfs_path`
  names the shared directory on the replicas' host (an NFS mount, say), mounted writable at
  `disk_path` where the engine reads the model; `sfs_id` is kept and echoed. A host path needs
  the project's host access (services/host_policy.py), as any mount with a source does.
- `path`: the model's files; an absolute path as is, a relative one under `disk_path`.
"""

from __future__ import annotations

import posixpath

from modelport.dialects.tir.schemas import DEFAULT_DISK_PATH, EndpointRequest
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import Mount

MOUNT_PATH_FIELD = "custom_endpoint_details.resource_details.mount_path"


def on_disk(request: EndpointRequest, path: str) -> str:
    """TIR's `path`: an absolute path as is, a relative one under `disk_path` (TIR's docs)."""
    joined = path if path.startswith("/") else posixpath.join(disk(request), path)
    return posixpath.normpath(joined)


def disk(request: EndpointRequest) -> str:
    return request.disk_path.strip() or DEFAULT_DISK_PATH


def mounts(request: EndpointRequest) -> list[Mount]:
    details = request.custom_endpoint_details.resource_details
    if request.storage_type == "sfs":
        source = request.sfs_path.strip()
        if not source:
            raise InvalidSpec(
                "sfs_path: required when storage_type is sfs (the shared directory on the "
                "replicas' host)",
                field="sfs_path",
            )
        target = _absolute(disk(request), "disk_path")
        return [Mount(path=target, source=_absolute(source, "sfs_path"))]
    mount_path = details.mount_path.strip()
    where = mount_path or disk(request)
    field = MOUNT_PATH_FIELD if mount_path else "disk_path"
    return [Mount(path=_absolute(where, field), size_gb=details.disk_size)]


def _absolute(path: str, field: str) -> str:
    if not path.startswith("/"):
        raise InvalidSpec(f"{field}: must be an absolute path", field=field)
    if any(part in (".", "..") for part in path.split("/")):
        raise InvalidSpec(f"{field}: must not contain '.' or '..' parts", field=field)
    return posixpath.normpath(path)
