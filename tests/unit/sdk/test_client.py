"""The sync client against the real API over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.domain.records import Role
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState, EndpointPhase
from modelport.sdk import (
    AuthError,
    Client,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    ServerUnavailableError,
    ValidationError,
)
from tests.unit.sdk.live_server import WEB_SPEC, LiveServer, free_port


@pytest.fixture
def client(server: LiveServer) -> Client:
    return Client(server.url, server.admin_token)


def test_create_get_list_patch_delete(client: Client) -> None:
    created = client.create_endpoint("web", EndpointSpec.model_validate(WEB_SPEC))
    assert created.api_key
    assert created.phase is EndpointPhase.DEPLOYING
    assert client.get_endpoint("web").spec.command == WEB_SPEC["command"]
    assert [e.name for e in client.list_endpoints().items] == ["web"]

    patched = client.patch_endpoint("web", {"replicas": 3}, generation=created.generation)
    assert patched.spec.replicas == 3
    assert patched.generation == created.generation + 1

    deleted = client.delete_endpoint("web")
    assert deleted.endpoint.desired_state is DesiredState.DELETED


def test_create_is_idempotent_and_shows_the_key_once(client: Client) -> None:
    first = client.create_endpoint("web", WEB_SPEC)
    again = client.create_endpoint("web", WEB_SPEC)
    assert first.api_key and again.api_key is None
    assert again.id == first.id


def test_the_openai_base_url_is_the_endpoint_url(client: Client) -> None:
    created = client.create_endpoint("web", WEB_SPEC)
    assert client.openai_base_url("web") == created.url


def test_actions_and_read_views(client: Client) -> None:
    client.create_endpoint("web", WEB_SPEC)
    assert client.stop_endpoint("web").endpoint.desired_state is DesiredState.STOPPED
    assert client.start_endpoint("web").endpoint.desired_state is DesiredState.RUNNING
    assert client.restart_endpoint("web").endpoint.generation == 2
    assert client.replicas("web").items == []
    assert client.logs("web", tail_bytes=1024).items == []
    reasons = [e.reason for e in client.events("web").items]
    assert reasons[0] == "EndpointCreated"
    assert client.latest_events("web", count=1)[0].reason == reasons[-1]


def test_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_endpoint("nope")
    assert caught.value.status == 404
    assert caught.value.type == "not_found"


def test_same_name_other_spec_is_a_conflict(client: Client) -> None:
    client.create_endpoint("web", WEB_SPEC)
    with pytest.raises(ConflictError) as caught:
        client.create_endpoint("web", {**WEB_SPEC, "replicas": 2})
    assert caught.value.status == 409


def test_stale_generation_is_a_conflict(client: Client) -> None:
    client.create_endpoint("web", WEB_SPEC)
    client.patch_endpoint("web", {"replicas": 2})
    with pytest.raises(ConflictError):
        client.patch_endpoint("web", {"replicas": 3}, generation=1)


def test_invalid_input_names_the_field(client: Client) -> None:
    client.create_endpoint("web", WEB_SPEC)
    with pytest.raises(ValidationError) as caught:
        client.patch_endpoint("web", {"replicas": -1})
    assert caught.value.status == 422
    assert caught.value.field == "spec.replicas"
    assert "spec.replicas" in caught.value.message


def test_invalid_create_names_the_field(client: Client) -> None:
    with pytest.raises(ValidationError) as caught:
        client.create_endpoint("web", {"framework": "custom"})
    assert caught.value.field == "spec.command"


def test_a_wrong_token_is_an_auth_error(server: LiveServer) -> None:
    with pytest.raises(AuthError) as caught:
        Client(server.url, "mp_not-a-real-token").list_endpoints()
    assert caught.value.status == 401


def test_a_viewer_cannot_change_anything(client: Client, server: LiveServer) -> None:
    viewer = client.create_token("reader", Role.VIEWER)
    assert viewer.token.startswith("mp_")
    with pytest.raises(PermissionDeniedError) as caught:
        Client(server.url, viewer.token).create_endpoint("web", WEB_SPEC)
    assert caught.value.status == 403


def test_tokens_create_list_revoke(client: Client, server: LiveServer) -> None:
    created = client.create_token("ci", "member")
    assert created.id in [t.id for t in client.list_tokens().items]
    assert Client(server.url, created.token).whoami().role is Role.MEMBER
    client.revoke_token(created.id)
    assert created.id not in [t.id for t in client.list_tokens().items]
    with pytest.raises(AuthError):
        Client(server.url, created.token).whoami()


def test_projects(client: Client, server: LiveServer) -> None:
    """The bootstrap token is the server admin: it creates projects and sees all of them."""
    assert client.whoami().server_admin
    created = client.create_project("team-b")
    assert created.admin_token
    team = Client(server.url, created.admin_token)
    assert team.whoami().project == "team-b"
    assert not team.whoami().server_admin
    assert [p.name for p in client.projects().items] == ["default", "team-b"]
    assert [p.name for p in team.projects().items] == ["team-b"]
    with pytest.raises(PermissionDeniedError):
        team.create_project("team-c")


def test_the_server_admin_sets_limits_and_host_access(client: Client, server: LiveServer) -> None:
    team = Client(server.url, client.create_project("team-b").admin_token)
    with pytest.raises(PermissionDeniedError) as caught:
        team.create_endpoint("web", WEB_SPEC)  # a custom command needs host access
    assert caught.value.field == "spec.command"
    with pytest.raises(PermissionDeniedError):
        team.update_project("team-b", host_access=True)

    project = client.update_project("team-b", {"max_endpoints": 1}, host_access=True)
    assert project.host_access and project.limits.max_endpoints == 1
    assert client.get_project("team-b").limits.max_endpoints == 1
    team.create_endpoint("web", WEB_SPEC)
    with pytest.raises(QuotaExceededError) as quota:
        team.create_endpoint("web-2", WEB_SPEC)
    assert quota.value.status == 429
    assert quota.value.retry_after is not None and quota.value.retry_after >= 1
    assert "max_endpoints" in quota.value.message

    minted = client.create_project_token("team-b", "ci", Role.VIEWER)
    assert Client(server.url, minted.token).whoami().role is Role.VIEWER


def test_local_admin_token_file_is_used_by_default(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's own bootstrap file: a client on the server host needs no configuration."""
    monkeypatch.setenv("MODELPORT_HOME", str(server.home))
    monkeypatch.setenv("MODELPORT_PORT", str(server.settings.port))
    me = Client().whoami()
    assert me.role is Role.ADMIN
    assert me.project == "default"


def test_environment_token_beats_the_admin_token_file(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(server.home))
    monkeypatch.setenv("MODELPORT_URL", server.url)
    monkeypatch.setenv("MODELPORT_TOKEN", "mp_wrong")
    with pytest.raises(AuthError):
        Client().whoami()


def test_no_server_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(ServerUnavailableError) as caught:
        Client(f"http://127.0.0.1:{free_port()}", "t").list_endpoints()
    assert "modelport server" in str(caught.value)
