"""DeepInfra deployments as calls on the endpoint service: no storage or lifecycle of their own.

A deployment is an endpoint whose spec carries `extensions["deepinfra"]` with its `model_name`
and `deploy_id`; it is looked up by those within the caller's project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from modelport.api.container import ApiServices
from modelport.dialects.deepinfra.errors import BadField
from modelport.dialects.deepinfra.schemas import (
    DeployLLMIn,
    DeployOut,
    DeployStatus,
    DeployUpdateIn,
    check_bounds,
)
from modelport.dialects.deepinfra.statuses import deploy_status
from modelport.dialects.deepinfra.translate import (
    CONFIG_FIELDS,
    EXTENSION,
    endpoint_name,
    ext_of,
    new_deploy_id,
    requested_config,
    scale_changes,
    settings_of,
    stored_config,
    to_out,
    to_spec,
)
from modelport.dialects.listing import Window, page_of
from modelport.domain.errors import Conflict, NotFound
from modelport.domain.phases import derive_phase
from modelport.domain.records import Endpoint
from modelport.domain.states import DesiredState
from modelport.services.auth import Principal
from modelport.services.endpoint_pages import ListedEndpoint
from modelport.store.paging import EndpointFilter

DEEPINFRA_MADE = EndpointFilter(origin=EXTENSION)
_CREATE_ATTEMPTS = 3  # a concurrent deploy of the same model_name: look again, then compare


class Deployments:
    def __init__(self, services: ApiServices) -> None:
        self._endpoints = services.endpoints

    # --- reads ------------------------------------------------------------------------------
    def listing(
        self, principal: Principal, statuses: Sequence[DeployStatus], window: Window
    ) -> tuple[list[DeployOut], bool]:
        """A page of the caller's deployments, oldest first, and whether more follow. A status
        filter is judged here on indexed batches (a status is derived from the replicas)."""
        wanted = frozenset(statuses)

        def has_status(listed: ListedEndpoint) -> bool:
            return deploy_status(listed.phase, listed.replicas) in wanted

        match = has_status if wanted else None
        found = page_of(self._endpoints, principal, DEEPINFRA_MADE, window, match=match)
        shown = [
            to_out(i.endpoint, i.phase, list(i.replicas))
            for i in found.items
            if ext_of(i.endpoint.spec) is not None  # else a native patch replaced it
        ]
        return shown, found.more

    def get(self, principal: Principal, deploy_id: str) -> DeployOut:
        return self.out(principal, self._find(principal, deploy_id))

    def out(self, principal: Principal, endpoint: Endpoint) -> DeployOut:
        replicas = self._endpoints.replicas(principal, endpoint.name)
        return to_out(endpoint, derive_phase(endpoint, replicas), replicas)

    # --- create -----------------------------------------------------------------------------
    def create(self, principal: Principal, request: DeployLLMIn) -> DeployOut:
        """A new deployment; the existing one when this model_name is deployed the same way."""
        principal.require_mutate()
        for attempt in range(_CREATE_ATTEMPTS):
            existing = self._by_model_name(principal, request.model_name)
            if existing is not None:
                return self.out(principal, self._same_or_conflict(principal, existing, request))
            name = endpoint_name(request.model_name)
            self._check_name_free(principal, name, request.model_name)
            # A fresh deploy_id is not checked against the project's others: 36^10 values
            # make a clash negligible, and the check would read every deployment.
            spec = to_spec(request, new_deploy_id())
            try:
                endpoint, _key = self._endpoints.create(principal, name, spec)
            except Conflict:
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                continue  # created meanwhile by a concurrent request: compare with it
            return self.out(principal, endpoint)
        raise AssertionError("unreachable: the loop returns or raises")

    def _same_or_conflict(
        self, principal: Principal, existing: Endpoint, request: DeployLLMIn
    ) -> Endpoint:
        ext = ext_of(existing.spec)
        assert ext is not None
        deploy_id = ext["deploy_id"]
        said = f"model_name '{request.model_name}' is already deployed (deploy_id {deploy_id})"
        if existing.desired_state is DesiredState.DELETED:
            raise Conflict(
                f"model_name: {said} and being deleted; deploy it again once it is gone",
                field="model_name",
            )
        stored, wanted = stored_config(ext), requested_config(request)
        for field in (*CONFIG_FIELDS, "extra_args"):
            if stored[field] != wanted[field]:
                raise Conflict(
                    f"{field}: {said} with {field} {stored[field]!r}, not {wanted[field]!r}; "
                    "config is immutable: delete the deployment or use another model_name",
                    field=field,
                )
        # The service compares the whole spec but secret values (hf.token): the answer never
        # depends on a stored secret. Settings are not part of the config, so the current
        # ones are kept (change them with PUT).
        candidate = to_spec(request, deploy_id).model_copy(
            update={"replicas": existing.spec.replicas, "autoscale": existing.spec.autoscale}
        )
        try:
            same, _key = self._endpoints.create(principal, existing.name, candidate)
        except Conflict as exc:
            raise Conflict(
                f"model_name: {said}, and its endpoint was changed through the native API; "
                "delete it or use another model_name",
                field="model_name",
            ) from exc
        return same

    def _check_name_free(self, principal: Principal, name: str, model_name: str) -> None:
        try:
            taken = self._endpoints.get(principal, name)
        except NotFound:
            return
        if ext_of(taken.spec) is None:
            raise Conflict(
                f"model_name: '{model_name}' maps to the endpoint name '{name}', which another "
                "(non-DeepInfra) endpoint of this project already uses",
                field="model_name",
            )

    # --- changes ----------------------------------------------------------------------------
    def update(self, principal: Principal, deploy_id: str, body: DeployUpdateIn) -> DeployOut:
        """Settings change; config fields may be repeated unchanged, never changed."""
        principal.require_mutate()
        endpoint = self._find(principal, deploy_id)
        ext = ext_of(endpoint.spec)
        assert ext is not None
        _reject_config_changes(body, stored_config(ext))
        if body.settings is not None:
            current = settings_of(endpoint.spec)
            sent = body.settings.model_fields_set
            low = body.settings.min_instances if "min_instances" in sent else None
            high = body.settings.max_instances if "max_instances" in sent else None
            low = current.min_instances if low is None else low
            high = current.max_instances if high is None else high
            try:
                check_bounds(low, high)
            except ValueError as exc:
                raise BadField("settings.max_instances", str(exc)) from exc
            changes: dict[str, Any] = scale_changes(low, high)
            endpoint = self._endpoints.patch(principal, endpoint.name, changes)
        return self.out(principal, endpoint)

    def stop(self, principal: Principal, deploy_id: str) -> DeployOut:
        name = self._find(principal, deploy_id).name
        return self.out(principal, self._endpoints.stop(principal, name))

    def start(self, principal: Principal, deploy_id: str) -> DeployOut:
        name = self._find(principal, deploy_id).name
        return self.out(principal, self._endpoints.start(principal, name))

    def delete(self, principal: Principal, deploy_id: str) -> DeployOut:
        name = self._find(principal, deploy_id).name
        return self.out(principal, self._endpoints.delete(principal, name))

    # --- lookups ----------------------------------------------------------------------------
    def _find(self, principal: Principal, deploy_id: str) -> Endpoint:
        # One index entry: the store keeps each spec's deploy_id as a column (store/derived.py).
        where = replace(DEEPINFRA_MADE, vendor_id=deploy_id)
        for endpoint in self._endpoints.scan(principal, where):
            ext = ext_of(endpoint.spec)
            if ext is not None and ext["deploy_id"] == deploy_id:
                return endpoint
        raise NotFound(f"deployment '{deploy_id}' not found")

    def _by_model_name(self, principal: Principal, model_name: str) -> Endpoint | None:
        """One read by name: a model_name's endpoint is always named endpoint_name(model_name)."""
        try:
            endpoint = self._endpoints.get(principal, endpoint_name(model_name))
        except NotFound:
            return None
        ext = ext_of(endpoint.spec)
        return endpoint if ext is not None and ext["model_name"] == model_name else None


def _reject_config_changes(body: DeployUpdateIn, stored: dict[str, Any]) -> None:
    sent = body.model_fields_set
    given: dict[str, Any] = {}
    if "model_name" in sent:
        given["model_name"] = body.model_name
    if "gpu" in sent:
        given["gpu"] = body.gpu.value if body.gpu is not None else None
    for field in ("num_gpus", "max_batch_size", "base_model", "extra_args"):
        if field in sent:
            given[field] = getattr(body, field)
    if "hf" in sent:
        if body.hf is not None and body.hf.token is not None:
            raise BadField(
                "hf.token",
                "is immutable and write-once: it was set (or not) at deploy time and is never "
                "shown, so it cannot be sent again; leave it out",
                "immutable",
            )
        given["hf.repo"] = body.hf.repo if body.hf else None
        given["hf.revision"] = body.hf.revision if body.hf else None
    for field, value in given.items():
        if value != stored[field]:
            raise BadField(
                field,
                f"is immutable: this deployment has {stored[field]!r}, not {value!r}; only "
                "settings can change (deploy under a new model_name for another config)",
                "immutable",
            )
