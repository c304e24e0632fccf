"""Deploy, list, get and delete Tensormesh models: calls into the services, nothing stored here.

A model is an endpoint whose spec has `extensions["tensormesh"]`. Who may see or change it is
the services' rule: an apiKey (an endpoint-scoped key) sees only its own model and changes
nothing; another project's models do not exist for the caller.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import replace

from modelport.api.container import ApiServices
from modelport.dialects.listing import Window, page_of
from modelport.dialects.tensormesh.errors import RpcCode, TensormeshError, invalid
from modelport.dialects.tensormesh.model_list import TENSORMESH_MADE, ModelFilter, window
from modelport.dialects.tensormesh.schemas import (
    DeployModelRequest,
    Model,
    ModelCheckRequest,
    ModelCheckResult,
    ModelsPage,
    ModelStatus,
    SearchByInfraRequest,
    ValidateModelNameRequest,
)
from modelport.dialects.tensormesh.sizing import offload_gib, weights_gib
from modelport.dialects.tensormesh.statuses import model_events, model_status
from modelport.dialects.tensormesh.translate import (
    Stored,
    canonical_uuid,
    deployment,
    endpoint_name,
    infra_set,
    model_name_problem,
    stored,
    to_model,
)
from modelport.domain.errors import Conflict, ModelportError, NotFound
from modelport.domain.records import Endpoint, Event
from modelport.domain.states import DesiredState
from modelport.schemas.native import EndpointPublic
from modelport.services.auth import Principal
from modelport.services.endpoints import MAX_EVENTS_PAGE

EVENTS_SHOWN = 50  # a model shows its latest events
_MAX_EVENT_PAGES = 100


class Models:
    def __init__(self, services: ApiServices) -> None:
        self._services = services

    def deploy(self, principal: Principal, request: DeployModelRequest) -> Model:
        """Create the endpoint; the same request again returns the model (without its key)."""
        principal.require_mutate()
        endpoints = self._services.endpoints
        name = endpoint_name(request.model_name)
        existing = self._existing(principal, name)
        if existing is not None and existing[0].desired_state is DesiredState.DELETED:
            raise TensormeshError(
                RpcCode.FAILED_PRECONDITION,
                f"modelName: model '{request.model_name}' is being deleted; deploy it again "
                "once it is gone",
            )
        model_id = existing[1].model_id if existing and existing[1] else str(uuid.uuid4())
        planned = deployment(request, model_id)
        try:
            endpoint, minted = endpoints.create(principal, name, planned.spec)
        except Conflict as exc:
            raise TensormeshError(
                RpcCode.ALREADY_EXISTS,
                f"modelName: a model named '{request.model_name}' already exists with another "
                "configuration; delete it first or choose another modelName",
            ) from exc
        if minted is None:  # the same request again: nothing new, the key is not shown again
            if request.api_key:  # completes a first attempt that failed before its key
                self._services.tokens.add_endpoint_key(principal, name, request.api_key)
            return self._model(principal, endpoint)
        if request.api_key:
            try:
                self._services.tokens.add_endpoint_key(principal, name, request.api_key, only=True)
            except ModelportError:
                endpoints.delete(principal, name)  # no model without the key it was asked with
                raise
        for note in planned.notes:
            endpoints.add_event(principal, name, note.reason, note.message, note.level)
        return self._model(principal, endpoint, api_key=request.api_key or minted)

    def listing(
        self, principal: Principal, which: ModelFilter, window: Window, *, count: bool = False
    ) -> tuple[list[Model], int | None]:
        """A page of the caller's Tensormesh models (an apiKey sees only its own), oldest
        first, and their total when `count`; endpoints made by other APIs are left out."""
        endpoints = self._services.endpoints
        found = page_of(
            endpoints, principal, TENSORMESH_MADE, window, match=which.match(), count=count
        )
        models = []
        for listed in found.items:
            tm = stored(listed.endpoint.spec)
            if tm is not None:  # else a native patch replaced the extension: not a model now
                public = endpoints.public(listed.endpoint, listed.replicas)
                models.append(self._model(principal, listed.endpoint, tm, public=public))
        return models, found.total

    def get(self, principal: Principal, model_id: str) -> Model:
        endpoint, tm = self._find(principal, model_id)
        return self._model(principal, endpoint, tm)

    def delete(self, principal: Principal, model_id: str) -> None:
        """Asks for the teardown; the model is listed as MODEL_STATUS_DELETING until gone."""
        endpoint, _ = self._find(principal, model_id)
        self._services.endpoints.delete(principal, endpoint.name)

    def page(self, principal: Principal, user_id: str, page: int, size: int) -> ModelsPage:
        """The admin listing: the project's models, `size` per page (0: the default)."""
        principal.require_admin()
        shown = window(page, size)
        models, total = self.listing(principal, ModelFilter.of(user_id), shown, count=True)
        return ModelsPage(models=models, page=page, size=shown.limit, total=total or 0)

    def validate_name(self, principal: Principal, request: ValidateModelNameRequest) -> bool:
        """Could a deploy take this modelName now: well formed and not taken in the project."""
        if request.user_id:
            canonical_uuid("userId", request.user_id)
        if model_name_problem(request.model_name) is not None:
            return False
        return self._existing(principal, endpoint_name(request.model_name)) is None

    def search_by_infra(
        self, principal: Principal, request: SearchByInfraRequest, shown: Window
    ) -> list[Model]:
        """A page of the models whose stored infra has every field the query sets."""
        if request.infra is None:
            raise invalid("infra", "required")
        which = ModelFilter.of(request.user_id, infra_set(request.infra))
        return self.listing(principal, which, shown)[0]

    def check(self, principal: Principal, request: ModelCheckRequest) -> ModelCheckResult:
        """The memory a deployed model needs: its weights, and its KV offloading buffer."""
        if not request.model_id:
            raise invalid("modelId", "required")
        endpoint, _ = self._find(principal, request.model_id)
        spec = endpoint.spec
        weights = weights_gib(spec.model.path) if spec.model.path else None
        if weights is None:
            source = spec.model.hf_id or spec.model.path or "its model"
            raise TensormeshError(
                RpcCode.FAILED_PRECONDITION,
                f"modelId: the size of {source} is not known on this server: only weights on "
                "the server's disk (a local modelPath) can be measured",
            )
        return ModelCheckResult(
            required_gpu_memory_gib=weights,
            required_lm_cache_memory_gib=offload_gib(spec.engine_args),
        )

    def chat_model_name(self, principal: Principal, model_id: str) -> str:
        """The name the gateway routes this model by; only a serving model can chat."""
        endpoint, tm = self._find(principal, model_id)
        status = model_status(self._services.endpoints.view(endpoint).phase)
        if status is not ModelStatus.UP:
            raise TensormeshError(
                RpcCode.FAILED_PRECONDITION,
                f"modelId: model {model_id} is not serving (status {status.value}); "
                f"chat once it is {ModelStatus.UP.value}",
            )
        return tm.model_name

    # --- helpers ----------------------------------------------------------------------------
    def _existing(self, principal: Principal, name: str) -> tuple[Endpoint, Stored | None] | None:
        try:
            endpoint = self._services.endpoints.get(principal, name)
        except NotFound:
            return None
        return endpoint, stored(endpoint.spec)

    def _find(self, principal: Principal, model_id: str) -> tuple[Endpoint, Stored]:
        wanted = canonical_uuid("modelId", model_id)
        # One index entry: the store keeps each spec's modelId as a column (store/derived.py).
        where = replace(TENSORMESH_MADE, vendor_id=wanted)
        for endpoint in self._services.endpoints.scan(principal, where):
            tm = stored(endpoint.spec)
            if tm is not None and tm.model_id == wanted:
                return endpoint, tm
        raise TensormeshError(RpcCode.NOT_FOUND, f"modelId: model {model_id} not found")

    def _model(
        self,
        principal: Principal,
        endpoint: Endpoint,
        tm: Stored | None = None,
        api_key: str = "",
        public: EndpointPublic | None = None,
    ) -> Model:
        """`public`: the view when the caller has read it already (a list's page)."""
        tm = tm or stored(endpoint.spec)
        if tm is None:  # a native patch replaced the extensions meanwhile
            raise TensormeshError(RpcCode.NOT_FOUND, f"model '{endpoint.name}' not found")
        public = public or self._services.endpoints.view(endpoint)
        events = model_events(self._latest_events(principal, endpoint.name))
        return to_model(public, tm, events, self._services.gateway_base_url, api_key)

    def _latest_events(self, principal: Principal, name: str) -> list[Event]:
        latest: deque[Event] = deque(maxlen=EVENTS_SHOWN)
        after = 0
        for _ in range(_MAX_EVENT_PAGES):
            try:
                page = self._services.endpoints.events(
                    principal, name, after_id=after, limit=MAX_EVENTS_PAGE
                )
            except NotFound:  # removed meanwhile (a finished delete): its events went with it
                break
            latest.extend(page)
            if len(page) < MAX_EVENTS_PAGE:
                break
            after = page[-1].id
        return list(latest)
