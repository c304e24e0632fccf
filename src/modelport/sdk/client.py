"""The synchronous Python client of the native API (/api/v1)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from modelport.domain.records import Role
from modelport.domain.specs import EndpointSpec
from modelport.schemas.autoscale import AutoscaleStatus
from modelport.schemas.datasets import DatasetCreate, DatasetList, DatasetPublic, ObjectList
from modelport.schemas.integrations import IntegrationCreate, IntegrationList, IntegrationPublic
from modelport.schemas.invocations import InvocationList, InvocationPublic
from modelport.schemas.models import ModelList, ModelPublic, UploadStatus
from modelport.schemas.native import (
    ActionResult,
    EndpointCreated,
    EndpointList,
    EndpointPublic,
    EventList,
    EventPublic,
    LogsList,
    ProjectPublic,
    ReplicaList,
    ReplicaPublic,
    TokenCreated,
    TokenList,
)
from modelport.schemas.usage import GroupBy, Series, UsageReport
from modelport.sdk import calls, integrations, invocations, model_repo
from modelport.sdk.base import ClientBase
from modelport.sdk.models import Health, ProjectCreated, ProjectList, WhoAmI
from modelport.sdk.waiting import EVENTS_SHOWN, EventTail, ReadyWatch, Verdict

T = TypeVar("T")

ProgressCallback = Callable[[EndpointPublic], None]


class Client(ClientBase):
    """Sync client. Arguments left None come from MODELPORT_* env (see modelport.sdk.config)."""

    def __init__(
        self, base_url: str | None = None, token: str | None = None, timeout: float = 30
    ) -> None:
        super().__init__(base_url, token)
        self._http = httpx.Client(base_url=self.base_url, headers=self._headers(), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, call: calls.ApiCall[T]) -> T:
        with self._transport_errors():
            response = self._http.request(
                call.method, call.path, params=dict(call.params), json=call.body
            )
        return calls.decode(call, response)

    def health(self) -> Health:
        return self.send(calls.health())

    def whoami(self) -> WhoAmI:
        return self.send(calls.whoami())

    def create_endpoint(self, name: str, spec: EndpointSpec | Mapping[str, Any]) -> EndpointCreated:
        return self.send(calls.create_endpoint(name, spec))

    def list_endpoints(
        self,
        limit: int | None = None,
        cursor: str | None = None,
        filters: calls.EndpointFilters | None = None,
    ) -> EndpointList:
        """One page of endpoints, oldest first; pass its `next_cursor` for the next."""
        return self.send(calls.list_endpoints(limit, cursor, filters))

    def all_endpoints(
        self, filters: calls.EndpointFilters | None = None, page_size: int = 1000
    ) -> list[EndpointPublic]:
        """Every endpoint (matching `filters`), following the cursor page by page."""
        found: list[EndpointPublic] = []
        cursor: str | None = None
        while True:
            page = self.list_endpoints(page_size, cursor, filters)
            found += page.items
            cursor = page.next_cursor
            if cursor is None:
                return found

    def get_endpoint(self, name: str) -> EndpointPublic:
        return self.send(calls.get_endpoint(name))

    def patch_endpoint(
        self, name: str, changes: Mapping[str, Any], generation: int | None = None
    ) -> EndpointPublic:
        return self.send(calls.patch_endpoint(name, changes, generation))

    def delete_endpoint(self, name: str) -> ActionResult:
        return self.send(calls.delete_endpoint(name))

    def stop_endpoint(self, name: str) -> ActionResult:
        return self.send(calls.endpoint_action(name, "stop"))

    def start_endpoint(self, name: str) -> ActionResult:
        return self.send(calls.endpoint_action(name, "start"))

    def restart_endpoint(self, name: str) -> ActionResult:
        return self.send(calls.endpoint_action(name, "restart"))

    def replicas(self, name: str) -> ReplicaList:
        return self.send(calls.replicas(name))

    def restart_replica(self, name: str, replica_id: int) -> ReplicaPublic:
        """Replace one replica by a fresh one (the others keep serving); the replica answered
        has `restart_requested_at` set and serves until its replacement is READY."""
        return self.send(calls.restart_replica(name, replica_id))

    def events(self, name: str, after_id: int = 0, limit: int = 200) -> EventList:
        return self.send(calls.events(name, after_id, limit))

    def logs(self, name: str, tail_bytes: int = calls.DEFAULT_TAIL_BYTES) -> LogsList:
        return self.send(calls.logs(name, tail_bytes))

    def latest_events(self, name: str, count: int = EVENTS_SHOWN) -> list[EventPublic]:
        """The endpoint's most recent `count` events, oldest first."""
        tail = EventTail(name, keep=count)
        while (call := tail.next_call()) is not None and tail.add(self.send(call)):
            pass
        return list(tail.latest)

    def wait_ready(
        self,
        name: str,
        timeout: float = 600,
        poll: float = 0.5,
        on_progress: ProgressCallback | None = None,
    ) -> EndpointPublic:
        """Poll until the endpoint is READY; EndpointNotReadyError (with events) otherwise."""
        watch = ReadyWatch(timeout)
        while True:
            endpoint = self.get_endpoint(name)
            if on_progress is not None:
                on_progress(endpoint)
            verdict = watch.verdict(endpoint)
            if verdict is Verdict.READY:
                return endpoint
            if verdict is not Verdict.WAITING:
                raise watch.error(verdict, endpoint, self.latest_events(name))
            time.sleep(watch.sleep_for(poll))

    def create_token(
        self, name: str, role: Role | str = Role.MEMBER, endpoint: str | None = None
    ) -> TokenCreated:
        return self.send(calls.create_token(name, role, endpoint))

    def list_tokens(self) -> TokenList:
        return self.send(calls.list_tokens())

    def revoke_token(self, token_id: int) -> None:
        self.send(calls.revoke_token(token_id))

    def projects(self) -> ProjectList:
        return self.send(calls.projects())

    def create_project(self, name: str) -> ProjectCreated:
        return self.send(calls.create_project(name))

    def get_project(self, name: str) -> ProjectPublic:
        return self.send(calls.get_project(name))

    def update_project(
        self,
        name: str,
        limits: Mapping[str, int | None] | None = None,
        host_access: bool | None = None,
    ) -> ProjectPublic:
        """Server admin only: change some limits (None: unlimited) and/or the host grant."""
        return self.send(calls.update_project(name, limits, host_access))

    def create_project_token(
        self, project: str, name: str, role: Role | str = Role.ADMIN
    ) -> TokenCreated:
        """Server admin only: a token of `project`, shown once."""
        return self.send(calls.create_project_token(project, name, role))

    # --- usage ----------------------------------------------------------------------------
    def usage(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        group_by: GroupBy | str = GroupBy.ENDPOINT,
        endpoint: str | None = None,
        project: str | None = None,
    ) -> UsageReport:
        """Requests, tokens, replica-seconds by plan and cost in [start, end) (default: the
        last 24 h), by endpoint or UTC day; `project`: the server admin's view of another."""
        return self.send(calls.usage(start, end, group_by, endpoint, project))

    def series(self, name: str, window: int = 900, step: int = 10) -> Series:
        """The endpoint's graphs over the last `window` seconds, one point per `step`."""
        return self.send(calls.series(name, window, step))

    # --- autoscale ------------------------------------------------------------------------
    def autoscale_status(self, name: str, decisions: int = 10) -> AutoscaleStatus:
        """Policy, the autoscaler's target, the wanted count, replicas and recent decisions."""
        return self.send(calls.autoscale_status(name, decisions))

    def set_autoscale(
        self, name: str, changes: Mapping[str, Any], generation: int | None = None
    ) -> EndpointPublic:
        """Change spec.autoscale (e.g. {"enabled": True, "min_replicas": 0}); replicas keep
        running. `rules` is replaced whole when given."""
        return self.send(calls.set_autoscale(name, changes, generation))

    # --- datasets -------------------------------------------------------------------------
    def create_dataset(self, body: DatasetCreate | Mapping[str, Any]) -> DatasetPublic:
        """Credentials (if any) are sealed by the server and never shown again."""
        return self.send(calls.create_dataset(body))

    def list_datasets(self) -> DatasetList:
        return self.send(calls.list_datasets())

    def get_dataset(self, name: str) -> DatasetPublic:
        return self.send(calls.get_dataset(name))

    def delete_dataset(self, name: str) -> None:
        """Refused (409) while an endpoint's async_config uses it; objects are kept."""
        self.send(calls.delete_dataset(name))

    def dataset_objects(self, name: str, prefix: str = "", limit: int = 1000) -> ObjectList:
        """Keys starting with `prefix`, sorted."""
        return self.send(calls.dataset_objects(name, prefix, limit))

    def read_dataset_object(self, name: str, key: str) -> bytes:
        """One object's bytes, e.g. `api/is-{endpoint_id}/response/{id}.json`."""
        return self.send(calls.read_dataset_object(name, key))

    # --- integrations (named credentials; secrets go in, never come back) ---------------------
    def create_integration(self, body: IntegrationCreate | Mapping[str, Any]) -> IntegrationPublic:
        """E.g. {"name": "hub", "kind": "hugging_face", "token": ...}; sealed by the server."""
        return self.send(integrations.create(body))

    def list_integrations(self) -> IntegrationList:
        return self.send(integrations.list_all())

    def get_integration(self, ref: str | int) -> IntegrationPublic:
        return self.send(integrations.get(ref))

    def patch_integration(self, ref: str | int, changes: Mapping[str, Any]) -> IntegrationPublic:
        """Non-secret fields (server, username, endpoint_url, region); null unsets one."""
        return self.send(integrations.patch(ref, changes))

    def rotate_integration(self, ref: str | int, secret: Mapping[str, str]) -> IntegrationPublic:
        """A new secret (every secret field of its kind); new replicas get it."""
        return self.send(integrations.rotate(ref, secret))

    def delete_integration(self, ref: str | int) -> None:
        """Refused (ConflictError) while an endpoint's spec names it."""
        self.send(integrations.delete(ref))

    # --- model repository (docs/models.md) --------------------------------------------------
    def create_model(self, name: str, description: str = "") -> ModelPublic:
        return self.send(model_repo.create_model(name, description))

    def list_models(self) -> ModelList:
        return self.send(model_repo.list_models())

    def get_model(self, name: str) -> ModelPublic:
        return self.send(model_repo.get_model(name))

    def mark_model_ready(self, name: str) -> ModelPublic:
        """Finalize: the content key is computed and the files are fixed."""
        return self.send(model_repo.mark_model_ready(name))

    def delete_model(self, name: str) -> None:
        """Refused (409) while an endpoint's spec.model.model_id names it."""
        self.send(model_repo.delete_model(name))

    def upload_file(
        self,
        name: str,
        file: Path,
        path: str | None = None,
        *,
        chunk_bytes: int = model_repo.CHUNK_BYTES,
        progress: model_repo.Progress | None = None,
    ) -> UploadStatus:
        """Upload `file` as `path` (default: its name) of model `name`, in chunks; an upload
        interrupted earlier resumes where the server's copy ends. sha256-checked."""
        with self._transport_errors():
            return model_repo.upload_file(
                self._http,
                name,
                file,
                path or file.name,
                chunk_bytes=chunk_bytes,
                progress=progress,
            )

    # --- async invocations ------------------------------------------------------------------
    def submit_invocation(
        self, name: str, path: str, body: Any, idempotency_key: str | None = None
    ) -> invocations.InvocationAccepted:
        """Queue `body` (JSON, or bytes as-is) for `path` of the endpoint, e.g.
        "v1/chat/completions"; answered at once (202). The same idempotency key on the same
        endpoint returns the same invocation. Needs spec.async_config.enabled."""
        sent = invocations.submission(name, path, body, idempotency_key)
        with self._transport_errors():
            response = self._http.post(sent.path, content=sent.content, headers=sent.headers)
        return invocations.accepted(response)

    def list_invocations(
        self,
        name: str,
        statuses: Sequence[str] = (),
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> InvocationList:
        """Newest first; `total` counts every match over all pages."""
        return self.send(calls.list_invocations(name, statuses, since, limit, offset))

    def get_invocation(self, name: str, invocation_id: str) -> InvocationPublic:
        """Status, timings and, once written, the replica's answer (`result`)."""
        return self.send(calls.get_invocation(name, invocation_id))

    def cancel_invocation(self, name: str, invocation_id: str) -> InvocationPublic:
        """Only a queued invocation can be canceled (ConflictError naming `status` otherwise)."""
        return self.send(calls.cancel_invocation(name, invocation_id))

    def wait_invocation(
        self, name: str, invocation_id: str, timeout: float = 600, poll: float = 0.5
    ) -> InvocationPublic:
        """Poll until a final status (completed, failed, canceled, expired) and return it;
        InvocationWaitTimeoutError (with the last state) after `timeout` seconds."""
        watch = invocations.InvocationWatch(timeout)
        while not watch.done(invocation := self.get_invocation(name, invocation_id)):
            time.sleep(watch.sleep_for(poll))
        return invocation
