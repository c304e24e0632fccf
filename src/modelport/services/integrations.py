"""Integrations: a project's named credentials, and the lookup every consumer uses.

Secrets are sealed on the way in and unsealed only here, into a `Credential`, when a consumer
asks by ref at launch time: so a rotation reaches the next replica without editing endpoints.
Every call is scoped to one project; a ref is an integration's name or its id (TIR sends ids).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from modelport.domain.errors import Conflict, Forbidden, InvalidSpec, ModelportError, NotFound
from modelport.domain.ids import MAX_ID, validate_name
from modelport.domain.integrations import (
    KIND_RULES,
    Credential,
    Integration,
    IntegrationFields,
    IntegrationKind,
    SecretFields,
)
from modelport.domain.launch import RegistryLogin
from modelport.domain.records import Endpoint, Project
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState
from modelport.schemas.integrations import IntegrationCreate
from modelport.security.secrets import SecretBox
from modelport.services.auth import Principal
from modelport.services.dataset_rules import check_endpoint_url
from modelport.store.base import Store

MODEL_INTEGRATION_FIELD = "spec.model.integration"
REGISTRY_INTEGRATION_FIELD = "spec.model.registry_integration"

# What each spec reference may name: model files come with a Hub token or S3 keys (a Hub
# token only for an hf_id source), a private image with a registry login.
_MODEL_SOURCES = frozenset({IntegrationKind.HUGGING_FACE, IntegrationKind.S3})
_REGISTRY = frozenset({IntegrationKind.REGISTRY})


class IntegrationService:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box

    # --- what consumers use, at launch time ---------------------------------------------------
    def credential(
        self, project_id: int, ref: str, kind: IntegrationKind, *, field: str
    ) -> Credential:
        """The decrypted credential `ref` names in the project. InvalidSpec naming `field` when
        no integration matches or it is of another kind; PermanentError if the server's secret
        key changed since it was sealed."""
        found = self.find(project_id, ref, (kind,), field=field)
        return Credential(
            integration_id=found.id,
            name=found.name,
            kind=found.kind,
            version=found.version,
            fields=found.fields,
            secret=SecretFields.model_validate_json(self._box.decrypt(found.sealed_secret)),
        )

    def registry_login(self, project_id: int, ref: str, field: str) -> RegistryLogin:
        """The login to pull a private image with (a REGISTRY integration)."""
        return self.credential(
            project_id, ref, IntegrationKind.REGISTRY, field=field
        ).registry_login()

    def hf_token(self, project_id: int, ref: str, field: str) -> str:
        """The Hugging Face token (a HUGGING_FACE integration)."""
        found = self.credential(project_id, ref, IntegrationKind.HUGGING_FACE, field=field)
        return found.secret.token or ""

    def find(
        self, project_id: int, ref: str, kinds: Collection[IntegrationKind], *, field: str
    ) -> Integration:
        """The integration `ref` names, still sealed; InvalidSpec naming `field` otherwise."""
        try:
            found = self._by_ref(project_id, ref)
        except NotFound as exc:
            raise InvalidSpec(
                f"{field}: no integration '{ref}' in this project", field=field
            ) from exc
        if found.kind not in kinds:
            wanted = " or ".join(sorted(k.value for k in kinds))
            raise InvalidSpec(
                f"{field}: integration '{found.name}' is of kind {found.kind.value}; "
                f"this needs {wanted}",
                field=field,
            )
        return found

    def check_spec_refs(
        self, project_id: int, spec: EndpointSpec, old: EndpointSpec | None
    ) -> None:
        """InvalidSpec naming the field when the spec names no integration of the project, or
        one of the wrong kind. Only changed refs are judged: one in use cannot be deleted."""
        before = dict((f, r) for f, r, _ in spec_refs(old)) if old is not None else {}
        for field, ref, kinds in spec_refs(spec):
            if before.get(field) != ref:
                self.find(project_id, ref, kinds, field=field)

    # --- the resource -----------------------------------------------------------------------
    def create(self, principal: Principal, body: IntegrationCreate) -> Integration:
        principal.require_mutate()
        _check_name(body.name)
        fields, secret = body.fields_part(), body.secret_part()
        _check_secret(body.kind, secret)
        _check_fields(body.kind, fields, set(IntegrationFields.model_fields))
        self._check_endpoint_url(principal, fields)
        return self._store.create_integration(
            principal.project_id,
            body.name,
            body.kind,
            fields,
            self._box.encrypt(secret.model_dump_json(exclude_none=True)),
        )

    def get(self, principal: Principal, ref: str) -> Integration:
        _no_inference_key(principal)
        return self._by_ref(principal.project_id, ref)

    def list(self, principal: Principal) -> Sequence[Integration]:
        _no_inference_key(principal)
        return self._store.list_integrations(principal.project_id)

    def rotate(self, principal: Principal, ref: str, secret: SecretFields) -> Integration:
        """A new secret (every secret field of the kind): version + 1, rotated_at now."""
        principal.require_mutate()
        current = self._by_ref(principal.project_id, ref)
        _check_secret(current.kind, secret)
        return self._store.update_integration(
            principal.project_id,
            current.id,
            sealed_secret=self._box.encrypt(secret.model_dump_json(exclude_none=True)),
        )

    def patch(self, principal: Principal, ref: str, changes: IntegrationFields) -> Integration:
        """Change the fields given (null unsets an optional one): version + 1."""
        principal.require_mutate()
        given = changes.model_fields_set
        if not given:
            raise InvalidSpec("body: give at least one field to change", field="body")
        current = self._by_ref(principal.project_id, ref)
        merged = current.fields.model_copy(update={f: getattr(changes, f) for f in given})
        _check_fields(current.kind, merged, given)
        self._check_endpoint_url(principal, changes)
        return self._store.update_integration(principal.project_id, current.id, fields=merged)

    def delete(self, principal: Principal, ref: str) -> None:
        """Conflict naming the endpoints whose spec names it."""
        principal.require_mutate()
        found = self._by_ref(principal.project_id, ref)

        def unused(_project: Project, endpoints: Sequence[Endpoint]) -> None:
            users = [e.name for e in endpoints if _names(e, found)]
            if users:
                raise Conflict(
                    f"integration '{found.name}' is used by endpoint(s) {', '.join(users)}; "
                    "change or delete those first",
                    field="name",
                )

        self._store.delete_integration(principal.project_id, found.id, admit=unused)

    # --- helpers ----------------------------------------------------------------------------
    def _by_ref(self, project_id: int, ref: str) -> Integration:
        if ref.isdigit():
            if int(ref) > MAX_ID:  # no such id; the database cannot even compare it
                raise NotFound(f"integration {ref} not found")
            return self._store.get_integration(project_id, int(ref))
        return self._store.get_integration_by_name(project_id, ref)

    @staticmethod
    def _check_endpoint_url(principal: Principal, fields: IntegrationFields) -> None:
        """An S3 endpoint on this host's own networks needs host access, as for datasets."""
        if fields.endpoint_url is None:
            return
        try:
            check_endpoint_url(fields.endpoint_url, may_use_host=principal.may_use_host)
        except (InvalidSpec, Forbidden) as exc:
            raise _renamed(exc, "options.endpoint_url", "endpoint_url") from exc


