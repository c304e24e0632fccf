"""A live spinner while an endpoint comes up: phase, ready replicas, the latest event."""

from __future__ import annotations

from types import TracebackType

from rich.status import Status
from rich.text import Text

from modelport.cli import render
from modelport.schemas.native import EndpointPublic
from modelport.sdk import Client


class ReadyProgress:
    """Feeds wait_ready's on_progress; shows the newest event message next to the counts."""

    def __init__(self, client: Client, name: str, *, after_id: int = 0) -> None:
        self._client = client
        self._name = name
        self._after_id = after_id  # events up to this one are old news
        self._latest = ""
        self._status: Status = render.err.status(f"waiting for {name}...")

    def __enter__(self) -> ReadyProgress:
        self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._status.stop()

    def update(self, endpoint: EndpointPublic) -> None:
        page = self._client.events(self._name, after_id=self._after_id)
        for event in page.items:
            self._after_id = event.id
            self._latest = event.message
            if not render.err.is_terminal:  # no live display: keep a plain trail instead
                render.err.print(render.event_line(event))
        counts = endpoint.replicas
        line = Text(f"{self._name}: ")
        line.append(endpoint.phase.value, style=render.PHASE_STYLES[endpoint.phase])
        line.append(f", ready {counts.ready}/{counts.desired} replicas")
        if self._latest:
            line.append(f"  {self._latest}", style="dim")
        self._status.update(line)
