"""Render one of the nginx templates next to it and run nginx in the foreground.

    python launch_nginx.py upstream --port 9000
    python launch_nginx.py proxy --port 9001 --upstream 127.0.0.1:9000

Used by benchmarks/gateway.py directly and as the command of a `custom` Modelport endpoint
(`{port}` in the command is the replica's port). exec()s nginx, so stopping this process (or
its process group) stops nginx.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def render(kind: str, port: int, upstream: str | None, workers: int, prefix: Path) -> Path:
    template = (HERE / f"nginx-{kind}.conf.template").read_text()
    conf = template.format(
        listen=f"127.0.0.1:{port}", prefix=prefix, workers=workers, upstream=upstream or ""
    )
    path = prefix / "nginx.conf"
    path.write_text(conf)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["upstream", "proxy"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", help="host:port to proxy to (proxy only)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = Path(tempfile.mkdtemp(prefix=f"mp-bench-nginx-{args.kind}-"))
    conf = render(args.kind, args.port, args.upstream, args.workers, prefix)
    os.execv(nginx, [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")])


if __name__ == "__main__":
    main()
