"""IntegrationService: the resource (roles, bad input naming the field, delete refused while an
endpoint names it) and the lookup consumers use at launch (a rotated secret is what the next
launch gets, without editing endpoints). Real SQLite store, real SecretBox."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from cryptography.fernet import Fernet

from modelport.domain.errors import Conflict, Forbidden, InvalidSpec, ModelportError, NotFound
from modelport.domain.integrations import IntegrationKind, SecretFields
from modelport.domain.launch import RegistryLogin
from modelport.domain.specs import EndpointSpec
from modelport.schemas.integrations import IntegrationCreate, IntegrationPatch
from modelport.security.secrets import SecretBox
from modelport.services.endpoints import EndpointService
from modelport.services.integrations import (
    MODEL_INTEGRATION_FIELD,
    REGISTRY_INTEGRATION_FIELD,
    IntegrationService,
)
from tests.unit.services.harness import GATEWAY, World, web_spec

HF_TOKEN = "hf_first-token-0123456789"
PASSWORD = "registry-pass-0123456789"
SECRET_KEY = "s3-secret-key-0123456789"


@pytest.fixture
def service(world: World) -> IntegrationService:
    return IntegrationService(world.store, world.box)


@pytest.fixture
def endpoints(world: World, service: IntegrationService) -> EndpointService:
    return EndpointService(
        world.store, world.box, world.clock, GATEWAY, check_spec=lambda *_: None,
        integrations=service,
    )  # fmt: skip


def body(name: str, kind: str, **fields: Any) -> IntegrationCreate:
    return IntegrationCreate.model_validate({"name": name, "kind": kind, **fields})


def add_all(service: IntegrationService, world: World, who: str = "member") -> None:
    principal = world.principal(who)
    service.create(principal, body("hub", "hugging_face", token=HF_TOKEN))
    service.create(
        principal,
        body("reg", "registry", server="127.0.0.1:5000", username="puller", password=PASSWORD),
    )
    service.create(
        principal,
        body("bucket", "s3", access_key_id="AKIDEXAMPLE", secret_access_key=SECRET_KEY),
    )


def spec_with(**model: str) -> EndpointSpec:
    return web_spec().model_copy(update={"model": web_spec().model.model_copy(update=model)})


def test_secrets_are_sealed_at_rest_and_never_in_records(
    service: IntegrationService, world: World
) -> None:
    add_all(service, world)
    rows = sqlite3.connect(world.db_path).execute("SELECT * FROM integrations").fetchall()
    assert len(rows) == 3
    for secret in (HF_TOKEN, PASSWORD, SECRET_KEY, "AKIDEXAMPLE"):
        assert all(secret not in str(row) for row in rows)
    for found in service.list(world.principal("viewer")):
        shown = f"{found!r} {found.model_dump_json()}"
        assert all(s not in shown for s in (HF_TOKEN, PASSWORD, SECRET_KEY))


def test_lookups_decrypt_by_name_or_id(service: IntegrationService, world: World) -> None:
    add_all(service, world)
    pid = world.project.id
    assert service.hf_token(pid, "hub", "f") == HF_TOKEN
    reg = service.get(world.principal("viewer"), "reg")
    login = service.registry_login(pid, str(reg.id), "f")
    assert login == RegistryLogin(server="127.0.0.1:5000", username="puller", password=PASSWORD)
    assert PASSWORD not in repr(login)
    s3 = service.credential(pid, "bucket", IntegrationKind.S3, field="f")
    assert s3.secret == SecretFields(access_key_id="AKIDEXAMPLE", secret_access_key=SECRET_KEY)
    assert s3.version == 1 and SECRET_KEY not in repr(s3) and "AKIDEXAMPLE" not in repr(s3)


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        ("missing", IntegrationKind.HUGGING_FACE),
        ("999", IntegrationKind.HUGGING_FACE),
        (str(2**70), IntegrationKind.HUGGING_FACE),  # past any id the database can hold
        ("reg", IntegrationKind.HUGGING_FACE),  # of another kind
        ("hub", IntegrationKind.REGISTRY),
    ],
)
def test_lookup_errors_name_the_field(
    service: IntegrationService, world: World, ref: str, kind: IntegrationKind
) -> None:
    add_all(service, world)
    with pytest.raises(InvalidSpec) as err:
        service.credential(world.project.id, ref, kind, field="model_load_integration_id")
    assert err.value.field == "model_load_integration_id"
    assert "model_load_integration_id" in err.value.message


def test_another_project_can_neither_see_nor_use_it(
    service: IntegrationService, world: World
) -> None:
    add_all(service, world)
    hub = service.get(world.principal("admin"), "hub")
    theirs = world.principal("other_admin")
    assert service.list(theirs) == []
    for ref in ("hub", str(hub.id)):
        with pytest.raises(NotFound):
            service.get(theirs, ref)
        with pytest.raises(NotFound):
            service.rotate(theirs, ref, SecretFields(token="hf_stolen"))
        with pytest.raises(NotFound):
            service.delete(theirs, ref)
        with pytest.raises(InvalidSpec):
            service.hf_token(world.other_project.id, ref, "f")
    assert service.hf_token(world.project.id, "hub", "f") == HF_TOKEN


def test_roles(service: IntegrationService, world: World, endpoints: EndpointService) -> None:
    with pytest.raises(Forbidden):
        service.create(world.principal("viewer"), body("hub", "hugging_face", token="t"))
    add_all(service, world, who="member")
    assert [i.name for i in service.list(world.principal("viewer"))] == ["hub", "reg", "bucket"]
    _, key = endpoints.create(world.principal("admin"), "web", web_spec())
    assert key is not None
    inference = world.authenticator.authenticate(f"Bearer {key}")
    with pytest.raises(NotFound):
        service.list(inference)
    with pytest.raises(Forbidden):
        service.rotate(world.principal("viewer"), "hub", SecretFields(token="x"))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "hub", "kind": "hugging_face"}, "token"),
        ({"name": "hub", "kind": "hugging_face", "token": "t", "password": "p"}, "password"),
        ({"name": "hub", "kind": "hugging_face", "token": "t", "region": "eu"}, "region"),
        ({"name": "reg", "kind": "registry", "username": "u", "password": "p"}, "server"),
        ({"name": "reg", "kind": "registry", "server": "s", "password": "p"}, "username"),
        ({"name": "b", "kind": "s3", "secret_access_key": "k"}, "access_key_id"),
        ({"name": "123", "kind": "hugging_face", "token": "t"}, "name"),  # an id, not a name
        ({"name": "Bad_Name", "kind": "hugging_face", "token": "t"}, "name"),
    ],
)
def test_bad_input_names_the_field(
    service: IntegrationService, world: World, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidSpec) as err:
        service.create(world.principal("member"), IntegrationCreate.model_validate(fields))
    assert err.value.field == field and field in err.value.message
    assert service.list(world.principal("member")) == []


def test_taken_name_is_a_conflict(service: IntegrationService, world: World) -> None:
    add_all(service, world)
    with pytest.raises(Conflict) as err:
        service.create(world.principal("member"), body("hub", "hugging_face", token="t"))
    assert err.value.field == "name"


def test_s3_endpoint_on_the_hosts_network_needs_host_access(
    service: IntegrationService, world: World
) -> None:
    local = body(
        "minio", "s3", access_key_id="a", secret_access_key="b",
        endpoint_url="http://127.0.0.1:9000",
    )  # fmt: skip
    with pytest.raises(Forbidden) as err:
        service.create(world.principal("other_admin"), local)  # team-b has no host grant
    assert err.value.field == "endpoint_url" and "endpoint_url" in err.value.message
    assert service.create(world.principal("admin"), local).fields.endpoint_url  # team-a has


def test_rotation_reaches_the_next_launch_without_editing_endpoints(
    service: IntegrationService, world: World, endpoints: EndpointService
) -> None:
    add_all(service, world)
    admin = world.principal("admin")
    spec = spec_with(hf_id="HuggingFaceTB/SmolLM2-135M-Instruct", integration="hub")
    endpoint, _ = endpoints.create(admin, "chat", spec)

    def launch_token() -> str:  # what a consumer does at launch: resolve the spec's ref
        stored = world.store.get_endpoint(world.project.id, endpoint.id)
        ref = stored.spec.model.integration
        assert ref is not None
        return service.hf_token(stored.project_id, ref, MODEL_INTEGRATION_FIELD)

    assert launch_token() == HF_TOKEN
    world.clock.advance(30)
    rotated = service.rotate(admin, "hub", SecretFields(token="hf_second-token"))
    assert rotated.version == 2 and rotated.rotated_at == world.clock.now()
    assert launch_token() == "hf_second-token"
    assert world.store.get_endpoint(world.project.id, endpoint.id).generation == 1

    with pytest.raises(InvalidSpec) as err:  # a rotation is the secret of the kind only
        service.rotate(admin, "reg", SecretFields(token="t"))
    assert err.value.field == "token"
    with pytest.raises(InvalidSpec) as err:  # and all of it
        service.rotate(admin, "bucket", SecretFields(access_key_id="a"))
    assert err.value.field == "secret_access_key"


def test_patch_changes_fields_and_bumps_the_version(
    service: IntegrationService, world: World
) -> None:
    add_all(service, world)
    member = world.principal("member")
    patched = service.patch(member, "reg", IntegrationPatch(username="robot"))
    assert patched.version == 2 and patched.fields.server == "127.0.0.1:5000"
    assert service.registry_login(world.project.id, "reg", "f").username == "robot"

    service.patch(member, "bucket", IntegrationPatch(region="eu-west-1"))
    unset = service.patch(member, "bucket", IntegrationPatch(region=None))
    assert unset.fields.region is None and unset.version == 3

    for changes, field in [
        (IntegrationPatch(server=None), "server"),  # required by a registry login
        (IntegrationPatch(region="eu"), "region"),  # not a registry field
        (IntegrationPatch(), "body"),
    ]:
        with pytest.raises(InvalidSpec) as err:
            service.patch(member, "reg", changes)
        assert err.value.field == field


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ({"integration": "missing"}, MODEL_INTEGRATION_FIELD),
        ({"integration": "reg"}, MODEL_INTEGRATION_FIELD),  # a registry login fetches no model
        ({"hf_id": "org/m", "integration": "bucket"}, MODEL_INTEGRATION_FIELD),  # not a Hub token
        ({"image": "127.0.0.1:5000/m", "registry_integration": "hub"}, REGISTRY_INTEGRATION_FIELD),
        ({"image": "127.0.0.1:5000/m", "registry_integration": "404"}, REGISTRY_INTEGRATION_FIELD),
    ],
)
def test_endpoint_specs_must_name_an_integration_of_the_right_kind(
    service: IntegrationService,
    world: World,
    endpoints: EndpointService,
    model: dict[str, str],
    field: str,
) -> None:
    add_all(service, world)
    admin = world.principal("admin")
    with pytest.raises(InvalidSpec) as err:
        endpoints.create(admin, "web", spec_with(**model))
    assert err.value.field == field and field in err.value.message

    endpoints.create(admin, "web", web_spec())
    with pytest.raises(InvalidSpec) as err:
        endpoints.patch(admin, "web", {"model": model})
    assert err.value.field == field
    assert world.store.get_endpoint_by_name(world.project.id, "web").generation == 1


def test_an_integration_in_use_cannot_be_deleted(
    service: IntegrationService, world: World, endpoints: EndpointService
) -> None:
    add_all(service, world)
    admin = world.principal("admin")
    reg = service.get(admin, "reg")
    by_id = spec_with(image="127.0.0.1:5000/m", registry_integration=str(reg.id))
    endpoints.create(admin, "pulls", by_id)
    endpoints.create(admin, "fetches", spec_with(hf_id="org/m", integration="hub"))

    for ref, user in (("reg", "pulls"), ("hub", "fetches")):
        with pytest.raises(Conflict) as err:
            service.delete(admin, ref)
        assert user in err.value.message and err.value.field == "name"

    endpoints.delete(admin, "pulls")  # being torn down: it launches nothing any more
    service.delete(admin, "reg")
    service.delete(admin, "bucket")
    assert [i.name for i in service.list(admin)] == ["hub"]
    with pytest.raises(NotFound):
        service.get(admin, "reg")


def test_a_changed_secret_key_is_a_clear_error(service: IntegrationService, world: World) -> None:
    add_all(service, world)
    other_key = IntegrationService(world.store, SecretBox(Fernet.generate_key()))
    with pytest.raises(ModelportError) as err:
        other_key.hf_token(world.project.id, "hub", "f")
    assert "secret key" in err.value.message and HF_TOKEN not in err.value.message
