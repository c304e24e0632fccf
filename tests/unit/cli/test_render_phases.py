"""Every endpoint phase, idle included, renders with its own word in the CLI's tables."""

from __future__ import annotations

import pytest

from modelport.cli.render import phase_text
from modelport.domain.states import EndpointPhase


@pytest.mark.parametrize("phase", list(EndpointPhase))
def test_every_phase_renders_as_its_word(phase: EndpointPhase):
    assert phase_text(phase).plain == phase.value
