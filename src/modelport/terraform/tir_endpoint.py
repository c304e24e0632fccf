"""`tir_model_endpoint` (seed 001) over the TIR dialect's routes under `api_endpoint`:
`{api_endpoint}/teams/{team_id}/projects/{project_id}/serving/inference/`, as TIR's Go provider
calls them. The schema is tir_schema.py, the request body tir_payload.py, the read-back
tir_state.py; this module is the lifecycle. docs/terraform.md."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from modelport.terraform import tir_frameworks
from modelport.terraform.calls import ApiError, call, report
from modelport.terraform.provider import Connection
from modelport.terraform.tfcompat import (
    CreateContext,
    DeleteContext,
    Diagnostics,
    ImportContext,
    PlanningContext,
    ReadContext,
    Resource,
    Schema,
    Unknown,
    UpdateContext,
)
from modelport.terraform.tir_fields import attribute_path
from modelport.terraform.tir_payload import async_body, payload
from modelport.terraform.tir_schema import PULL_POLICIES, START, STOP, schema, with_defaults
from modelport.terraform.tir_state import read_state

log = logging.getLogger(__name__)
GONE_TIMEOUT_SECONDS = 300.0  # a delete returns once GET answers 404
POLL_SECONDS = 0.5
# Computed attributes the server may change on any update: unknown in an update's plan.
SERVER_SET = ("status", "container_name")
IMPORT_TEAM = "1"  # an import by id alone cannot know team_id; Modelport ignores it


class TirModelEndpoint(Resource):  # type: ignore[misc]
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "tir_model_endpoint"

    @classmethod
    def get_schema(cls) -> Schema:
        return schema()

    # ----- plan -----
    def plan(
        self, ctx: PlanningContext, current: dict[str, Any] | None, planned: dict[str, Any]
    ) -> dict[str, Any]:
        planned = with_defaults(planned, ctx.config)
        policy = planned.get("image_pull_policy")
        if policy is not Unknown and policy not in PULL_POLICIES:
            ctx.diagnostics.add_error(
                "image_pull_policy must be Always or IfNotPresent",
                f"got {policy!r}",
                path=["image_pull_policy"],
            )
        if planned.get("stop_inference") not in (START, STOP, Unknown):
            ctx.diagnostics.add_error(
                "stop_inference must be start or stop",
                f"got {planned.get('stop_inference')!r}",
                path=["stop_inference"],
            )
        if current is None:
            return planned
        if not tir_frameworks.same_framework(current.get("framework"), planned.get("framework")):
            ctx.diagnostics.add_error(
                "framework cannot change once the endpoint is created",
                f"it is {current.get('framework')!r}; to serve with "
                f"{planned.get('framework')!r}, create a new tir_model_endpoint "
                "(or `terraform apply -replace`)",
                path=["framework"],
            )
        if api_change(current, planned):
            planned.update(dict.fromkeys(SERVER_SET, Unknown))
        return planned

    # ----- create -----
    def create(self, ctx: CreateContext, planned: dict[str, Any]) -> dict[str, Any] | None:
        conn = self._connection()
        try:
            with conn.http() as client:
                resp = call(
                    client,
                    "POST",
                    collection_url(conn, planned),
                    f"creating endpoint {planned.get('name')!r}",
                    params={**_iam(planned), "prefix": "models/"},
                    json=payload(planned),
                )
                state = {**planned, **_computed(planned, _data(resp))}
                if planned.get("async_configuration"):
                    _put(client, conn, state, async_body(state), "async configuration")
                if planned.get("stop_inference") == STOP:
                    _put(client, conn, state, {"action": STOP}, "stopping")
                    state.update(_computed(state, _get(client, conn, state)))
                return state
        except ApiError as err:
            _report(ctx.diagnostics, err)
            return None

    # ----- read -----
    def read(self, ctx: ReadContext, current: dict[str, Any]) -> dict[str, Any] | None:
        conn = self._connection()
        try:
            with conn.http() as client:
                data = _get(client, conn, current)
        except ApiError as err:
            if err.status == 404:
                log.info("tir_model_endpoint %s is gone: the next plan creates it", current["id"])
                return None
            _report(ctx.diagnostics, err)
            return current
        return read_state(current, data)

    # ----- update -----
    def update(
        self, ctx: UpdateContext, current: dict[str, Any], planned: dict[str, Any]
    ) -> dict[str, Any]:
        if not api_change(current, planned):
            return planned  # team_id / active_iam / server_options: used by the provider only
        conn = self._connection()
        state = {**planned, **{k: current.get(k) for k in SERVER_SET}}
        toggled = current.get("stop_inference") != planned.get("stop_inference")
        stopping = toggled and planned.get("stop_inference") == STOP
        try:
            with conn.http() as client:
                # Stop first and start last: the new spec is applied while the endpoint is
                # stopped, so its replicas never roll onto it only to be stopped, and a start
                # brings up the new spec directly.
                if stopping:
                    _put(client, conn, state, {"action": STOP}, "stopping")
                if payload(current) != payload(planned):
                    stopped = STOP in (current.get("stop_inference"), planned.get("stop_inference"))
                    body = {**payload(planned), "action": "update" if stopped else "patch"}
                    _put(client, conn, state, body, "updating")
                if toggled and not stopping:
                    _put(client, conn, state, {"action": START}, "starting")
                if async_body(current) != async_body(planned):
                    _put(client, conn, state, async_body(planned), "async configuration")
                state.update(_computed(state, _get(client, conn, state)))
        except ApiError as err:
            _report(ctx.diagnostics, err)
            return current
        return state

    # ----- delete -----
    def delete(self, ctx: DeleteContext, current: dict[str, Any]) -> None:
        conn = self._connection()
        try:
            with conn.http() as client:
                try:
                    call(
                        client, "DELETE", item_url(conn, current), "deleting", params=_iam(current)
                    )
                except ApiError as err:
                    if err.status != 404:
                        raise
                _wait_gone(client, conn, current)
        except ApiError as err:
            _report(ctx.diagnostics, err)

    # ----- import -----
    def import_(self, ctx: ImportContext, id: str) -> dict[str, Any] | None:
        conn = self._connection()
        parts = id.split(":")
        if len(parts) not in (1, 3) or not all(p.strip() for p in parts):
            ctx.diagnostics.add_error(
                "import id must be ID or TEAM_ID:PROJECT_ID:ID",
                f"got {id!r}; e.g. terraform import tir_model_endpoint.x 12",
            )
            return None
        try:
            with conn.http() as client:
                if len(parts) == 3:
                    team, project, endpoint = parts
                else:
                    team, project, endpoint = IMPORT_TEAM, _whoami_project(client, conn), id
                ids = {"id": endpoint, "team_id": team, "project_id": project}
                return read_state(ids, _get(client, conn, ids))
        except ApiError as err:
            _report(ctx.diagnostics, err)
            return None

    def _connection(self) -> Connection:
        connection: Connection = self.provider.connection
        return connection


def api_change(current: dict[str, Any], planned: dict[str, Any]) -> bool:
    """Whether going from `current` to `planned` needs the API (a change of what the provider
    sends, of stop_inference or of the async configuration)."""
    return (
        payload(current) != payload(planned)
        or current.get("stop_inference") != planned.get("stop_inference")
        or async_body(current) != async_body(planned)
    )


def collection_url(conn: Connection, state: dict[str, Any]) -> str:
    team = state.get("team_id") or IMPORT_TEAM
    return f"{conn.api_endpoint}/teams/{team}/projects/{state.get('project_id')}/serving/inference/"


def item_url(conn: Connection, state: dict[str, Any]) -> str:
    return f"{collection_url(conn, state)}{state['id']}/"


def _iam(state: dict[str, Any]) -> dict[str, str]:
    """The query TIR's provider sends (`active_iam`); never `apikey`: Modelport ignores it and
    a key in a URL ends up in access logs."""
    iam = state.get("active_iam")
    return {"active_iam": str(iam)} if iam else {}


def _data(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ApiError("unexpected answer", f"no endpoint object in {resp.text[:300]}")
    return data


def _get(client: httpx.Client, conn: Connection, state: dict[str, Any]) -> dict[str, Any]:
    what = f"reading endpoint {state['id']}"
    return _data(call(client, "GET", item_url(conn, state), what, params=_iam(state)))


def _put(
    client: httpx.Client,
    conn: Connection,
    state: dict[str, Any],
    body: dict[str, Any],
    what: str,
) -> None:
    call(
        client,
        "PUT",
        item_url(conn, state),
        f"{what} endpoint {state['id']}",
        params=_iam(state),
        json=body,
    )


def _computed(state: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The read-only attributes from an endpoint object."""
    read = read_state(state, data)
    return {k: read[k] for k in ("id", "created_at", *SERVER_SET)}


def _wait_gone(client: httpx.Client, conn: Connection, state: dict[str, Any]) -> None:
    deadline = time.monotonic() + GONE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            _get(client, conn, state)
        except ApiError as err:
            if err.status == 404:
                return
            raise
        time.sleep(POLL_SECONDS)
    raise ApiError(
        f"deleting endpoint {state['id']}: still there",
        f"GET {item_url(conn, state)} answered for {GONE_TIMEOUT_SECONDS:.0f} s after DELETE; "
        "see `modelport get` / `modelport events` for why it does not go",
    )


def _whoami_project(client: httpx.Client, conn: Connection) -> str:
    resp = call(client, "GET", f"{conn.native_url}/api/v1/whoami", "finding the token's project")
    return str(resp.json()["project_id"])


def _report(diags: Diagnostics, err: ApiError) -> None:
    if err.status is None:  # not answered: say what to check
        err.detail += (
            "; check api_endpoint in the provider block (e.g. http://HOST:8080/tir/terraform) "
            "and that the Modelport server is running"
        )
    report(diags, err, attribute_path)
