"""The OpenAI model lists the gateway answers itself (`/v1/models` and each dialect's), from the
route table; `owned_by` is the project's name, which the routes carry (no store read)."""

from __future__ import annotations

from collections.abc import Sequence

from modelport.domain.errors import NotFound
from modelport.gateway.downstream import ClientSide
from modelport.gateway.responses import respond_json
from modelport.gateway.routes import EndpointRoute
from modelport.services.auth import Principal


class ModelLists:
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
        owner = listing[0][1].project_name if listing else ""
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
