"""Every engine adapter, by framework."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from modelport.domain.specs import Framework
from modelport.engines.base import EngineAdapter
from modelport.engines.custom import CustomAdapter
from modelport.engines.dynamo import DynamoAdapter
from modelport.engines.llamacpp import LlamaCppAdapter
from modelport.engines.sglang import SglangAdapter
from modelport.engines.tensorrt import TensorRtAdapter
from modelport.engines.torchserve import TorchServeAdapter
from modelport.engines.triton import TritonAdapter
from modelport.engines.vllm import VllmAdapter

_ADAPTERS: Mapping[Framework, EngineAdapter] = MappingProxyType(
    {
        adapter.framework: adapter
        for adapter in (
            LlamaCppAdapter(),
            CustomAdapter(),
            VllmAdapter(),
            SglangAdapter(),
            DynamoAdapter(),
            TritonAdapter(),
            TorchServeAdapter(),
            TensorRtAdapter(),
        )
    }
)


def adapters() -> Mapping[Framework, EngineAdapter]:
    return _ADAPTERS


def get_adapter(framework: Framework) -> EngineAdapter:
    return _ADAPTERS[framework]
