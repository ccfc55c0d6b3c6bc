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


class DataError(TernError):
    """The lake cannot answer: a dataset is missing or unreadable."""


class QueryError(TernError):
    """The query engine failed to run a statement."""


class NotFoundError(TernError):
    """The object does not exist for this org (another org's objects are simply not there)."""


class ConflictError(TernError):
    """The change does not fit the object's state, or the object changed meanwhile."""


class StoreError(TernError):
    """DynamoDB or S3 failed; the detail is for the log, not the user."""


class UnresolvedReference(ConflictError):
    """A definition names a segment with no stored membership yet, or a list or segment that is not there."""


class GoneError(TernError):
    """The thing existed but is no longer there (an export file past its 7 days)."""
