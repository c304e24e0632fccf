"""SKELETON, being written (issue 10): `modelport_endpoint`."""

from __future__ import annotations

from typing import Any

from modelport.terraform.tfcompat import Resource, Schema


class ModelportEndpoint(Resource):  # type: ignore[misc]
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "modelport_endpoint"

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(version=0)


class ModelportToken(Resource):  # type: ignore[misc]
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "modelport_token"

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(version=0)
