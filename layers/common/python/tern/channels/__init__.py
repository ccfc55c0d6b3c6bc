"""Sending: e-mail through SES v2, SMS through SNS. Throttling surfaces as RetryLater for Step Functions to retry."""

from __future__ import annotations


class RetryLater(Exception):  # noqa: N818 - the name is the error Step Functions' Retry matches
    """A transient failure (throttling, a service hiccup): the step's retry policy runs it again."""


class ContactStopped(Exception):  # noqa: N818 - the name is the error the state machine catches
    """This contact's path ends here (no consent, suppressed, no address); the step has recorded why."""