def spec_refs(
    spec: EndpointSpec,
) -> Iterator[tuple[str, str, frozenset[IntegrationKind]]]:
    """(field, ref, kinds it may name) of each integration the spec names."""
    model = spec.model
    if model.integration is not None:
        kinds = frozenset({IntegrationKind.HUGGING_FACE}) if model.hf_id else _MODEL_SOURCES
        yield MODEL_INTEGRATION_FIELD, model.integration, kinds
    if model.registry_integration is not None:
        yield REGISTRY_INTEGRATION_FIELD, model.registry_integration, _REGISTRY


def _names(endpoint: Endpoint, integration: Integration) -> bool:
    if endpoint.desired_state is DesiredState.DELETED:  # torn down; never launches again
        return False
    return any(
        ref in (integration.name, str(integration.id)) for _, ref, _ in spec_refs(endpoint.spec)
    )


def _check_name(name: str) -> None:
    try:
        validate_name(name)
    except ValueError as exc:
        raise InvalidSpec(str(exc), field="name") from exc
    if name.isdigit():
        raise InvalidSpec("name: must contain a letter (digits alone are ids)", field="name")


def _check_secret(kind: IntegrationKind, secret: SecretFields) -> None:
    """Every secret field of the kind, and no other."""
    wanted = KIND_RULES[kind].secrets
    for name in SecretFields.model_fields:
        if name not in wanted and getattr(secret, name) is not None:
            raise InvalidSpec(f"{name}: a {kind.value} integration takes no {name}", field=name)
    for name in wanted:
        if getattr(secret, name) is None:
            raise InvalidSpec(f"{name}: a {kind.value} integration needs {name}", field=name)


def _check_fields(kind: IntegrationKind, fields: IntegrationFields, judged: set[str]) -> None:
    """The kind's required fields set, and none it does not take (among those `judged`)."""
    rule = KIND_RULES[kind]
    for name in sorted(judged):
        value = getattr(fields, name)
        if name in rule.required and value is None:
            raise InvalidSpec(f"{name}: a {kind.value} integration needs {name}", field=name)
        if name not in rule.fields and value is not None:
            raise InvalidSpec(f"{name}: a {kind.value} integration takes no {name}", field=name)


def _renamed(exc: ModelportError, old: str, new: str) -> ModelportError:
    """The same error about `new`: a shared rule phrased for another resource's field."""
    return type(exc)(exc.message.replace(old, new), field=new)


def _no_inference_key(principal: Principal) -> None:
    # Inference keys call one endpoint; integrations are the project's.
    if principal.endpoint_id is not None:
        raise NotFound("integrations are not visible to an inference key")
