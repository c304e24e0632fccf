"""A real S3-compatible HTTP server for tests: moto's server mode in a subprocess on a free
loopback port, with authentication on (a wrong key or secret is refused, as on S3).

Use from a conftest: `from tests.support.s3 import s3_server`; `s3_server.new_bucket()` gives
each test its own bucket. Tests talk to it over HTTP (s3fs, boto3), never by patching a client.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need

START_TIMEOUT_S = 30.0
REGION = "us-east-1"
# moto serves the first N calls unauthenticated: exactly the three that mint the test's key.
_SETUP_CALLS = 3
_buckets = itertools.count(1)


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    key: str
    secret: str

    def client(self, *, secret: str | None = None) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.key,
            aws_secret_access_key=secret or self.secret,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        name = f"results-{os.getpid()}-{next(_buckets)}"
        self.client().create_bucket(Bucket=name)
        return name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited early with status {process.returncode}")
        try:
            # moto's own API: answers without counting against the unauthenticated calls.
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _mint_key(url: str) -> tuple[str, str]:
    """An IAM user allowed everything, and its access key (moto checks S3 calls against it)."""
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=url,
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
        region_name=REGION,
    )
    iam.create_user(UserName="modelport-tests")
    allow_all = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_user_policy(
        UserName="modelport-tests", PolicyName="all", PolicyDocument=json.dumps(allow_all)
    )
    key = iam.create_access_key(UserName="modelport-tests")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    need(find_spec("moto") is not None, "moto[server] is not installed (pip install -e .[dev])")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(_SETUP_CALLS))
    log: Path = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_until_up(url, process)
        key, secret = _mint_key(url)
        yield S3Server(endpoint_url=url, key=key, secret=secret)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
