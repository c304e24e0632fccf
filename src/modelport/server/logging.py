"""Process logging: one line per record, no request headers or bodies anywhere."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # Client libraries log full URLs and headers at debug level; keep them quiet.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
