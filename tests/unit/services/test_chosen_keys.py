"""Caller-chosen inference keys (Tensormesh's apiKey) and events written by dialects."""

from __future__ import annotations

import sqlite3

import pytest

from modelport.domain.errors import Conflict, Forbidden, InvalidSpec, NotFound
from modelport.domain.ids import hash_token
from modelport.domain.records import EventLevel, Role
from modelport.services.tokens import mint_token
from tests.unit.services.harness import World, web_spec

CHOSEN = "my-own-key-0123456789"


def test_a_chosen_secret_is_stored_hashed_and_authenticates(world: World):
    token, plaintext = mint_token(world.store, world.project.id, "mine", Role.VIEWER, secret=CHOSEN)
    assert plaintext == CHOSEN
    assert token.prefix == CHOSEN[:4]  # listings show only its first characters
    found = world.store.find_token(hash_token(CHOSEN))
    assert found is not None and found.id == token.id
    assert world.authenticator.authenticate(f"Bearer {CHOSEN}").role is Role.VIEWER
    world.store.close()
    with sqlite3.connect(world.db_path) as db:
        assert CHOSEN not in "\n".join(db.iterdump())


@pytest.mark.parametrize(
    "secret",
    [
        "short",
        "x" * 257,
        "with spaces 0123456789",
        "tab\t0123456789abcdef",
        "ключ-0123456789abcdef",
    ],
)
def test_a_weak_or_odd_chosen_secret_is_refused(world: World, secret: str):
    with pytest.raises(InvalidSpec) as exc:
        mint_token(world.store, world.project.id, "x", Role.VIEWER, secret=secret)
    assert exc.value.field == "secret"


def test_a_chosen_secret_in_use_is_a_conflict(world: World):
    mint_token(world.store, world.project.id, "one", Role.VIEWER, secret=CHOSEN)
    with pytest.raises(Conflict) as exc:
        mint_token(world.store, world.other_project.id, "two", Role.ADMIN, secret=CHOSEN)
    assert exc.value.field == "secret"


def test_members_register_a_key_for_one_endpoint(world: World):
    member = world.principal("member")
    endpoint, minted = world.endpoints.create(member, "web", web_spec())
    assert minted is not None
    token = world.tokens.add_endpoint_key(member, "web", CHOSEN, only=True)
    assert (token.endpoint_id, token.role) == (endpoint.id, Role.MEMBER)
    # `only`: the key minted at creation is revoked, so the chosen one is the endpoint's key.
    assert world.store.find_token(hash_token(minted)) is None
    key = world.authenticator.authenticate(f"Bearer {CHOSEN}")
    assert key.endpoint_id == endpoint.id
    with pytest.raises(Forbidden):
        key.require_mutate()
    # The same secret for the same endpoint again: the same token (a retried request).
    assert world.tokens.add_endpoint_key(member, "web", CHOSEN).id == token.id


def test_registering_a_key_needs_the_right_to_change_the_endpoint(world: World):
    world.endpoints.create(world.principal("admin"), "web", web_spec())
    with pytest.raises(Forbidden):
        world.tokens.add_endpoint_key(world.principal("viewer"), "web", CHOSEN)
    with pytest.raises(NotFound) as missing:
        world.tokens.add_endpoint_key(world.principal("other_admin"), "web", CHOSEN)
    assert missing.value.field == "endpoint"


def test_a_key_of_another_endpoint_or_token_cannot_be_registered(world: World):
    admin = world.principal("admin")
    world.endpoints.create(admin, "one", web_spec())
    world.endpoints.create(admin, "two", web_spec())
    world.tokens.add_endpoint_key(admin, "one", CHOSEN)
    with pytest.raises(Conflict) as exc:
        world.tokens.add_endpoint_key(admin, "two", CHOSEN)
    assert exc.value.field == "secret"
    with pytest.raises(Conflict):  # someone's full token must not become a scoped key
        world.tokens.add_endpoint_key(admin, "two", world.keys["viewer"])


def test_dialects_write_events_on_endpoints_they_may_change(world: World):
    member = world.principal("member")
    world.endpoints.create(member, "web", web_spec())
    event = world.endpoints.add_event(
        member, "web", "OptionUnsupported", "cpuOffloadingEnabled: ignored", EventLevel.WARNING
    )
    assert (event.reason, event.level) == ("OptionUnsupported", EventLevel.WARNING)
    assert world.endpoints.events(member, "web")[-1].id == event.id
    with pytest.raises(Forbidden):
        world.endpoints.add_event(world.principal("viewer"), "web", "X", "y")
