"""Everything this provider needs from `tf` (the Python Terraform provider framework, 1.2) that it
does not do, in one place. Each workaround says why; resources import their building blocks from
here, never `tf`'s private names.

- `ListBlock`: `tf` has set and (commented-out) single nested blocks only; TIR's schema (seed 001)
  is made of list blocks (`auto_scale_policy { rules { } }`, two levels deep).
- `Object`: `tf` has no object type; a data source's list of plans is a list of objects.
- `Servicer.PlanResourceChange`: `tf` calls a resource's plan hook on update only and without the
  configuration, so defaults of nested attributes (which need the config to tell "unset" from
  "kept") could not be planned on create; it also refuses the destroy plans Terraform sends
  because `tf` itself announces `plan_destroy`. Here the hook runs on create and update with the
  config (`PlanningContext.config`) and `requires_replace` is computed for every attribute.
- `Guarded`: an exception in a resource becomes a Terraform diagnostic (`tf` lets it reach gRPC,
  which Terraform reports as a plugin crash).
- `serve()`: the plugin protocol's handshake is the first line on stdout and nothing else may be
  written there, so stdout carries that line only and every later write goes to stderr.
"""

from __future__ import annotations

import logging
import sys
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any, TextIO

import tf.provider as tf_provider
from tf import runner
from tf.gen import tfplugin_pb2 as pb
from tf.iface import (
    CreateContext,
    DataSource,
    DeleteContext,
    ImportContext,
    PlanContext,
    Provider,
    ReadContext,
    ReadDataContext,
    Resource,
    UpdateContext,
)
from tf.schema import Attribute, Block, NestedBlock, NestMode, Schema
from tf.types import Bool, Map, Number, String, TfType, Unknown
from tf.types import List as ListType
from tf.utils import Diagnostics

__all__ = [
    "Attribute",
    "Block",
    "Bool",
    "CreateContext",
    "DataSource",
    "DeleteContext",
    "Diagnostics",
    "Guarded",
    "ImportContext",
    "ListBlock",
    "ListType",
    "Map",
    "Number",
    "Object",
    "PlanningContext",
    "Provider",
    "ReadContext",
    "ReadDataContext",
    "Resource",
    "Schema",
    "String",
    "Unknown",
    "UpdateContext",
    "serve",
]

log = logging.getLogger("modelport.terraform")


class ListBlock(NestedBlock):  # type: ignore[misc]
    """A list-style nested block (`rules { ... } rules { ... }`); its value is a list of dicts.
    None encodes as the empty list: Terraform wants a known list for a block, never null."""

    def __init__(
        self,
        type_name: str,
        block: Block,
        min_items: int | None = None,
        max_items: int | None = None,
    ) -> None:
        super().__init__(type_name, NestMode.Set, block, min_items=min_items, max_items=max_items)

    def to_pb(self) -> Any:
        described = super().to_pb()
        described.nesting = pb.Schema.NestedBlock.NestingMode.LIST
        return described

    def encode(self, value: Any) -> Any:
        if value is Unknown:
            return value
        encoded = [
            tf_provider._encode_state_d(self._amap(), self._bmap(), v, None) for v in value or []
        ]
        return encoded

    def decode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return [] if value is None else value
        diags = Diagnostics()
        return [tf_provider._decode_state(diags, self._amap(), self._bmap(), v)[1] for v in value]

    def semantically_equal(self, a_decoded: Any, b_decoded: Any) -> bool:
        return bool(a_decoded == b_decoded)


class Object(TfType):  # type: ignore[misc]
    """An object type (`{ name = string, cpu = number }`), a dict in Python."""

    def __init__(self, attributes: dict[str, TfType]) -> None:
        self.attributes = attributes

    def encode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return value
        return {k: t.encode(value.get(k)) for k, t in self.attributes.items()}

    def decode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return value
        return {k: t.decode(value.get(k)) for k, t in self.attributes.items()}

    def tf_type(self) -> bytes:
        inner = ",".join(f'"{k}":{t.tf_type().decode()}' for k, t in self.attributes.items())
        return f'["object",{{{inner}}}]'.encode()


@dataclass
class PlanningContext(PlanContext):  # type: ignore[misc]
    """The plan hook's context: `config` is what the configuration says (None where unset),
    `changed_fields` the attributes and blocks whose proposed value differs from the prior."""

    config: dict[str, Any] = field(default_factory=dict)


