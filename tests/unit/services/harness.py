"""A real SqlStore on a temp SQLite file with a project, tokens of every role, and services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from modelport.catalog import PlanCatalog
from modelport.clock import FakeClock
from modelport.domain.records import Project, Role
from modelport.domain.specs import EndpointSpec, EnvVar, Framework
from modelport.security.secrets import SecretBox
from modelport.services.auth import Authenticator, Principal
from modelport.services.endpoints import EndpointService
from modelport.services.projects import ProjectService
from modelport.services.tokens import TokenService, mint_token
from modelport.store import SqlStore, open_store

GATEWAY = "http://127.0.0.1:8080"
SECRET_VALUE = "hf_s3cr3t-value-1234"


def web_spec(replicas: int = 1, secret: str | None = None) -> EndpointSpec:
    env = [EnvVar(name="API_SECRET", value=secret, secret=True)] if secret else []
    return EndpointSpec(
        framework=Framework.CUSTOM,
        command=["python", "-m", "http.server", "{port}", "--bind", "{host}"],
        replicas=replicas,
        env=env,
    )


@dataclass
class World:
    db_path: Path
    store: SqlStore
    clock: FakeClock
    box: SecretBox
    authenticator: Authenticator
    endpoints: EndpointService
    tokens: TokenService
    projects: ProjectService
    project: Project
    other_project: Project
    # "admin", "member", "viewer" (team-a, granted host access), "other_admin", "other_member"
    # (team-b, not granted), "server_admin" (project "operators") -> plaintext token
    keys: dict[str, str]

    def principal(self, who: str) -> Principal:
        return self.authenticator.authenticate(f"Bearer {self.keys[who]}")


def make_world(tmp_path: Path) -> World:
    db_path = tmp_path / "modelport.db"
    clock = FakeClock()
    store = open_store(f"sqlite:///{db_path}", clock)
    box = SecretBox(Fernet.generate_key())
    # team-a may use the host (its specs run custom commands); team-b is an ordinary project.
    project = store.update_project(store.create_project("team-a").id, host_access=True)
    other = store.create_project("team-b")
    keys = {
        role.value: mint_token(store, project.id, role.value, role)[1]
        for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER)
    }
    keys["other_admin"] = mint_token(store, other.id, "other", Role.ADMIN)[1]
    keys["other_member"] = mint_token(store, other.id, "other-member", Role.MEMBER)[1]
    # The operator's token lives in a project of its own, so team-a's listings stay as they were.
    operators = store.create_project("operators")
    keys["server_admin"] = mint_token(
        store, operators.id, "operator", Role.ADMIN, server_admin=True
    )[1]
    return World(
        db_path=db_path,
        store=store,
        clock=clock,
        box=box,
        authenticator=Authenticator(store, clock),
        endpoints=EndpointService(store, box, clock, GATEWAY, plans=PlanCatalog.load()),
        tokens=TokenService(store),
        projects=ProjectService(store),
        project=project,
        other_project=other,
        keys=keys,
    )
