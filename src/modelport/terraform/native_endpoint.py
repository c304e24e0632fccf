"""`modelport_endpoint`: an endpoint of the native API (/api/v1/endpoints), by name.

`spec` is the user's JSON (native EndpointSpec, any subset); `stopped` the desired state
(stop / start actions). Read keeps the user's JSON while the server agrees with every value in
it (native_spec.read_back), so defaults never diff and a changed value shows as itself.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from modelport.terraform.calls import ApiError, call, report
from modelport.terraform.native_spec import (
    SpecSyntaxError,
    canonical,
    field_path,
    parse,
    patch_body,
    read_back,
)
from modelport.terraform.tfcompat import (
    Attribute,
    Bool,
    CreateContext,
    DeleteContext,
    Diagnostics,
    ImportContext,
    Number,
    PlanningContext,
    ReadContext,
    Resource,
    Schema,
    String,
    Unknown,
    UpdateContext,
)

# A delete is accepted at once and the controller removes the endpoint once its replicas have
# stopped; destroy waits for that, so the name is free for the next apply.
GONE_DEADLINE_SECONDS = 120.0
POLL_SECONDS = 0.5
DELETED = "deleted"  # desired_state of an endpoint being torn down
STOPPED = "stopped"
# Computed attributes a change of spec or desired state moves: unknown until applied.
MOVED_BY_SPEC = ("generation", "spec_effective", "phase")
MOVED_BY_STOP = ("phase",)


class ModelportEndpoint(Resource):  # type: ignore[misc]
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "modelport_endpoint"

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(
            version=0,
            attributes=[
                Attribute(
                    "name",
                    String(),
                    required=True,
                    requires_replace=True,
                    description="the endpoint's name (a DNS label); changing it replaces it",
                ),
                Attribute(
                    "spec",
                    String(),
                    required=True,
                    description="the native EndpointSpec as JSON: "
                    'jsonencode({framework = "llamacpp", model = { path = "..." }})',
                ),
                Attribute(
                    "stopped",
                    Bool(),
                    optional=True,
                    computed=True,
                    default=False,
                    description="true: replicas stopped, spec and URL kept (default false)",
                ),
                Attribute("id", String(), computed=True, description="the endpoint's id"),
                Attribute("url", String(), computed=True, description="OpenAI base URL"),
                Attribute("phase", String(), computed=True, description="phase when read"),
                Attribute("generation", Number(), computed=True, description="spec version"),
                Attribute("created_at", String(), computed=True),
                Attribute(
                    "spec_effective",
                    String(),
                    computed=True,
                    description="the server's whole spec as JSON, defaults included, "
                    "secret values masked",
                ),
            ],
        )

    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        super().validate(diags, type_name, config)
        text = config.get("spec")
        if isinstance(text, str):
            try:
                parse(text)
            except SpecSyntaxError as exc:
                diags.add_error("invalid spec", str(exc), path=["spec"])

    def plan(
        self, ctx: PlanningContext, prior: dict[str, Any] | None, planned: dict[str, Any]
    ) -> dict[str, Any]:
        if ctx.config.get("stopped") is None:
            planned["stopped"] = False  # unset means running, whatever the prior state said
        if prior is None:
            return planned
        moved: tuple[str, ...] = ()
        if prior.get("spec") != planned.get("spec"):
            moved = MOVED_BY_SPEC
        elif prior.get("stopped") != planned.get("stopped"):
            moved = MOVED_BY_STOP
        for name in moved:
            planned[name] = Unknown
        return planned

    def create(self, ctx: CreateContext, planned: dict[str, Any]) -> dict[str, Any] | None:
        name, text = planned["name"], planned["spec"]
        try:
            with self._http() as client:
                body = {"name": name, "spec": parse(text)}
                view = self._post(client, body)
                if planned.get("stopped"):
                    view = self._act(client, name, "stop")
        except ApiError as exc:
            report(ctx.diagnostics, _named(exc), field_path)
            return None
        return _state(view, text)

    def read(self, ctx: ReadContext, current: dict[str, Any]) -> dict[str, Any] | None:
        try:
            with self._http() as client:
                view = self._get(client, current["name"])
        except ApiError as exc:
            report(ctx.diagnostics, exc, field_path)
            return current
        if view is None or view["desired_state"] == DELETED:
            return None  # deleted outside Terraform: the next plan creates it again
        return _state(view, read_back(current["spec"], view["spec"]))

    def update(
        self, ctx: UpdateContext, current: dict[str, Any], planned: dict[str, Any]
    ) -> dict[str, Any]:
        name, text = planned["name"], planned["spec"]
        try:
            with self._http() as client:
                view = self._get_or_raise(client, name)
                if current["spec"] != text:
                    url = f"{self._base()}/{name}"
                    answer = call(
                        client, "PATCH", url, f"update endpoint '{name}'",
                        json={"spec": patch_body(text)},
                    )  # fmt: skip
                    view = answer.json()
                if bool(planned.get("stopped")) != (view["desired_state"] == STOPPED):
                    view = self._act(client, name, "stop" if planned.get("stopped") else "start")
        except ApiError as exc:
            report(ctx.diagnostics, _named(exc), field_path)
            return current
        return _state(view, text)

    def delete(self, ctx: DeleteContext, current: dict[str, Any]) -> None:
        name = current["name"]
        try:
            with self._http() as client:
                try:
                    call(client, "DELETE", f"{self._base()}/{name}", f"delete endpoint '{name}'")
                except ApiError as exc:
                    if exc.status != 404:
                        raise
                self._wait_gone(client, name)
        except ApiError as exc:
            report(ctx.diagnostics, exc, field_path)

    def import_(self, ctx: ImportContext, id: str) -> dict[str, Any] | None:
        """By name. The state's spec is the server's whole spec: the first plan shows it
        becoming the configuration's (an apply of that changes nothing on the server)."""
        try:
            with self._http() as client:
                view = self._get(client, id)
        except ApiError as exc:
            report(ctx.diagnostics, exc, field_path)
            return None
        if view is None or view["desired_state"] == DELETED:
            ctx.diagnostics.add_error(
                f"no endpoint named '{id}'",
                "import modelport_endpoint takes the endpoint's name (modelport ls lists them)",
            )
            return None
        return _state(view, canonical(view["spec"]))

    # --- calls --------------------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        client: httpx.Client = self.provider.connection.http()
        return client

    def _base(self) -> str:
        return f"{self.provider.connection.native_url}/api/v1/endpoints"

    def _get(self, client: httpx.Client, name: str) -> dict[str, Any] | None:
        try:
            resp = call(client, "GET", f"{self._base()}/{name}", f"read endpoint '{name}'")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return dict(resp.json())

    def _get_or_raise(self, client: httpx.Client, name: str) -> dict[str, Any]:
        view = self._get(client, name)
        if view is None:
            raise ApiError(f"endpoint '{name}' is gone", "it was deleted outside Terraform", 404)
        return view

    def _post(self, client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
        """Create; an endpoint of that name still being deleted is waited for first."""
        name = body["name"]
        what = f"create endpoint '{name}'"
        try:
            return dict(call(client, "POST", self._base(), what, json=body).json())
        except ApiError as exc:
            existing = self._get(client, name) if exc.status == 409 else None
            if existing is None or existing["desired_state"] != DELETED:
                raise
        self._wait_gone(client, name)
        return dict(call(client, "POST", self._base(), what, json=body).json())

    def _act(self, client: httpx.Client, name: str, action: str) -> dict[str, Any]:
        url = f"{self._base()}/{name}/{action}"
        answer = call(client, "POST", url, f"{action} endpoint '{name}'")
        return dict(answer.json()["endpoint"])

    def _wait_gone(self, client: httpx.Client, name: str) -> None:
        deadline = time.monotonic() + GONE_DEADLINE_SECONDS
        while self._get(client, name) is not None:
            if time.monotonic() > deadline:
                raise ApiError(
                    f"endpoint '{name}' is still being deleted",
                    f"not gone after {GONE_DEADLINE_SECONDS:.0f} s; see modelport events {name}",
                )
            time.sleep(POLL_SECONDS)


def _state(view: dict[str, Any], spec_text: str) -> dict[str, Any]:
    return {
        "name": view["name"],
        "spec": spec_text,
        "stopped": view["desired_state"] == STOPPED,
        "id": str(view["id"]),
        "url": view["url"],
        "phase": view["phase"],
        "generation": view["generation"],
        "created_at": view["created_at"],
        "spec_effective": canonical(view["spec"]),
    }


def _named(exc: ApiError) -> ApiError:
    """The refusal with its field named in the detail (the diagnostic sits on `spec`, whose
    JSON holds many fields)."""
    if exc.field and exc.field not in exc.detail:
        return ApiError(exc.summary, f"{exc.field}: {exc.detail}", exc.status, exc.field)
    return exc