class Guarded:
    """A resource or data source whose exceptions become error diagnostics (the operation then
    answers what is safest: the state it was given, or None)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        try:
            self._inner.validate(diags, type_name, config)
        except Exception as exc:
            _report(diags, f"validating {type_name}", exc)

    def create(self, ctx: CreateContext, planned: dict[str, Any]) -> Any:
        return self._call("create", ctx, None, planned)

    def read(self, ctx: Any, current: dict[str, Any]) -> Any:
        return self._call("read", ctx, current, current)

    def update(self, ctx: UpdateContext, current: dict[str, Any], planned: dict[str, Any]) -> Any:
        return self._call("update", ctx, current, current, planned)

    def delete(self, ctx: DeleteContext, current: dict[str, Any]) -> Any:
        return self._call("delete", ctx, None, current)

    def plan(self, ctx: PlanningContext, current: Any, planned: dict[str, Any]) -> Any:
        return self._call("plan", ctx, planned, current, planned)

    def import_(self, ctx: ImportContext, id: str) -> Any:
        return self._call("import_", ctx, None, id)

    def _call(self, name: str, ctx: Any, fallback: Any, *args: Any) -> Any:
        try:
            return getattr(self._inner, name)(ctx, *args)
        except Exception as exc:
            _report(ctx.diagnostics, f"{ctx.type_name}: {name.rstrip('_')} failed", exc)
            return fallback


def _report(diags: Diagnostics, summary: str, exc: Exception) -> None:
    log.exception("%s", summary)
    diags.add_error(summary, f"{type(exc).__name__}: {exc}")


class Servicer(tf_provider.ProviderServicer):  # type: ignore[misc]
    """`tf`'s servicer with the plan hook run on create and update, given the config."""

    def PlanResourceChange(self, request: Any, context: Any) -> Any:
        respond = pb.PlanResourceChange.Response
        diags = Diagnostics()
        type_name = request.type_name
        attrs = self._get_res_attrs(type_name)
        blocks = self._get_res_blocks(type_name)
        decode = tf_provider._decode_state
        _, prior = decode(diags, attrs, blocks, request.prior_state)
        proposed_enc, proposed = decode(diags, attrs, blocks, request.proposed_new_state)
        _, config = decode(diags, attrs, blocks, request.config)
        if diags.has_errors():
            return respond(diagnostics=diags.to_pb())
        if proposed is None:  # a destroy: nothing to plan
            return respond(planned_state=request.proposed_new_state, diagnostics=diags.to_pb())
        planned = dict(proposed)
        if prior is None:  # create: unset computed attributes are the attribute's default
            for name, value in proposed.items():
                if name in attrs and value is None and attrs[name].computed:
                    planned[name] = attrs[name].default
        changed = {
            name
            for name in planned
            if prior is not None
            and name in prior
            and not _same(attrs, blocks, name, prior, planned)
        }
        ctx = PlanningContext(diags, type_name, changed_fields=changed, config=config or {})
        inst = self.app.new_resource(self._get_res_cls(type_name))
        result = inst.plan(ctx, deepcopy(prior), planned)
        planned = planned if result is None else result
        replace = [
            tf_provider._to_attribute_path([name])
            for name, attr in attrs.items()
            if prior is not None
            and attr.requires_replace
            and not attr.type.semantically_equal(prior.get(name), planned.get(name))
        ]
        return respond(
            planned_state=tf_provider._encode_state(attrs, blocks, planned, proposed_enc),
            requires_replace=replace,
            diagnostics=diags.to_pb(),
        )


def _same(
    attrs: dict[str, Attribute],
    blocks: dict[str, NestedBlock],
    name: str,
    prior: dict[str, Any],
    planned: dict[str, Any],
) -> bool:
    kind = attrs[name].type if name in attrs else blocks[name]
    return bool(kind.semantically_equal(prior[name], planned[name]))


class _HandshakeOnly:
    """stdout for a plugin: the first line (go-plugin's handshake) reaches the real stdout,
    every later write goes to stderr, which Terraform keeps in its log."""

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self._stdout = stdout
        self._stderr = stderr
        self._handshake_sent = False

    def write(self, text: str) -> int:
        if self._handshake_sent:
            return self._stderr.write(text)
        head, newline, rest = text.partition("\n")
        self._stdout.write(head + newline)
        self._stdout.flush()
        if newline:
            self._handshake_sent = True
            if rest:
                self._stderr.write(rest)
        return len(text)

    def flush(self) -> None:
        (self._stderr if self._handshake_sent else self._stdout).flush()

    def isatty(self) -> bool:
        return False


def serve(provider: Provider, argv: list[str]) -> None:
    """Run `provider` as a Terraform plugin until Terraform stops it."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s: %(message)s")
    tf_provider.ProviderServicer = Servicer  # run_provider builds tf's servicer by this name
    sys.stdout = _HandshakeOnly(sys.stdout, sys.stderr)
    runner.run_provider(provider, argv)
