"""The native API's resources, for users not migrating from TIR: `modelport_endpoint`
(native_endpoint.py) and `modelport_token` (native_token.py)."""

from __future__ import annotations

from modelport.terraform.native_endpoint import ModelportEndpoint
from modelport.terraform.native_token import ModelportToken

__all__ = ["ModelportEndpoint", "ModelportToken"]
