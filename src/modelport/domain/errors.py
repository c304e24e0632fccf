"""Domain errors. The API maps them to HTTP in one place; each dialect renders its own envelope."""

from __future__ import annotations


class ModelportError(Exception):
    """Base of every error we raise on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ModelportError):
    """The object does not exist, or the caller's project cannot see it (same answer on purpose)."""


class Conflict(ModelportError):
    """The request clashes with current state : a taken name, a stale generation."""


class InvalidSpec(ModelportError):
    """Input that cannot be valid whatever the state; `field` names the culprit."""


class Forbidden(ModelportError):
    """Authenticated, but the role does not allow this action."""


class Unauthorized(ModelportError):
    """No credentials, or credentials that match nothing."""


class IllegalTransition(ModelportError):
    """A state change the transition table does not allow: a bug, never user input."""


class TemporaryError(ModelportError):
    """Worth retrying after `delay` seconds (capacity not there yet, a port race, ...)."""

    def __init__(self, message: str, *, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class ReplicaPreparing(TemporaryError):
    """The replica is being prepared in the background (its image pulled, or its Ray actor
    waited for): ask again after `delay`. The message is the progress; `began` is true only
    for the call that began the wait (so one event is written per wait, however many calls
    wait for it)."""

    def __init__(self, progress: str, *, began: bool, delay: float = 1.0) -> None:
        super().__init__(progress, delay=delay)
        self.began = began


class QuotaExceeded(ModelportError):
    """Over one of the project's limits (or a rate limit): 429, retry after `retry_after` s."""

    def __init__(self, message: str, *, field: str | None = None, retry_after: float = 60.0):
        super().__init__(message, field=field)
        self.retry_after = retry_after


class PermanentError(ModelportError):
    """Retrying the same thing will fail the same way (bad binary, missing model file, ...)."""


class ImagePullFailed(PermanentError):
    """A container image cannot be pulled: no such image, no or wrong credentials, registry
    unreachable. The replica fails with reason ImagePullFailed (backoff, not a crash loop)."""


class ModelUnavailable(PermanentError):
    """The model's files cannot be fetched: no such repo or model, a refused token, the
    source unreachable. The replica fails with reason ModelUnavailable."""


class LeaseLost(ModelportError):
    """The controller's lease moved on (or may have): the store refuses its writes (fencing).

    Never user-facing: it ends the controller's tick and demotes it to standby.
    """
