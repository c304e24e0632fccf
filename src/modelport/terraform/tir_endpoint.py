"""SKELETON, being written (issue 10): `tir_model_endpoint`."""

from __future__ import annotations

from typing import Any

from modelport.terraform.tfcompat import Resource, Schema


class TirModelEndpoint(Resource):  # type: ignore[misc]
    def __init__(self, provider: Any) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "tir_model_endpoint"

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(version=0)
