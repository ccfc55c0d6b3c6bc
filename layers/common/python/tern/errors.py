"""Domain exceptions. Adapters (CLI, API) map these to exit codes and HTTP statuses in one place."""

from __future__ import annotations

from dataclasses import dataclass


class TernError(Exception):
    """Base of every error Tern reports to a user rather than crashes on."""


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DefinitionError(TernError):
    """A definition a user wrote is invalid; carries each problem with its field path."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class TooLarge(DefinitionError):
    """Input over a size limit: it will never fit, however often it is sent again (HTTP 413)."""


class DataError(TernError):
    """The lake cannot answer: a dataset is missing or unreadable."""


class QueryError(TernError):
    """The query engine failed to run a statement."""


class NotQuick(TernError):
    """The quick path (tern.engines.quick) cannot answer: the org's lake is larger than the preview function copies,
    or the function could not be reached. The caller counts through Athena instead."""

    def __init__(self, reason: str, too_large: bool = False):
        super().__init__(reason)
        self.too_large = too_large  # the org's lake will not fit, however often asked (else: the function failed)


class NotFoundError(TernError):
    """The object does not exist for this org (another org's objects are simply not there)."""


class ConflictError(TernError):
    """The change does not fit the object's state, or the object changed meanwhile."""


class StoreError(TernError):
    """DynamoDB or S3 failed; the detail is for the log, not the user."""


class EvaluationRunning(ConflictError):
    """The segment is being evaluated now: its evaluation starts the jobs waiting for it when it ends."""


class UnresolvedReference(ConflictError):
    """A definition names a segment with no stored membership yet, or a list or segment that is not there."""


class TooBusy(TernError):
    """The org is using all it may of something shared (its lake queries at once): try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class GoneError(TernError):
    """The thing existed but is no longer there (an export file past its 7 days)."""


class DeliveryFailed(TernError):
    """A webhook destination did not take a batch, after `attempts` requests."""

    def __init__(self, message: str, attempts: int):
        super().__init__(message)
        self.attempts = attempts


# Errors a journey's state machine matches by name (tern.journeys.asl uses these classes' names).


class RetryLater(Exception):  # noqa: N818 - the name is the error Step Functions' Retry matches
    """A transient failure (throttling, a service hiccup): the step's retry policy runs it again."""


class PlatformUnavailable(TernError):
    """An ad platform could not be reached, or kept throttling, while a marketer waited: try again shortly."""


class SendRejected(TernError):
    """The provider refused this one message for good (an unverified recipient in the SES sandbox, an address or
    number it will not take): the step records it as failed and the contact's path goes on."""


class OptedOut(SendRejected):
    """The recipient told the provider to stop (an SMS STOP on the org's opt-out list): never send there again."""


class ContactStopped(Exception):  # noqa: N818 - the name is the error the state machine catches
    """This contact's path ends here (no consent, suppressed, no address); the step has recorded why."""
