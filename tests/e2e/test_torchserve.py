"""TorchServe for real: a real `modelport server` deploys `framework: torchserve` with a .mar of a
tiny TorchScript model (one linear layer), two replicas reach READY on their own Java frontends
and Python workers, and predictions come back through the authenticated gateway.

Needs Java 11+ and the venv of scripts/setup-torchserve.sh (CPU torch 2.13, torchserve 0.12;
~1 GB; `make test` runs it): it skips without them, and fails under CI=true, where they must be.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import need
from tests.e2e.test_autoscaling import _states
from tests.support.server import ServerProcess, serving, wait_until
from tests.support.torchserve import (
    TorchServeInstall,
    expected_outputs,
    find_install,
    linear_model_store,
)

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(300)]

NAME = "linear"
READY_TIMEOUT_S = 180.0  # two JVMs and two torch imports on a busy 2-core machine


@pytest.fixture(scope="module")
def install() -> TorchServeInstall:
    found, reason = find_install()
    need(found is not None, reason)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def archive(install: TorchServeInstall) -> Iterator[Path]:
    with linear_model_store(install) as path:
        yield path


@pytest.fixture(scope="module")
def server(
    install: TorchServeInstall, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("mp-ts"), extra_env={"PATH": install.path_env()})
    with serving(srv) as running:
        yield running


def _predict(srv: ServerProcess, inputs: list[list[float]]) -> httpx.Response:
    return httpx.post(
        f"{srv.base_url}/endpoints/{NAME}/predictions/{NAME}",
        headers={"Authorization": f"Bearer {srv.admin_token}"},
        json={"inputs": inputs},
        timeout=120,  # a request sent while a worker still loads waits in TorchServe's queue
    )


def _flat(rows: list[list[float]]) -> list[float]:
    return [value for row in rows for value in row]


def test_torchscript_model_serves_predictions_through_the_gateway(
    server: ServerProcess, archive: Path
) -> None:
    spec = {
        "framework": "torchserve",
        "model": {"path": str(archive)},
        "replicas": 2,
        "engine_args": {"default_workers_per_model": 1},
    }
    with server.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": NAME, "spec": spec})
    assert created.status_code == 201, created.text

    ready = wait_until(lambda: _states(server, NAME) == ["ready", "ready"], READY_TIMEOUT_S)
    assert ready, (_states(server, NAME), server.log_path.read_text()[-3000:])

    inputs = [[1.0, 1.0, 1.0], [0.0, 2.0, 0.0], [-1.5, 0.25, 4.0]]
    want = _flat(expected_outputs(inputs))
    answer = _predict(server, inputs)
    assert answer.status_code == 200, answer.text
    assert _flat(answer.json()["outputs"]) == pytest.approx(want), answer.text

    # Each replica loaded the model itself: TorchServe unpacks archives and puts its worker
    # sockets under its temporary directory, which in a shared /tmp another replica (another
    # uid) could not use. TorchServe has no key of its own, so its port answers directly.
    handles = server.replica_handles()
    assert len(handles) == 2
    for handle in handles:
        direct = httpx.post(
            f"http://{handle['host']}:{handle['port']}/predictions/{NAME}",
            json={"inputs": inputs},
            timeout=120,
        )
        assert direct.status_code == 200, (handle["port"], direct.text)
        assert _flat(direct.json()["outputs"]) == pytest.approx(want)

    refused = httpx.post(
        f"{server.base_url}/endpoints/{NAME}/predictions/{NAME}",
        json={"inputs": inputs},
        timeout=30,
    )
    assert refused.status_code == 401, "the gateway, not TorchServe, authenticates callers"

    with server.api() as api:
        assert api.delete(f"/api/v1/endpoints/{NAME}").status_code in (200, 202, 204)
    assert wait_until(lambda: not server.replica_handles(), timeout=60)
