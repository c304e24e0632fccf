"""The OpenAI model lists the gateway answers itself (`/v1/models` and each dialect's), from the
route table; `owned_by` is the project's name, read once per project."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from modelport.domain.errors import NotFound
from modelport.gateway.downstream import ClientSide
from modelport.gateway.responses import respond_json
from modelport.gateway.routes import EndpointRoute
from modelport.services.auth import Principal
from modelport.store.base import Store


class ModelLists:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._project_names: dict[int, str] = {}

    async def answer(
        self,
        principal: Principal,
        listing: Sequence[tuple[str, EndpointRoute]],
        wanted: str | None,
        request_id: str,
        client: ClientSide,
    ) -> None:
        """The model list (or one model of it) of what `principal` may call; NotFound if
        `wanted` is not among them."""
        owner = await self._project_name(principal.project_id)
        models = [
            {"id": model_id, "object": "model", "created": r.created, "owned_by": owner}
            for model_id, r in listing
            if principal.endpoint_id is None or principal.endpoint_id == r.endpoint_id
        ]
        if wanted is None:
            await respond_json(client, 200, {"object": "list", "data": models}, request_id)
            return
        for model in models:
            if model["id"] == wanted:
                await respond_json(client, 200, model, request_id)
                return
        raise NotFound(f"no running endpoint named '{wanted}' in this project")

    async def _project_name(self, project_id: int) -> str:
        name = self._project_names.get(project_id)
        if name is None:
            project = await asyncio.to_thread(self._store.get_project, project_id)
            name = self._project_names[project_id] = project.name
        return name
