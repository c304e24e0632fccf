"""Watching an endpoint: replicas, events, logs (with -f to follow)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from modelport.cli import render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption, NameArgument
from modelport.schemas.native import EventList, EventPublic, LogsList
from modelport.sdk import Client

FOLLOW_INTERVAL = 1.0  # seconds between polls in follow mode
_MAX_TAIL_BYTES = 1024 * 1024
_BYTES_PER_LINE = 512  # generous: asks for enough bytes to hold --tail lines
_OVERLAP = 256  # characters of the previous text used to find where new output starts

FollowOption = Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new output.")]


def replicas(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """List an endpoint's replicas."""
    with api_client(ctx) as client:
        found = client.replicas(name)
    if as_json:
        render.print_json(found)
    else:
        render.out.print(render.replicas_table(found.items))


def events(
    ctx: typer.Context,
    name: NameArgument,
    follow: FollowOption = False,
    limit: Annotated[int, typer.Option(help="How many recent events to show.", min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """Show an endpoint's recent events; -f keeps printing new ones (JSON lines with --json)."""
    with api_client(ctx) as client:
        recent = client.latest_events(name, count=limit)
        if not follow:
            page = EventList(items=recent)
            if as_json:
                render.print_json(page)
            else:
                render.out.print(render.events_table(recent))
            return
        after_id = _print_events(recent, as_json, after_id=0)
        try:
            while True:
                time.sleep(FOLLOW_INTERVAL)
                after_id = _print_events(client.events(name, after_id).items, as_json, after_id)
        except KeyboardInterrupt:
            return


def _print_events(items: list[EventPublic], as_json: bool, after_id: int) -> int:
    for event in items:
        if as_json:
            render.print_json_line(event)
        else:
            render.out.print(render.event_line(event))
        after_id = event.id
    return after_id


def logs(
    ctx: typer.Context,
    name: NameArgument,
    follow: FollowOption = False,
    tail: Annotated[int, typer.Option(help="Lines to show per replica.", min=1)] = 100,
) -> None:
    """Print the replicas' engine logs; -f keeps printing new output."""
    tail_bytes = min(_MAX_TAIL_BYTES, tail * _BYTES_PER_LINE)
    with api_client(ctx) as client:
        seen = _print_logs(_fetch(client, name, tail_bytes), {}, tail)
        if not follow:
            return
        try:
            while True:
                time.sleep(FOLLOW_INTERVAL)
                seen = _print_logs(_fetch(client, name, tail_bytes), seen, None)
        except KeyboardInterrupt:
            return


def _fetch(client: Client, name: str, tail_bytes: int) -> LogsList:
    return client.logs(name, tail_bytes=tail_bytes)


def _print_logs(found: LogsList, seen: dict[int, str], tail: int | None) -> dict[int, str]:
    """Print what is new per replica since `seen`; returns the texts now seen."""
    prefix = len(found.items) > 1
    for entry in found.items:
        text = new_log_text(seen.get(entry.replica_id, ""), entry.text)
        lines = text.splitlines()
        if tail is not None:
            lines = lines[-tail:]
        for line in lines:
            render.out.print(f"[replica {entry.replica_id}] {line}" if prefix else line)
    return {entry.replica_id: entry.text for entry in found.items}


def new_log_text(previous: str, current: str) -> str:
    """The part of `current` (a sliding tail of a log) that comes after `previous`.

    The tail window moves, so the previous text is located by its last characters; if they
    are gone (lots of output since), everything in `current` is new.
    """
    if not previous:
        return current
    if current == previous:
        return ""
    anchor = previous[-_OVERLAP:]
    at = current.rfind(anchor)
    return current if at < 0 else current[at + len(anchor) :]
