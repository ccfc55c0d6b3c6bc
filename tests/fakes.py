"""In-memory fakes of Tern's ports (tern.ports) and of the one table, for unit tests of the core services that
need no moto and no network. Each keeps what the real one would, and answers as it would: conditional writes
refuse a stale version, a taken item is gone, a throttled send raises RetryLater.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord

from tern.aws.dynamodb import WriteCount
from tern.engines import Result
from tern.errors import ConflictError, OptedOut, RetryLater, SendRejected, StoreError


class MemoryTable:
    """tern.aws.dynamodb.Table over a dict: items by (PK, SK), the two conditions Tern writes with."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes = WriteCount()

    def _holds(self, item: dict[str, Any], condition: str | None, values: dict[str, Any] | None) -> bool:
        old = self.items.get((item["PK"], item["SK"]))
        if condition is None:
            return True
        if condition == "attribute_not_exists(PK)":
            return old is None
        if condition == "version = :read":
            return old is not None and old.get("version") == (values or {})[":read"]
        raise AssertionError(f"a condition the fake does not know: {condition}")

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.items.get((pk, sk))
        return dict(item) if item else None

    def put(self, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None) -> None:
        if not self._holds(item, condition, values):
            raise ConflictError("the item changed since it was read")
        self.items[(item["PK"], item["SK"])] = dict(item)
        self.writes.requests += 1

    def take(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self.items.pop((pk, sk), None)

    def put_together(self, conditional: tuple[dict[str, Any], str, dict[str, Any]], *plain: dict[str, Any]) -> None:
        item, condition, values = conditional
        if not self._holds(item, condition, values):
            raise ConflictError("the item changed since it was read")
        for one in (item, *plain):
            self.items[(one["PK"], one["SK"])] = dict(one)

    def query(
        self, pk: str, limit: int | None = None, start: str | None = None, forward: bool = True, prefix: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        keys = sorted((sk for (p, sk) in self.items if p == pk and sk.startswith(prefix or "")), reverse=not forward)
        if start is not None:
            keys = [k for k in keys if (k > start if forward else k < start)]
        page = keys[:limit] if limit is not None else keys
        more = limit is not None and len(keys) > limit
        return [dict(self.items[(pk, k)]) for k in page], (page[-1] if more else None)

    def all(self, pk: str, prefix: str | None = None) -> Iterator[dict[str, Any]]:
        yield from self.query(pk, prefix=prefix)[0]

    def keys_present(self, pk: str, sks: list[str]) -> set[str]:
        return {sk for sk in sks if (pk, sk) in self.items}

    def add(self, pk: str, sk: str, counts: dict[str, int], expires_at: int | None = None) -> None:
        item = self.items.setdefault((pk, sk), {"PK": pk, "SK": sk})
        for name, value in counts.items():
            item[name] = item.get(name, 0) + value
        if expires_at is not None:
            item["expires_at"] = expires_at

    def add_below(self, pk: str, sk: str, name: str, limit: int, expires_at: int | None = None) -> bool:
        item = self.items.setdefault((pk, sk), {"PK": pk, "SK": sk})
        if item.get(name, 0) >= limit:
            return False
        item[name] = item.get(name, 0) + 1
        if expires_at is not None:
            item["expires_at"] = expires_at
        return True

    def change_map(
        self, pk: str, sk: str, name: str, remove: Iterable[str] = (), put: dict[str, Any] | None = None, version: str | None = None
    ) -> None:
        item = self.items.get((pk, sk))
        if item is None or name not in item:
            return
        kept = {k: v for k, v in item[name].items() if k not in set(remove)}
        item[name] = {**kept, **(put or {})}
        if version is not None:
            item[version] = item.get(version, 0) + 1

    def write_batch(self, puts: Iterable[dict[str, Any]] = (), deletes: Iterable[tuple[str, str]] = ()) -> int:
        written = 0
        for item in puts:
            self.items[(item["PK"], item["SK"])] = dict(item)
            written += 1
        for key in deletes:
            self.items.pop(key, None)
            written += 1
        return written


class MemoryLakeFiles:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, key: str, body: bytes) -> None:
        self.files[key] = body

    def get(self, key: str) -> bytes:
        if key not in self.files:
            raise StoreError(f"reading {key}: no such file")
        return self.files[key]


class MemoryEvents:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def write(self, org_id: str, rows: list[dict[str, Any]]) -> None:
        self.rows.extend({**row, "org_id": org_id} for row in rows)

    def outcomes(self, contact_id: str | None = None) -> list[tuple[str, str]]:
        """(step, outcome) of the journey_step rows, in the order written."""
        return [
            (r["step_id"], r["outcome"]) for r in self.rows if r["event_type"] == "journey_step" and contact_id in (None, r["contact_id"])
        ]


class MemoryScheduler:
    def __init__(self) -> None:
        self.schedules: dict[str, dict[str, Any]] = {}

    def put(
        self,
        name: str,
        expression: str,
        payload: dict[str, Any],
        description: str,
        *,
        once: bool,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> None:
        self.schedules[name] = {"expression": expression, "payload": payload, "once": once, "start": start, "end": end}

    def delete(self, name: str) -> None:
        self.schedules.pop(name, None)


class MemoryTrigger:
    def __init__(self) -> None:
        self.invoked: list[dict[str, Any]] = []

    def invoke(self, payload: dict[str, Any], what: str) -> None:
        self.invoked.append(payload)


class MemorySecrets:
    """tern.ports.SigningSecrets in memory: each secret's versions, the current last."""

    def __init__(self) -> None:
        self.versions: dict[str, list[str]] = {}

    def create(self, name: str, value: str) -> None:
        assert name not in self.versions, f"{name} exists"
        self.versions[name] = [value]

    def rotate(self, name: str, value: str) -> None:
        self.versions[name].append(value)

    def current(self, name: str) -> str:
        return self.versions[name][-1]

    def previous(self, name: str) -> str | None:
        kept = self.versions[name]
        return kept[-2] if len(kept) > 1 else None

    def delete(self, name: str) -> None:
        self.versions.pop(name, None)


class MemoryTokens:
    """Task tokens: succeed() resumes a waiting execution once; a token that timed out resumes nobody."""

    def __init__(self) -> None:
        self.resumed: list[tuple[str, dict[str, Any]]] = []
        self.gone: set[str] = set()

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        if token in self.gone or any(t == token for t, _ in self.resumed):
            return False
        self.resumed.append((token, output))
        return True


@dataclass
class MemoryEmail:
    """Sends into a list; the first `throttled` sends raise RetryLater, as SES's throttling does, and a send to
    one of `rejected` raises SendRejected, as SES's sandbox does for an unverified recipient."""

    throttled: int = 0
    rejected: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(
        self,
        to: str,
        subject: str,
        html: str | None,
        text: str | None,
        tags: dict[str, str],
        headers: dict[str, str] | None = None,
        sender: Any = None,
    ) -> str:
        if self.throttled:
            self.throttled -= 1
            raise RetryLater("SES throttled")
        if to in self.rejected:
            raise SendRejected(f"SES refused the message: Email address is not verified. {to}")
        message_id = f"email-{len(self.sent) + 1}"
        self.sent.append(
            {
                "id": message_id,
                "to": to,
                "subject": subject,
                "html": html,
                "text": text,
                "tags": tags,
                "headers": headers or {},
                "sender": sender,
            }
        )
        return message_id


@dataclass
class MemorySms:
    """Sends into a list; a number in `opted_out` (a STOP on the identity's opt-out list) raises OptedOut, as AWS does."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    opted_out: set[str] = field(default_factory=set)

    def send(self, phone: str, text: str, origination: str | None = None, context: dict[str, str] | None = None) -> str:
        if phone in self.opted_out:
            raise OptedOut(f"opted out of texts from {origination or 'this account'} (replied STOP)")
        message_id = f"sms-{len(self.sent) + 1}"
        self.sent.append({"id": message_id, "to": phone, "text": text, "origination": origination, "context": context or {}})
        return message_id


class RowsEngine:
    """A query engine whose batches are the given rows, whatever the SQL (the export runner's input)."""

    dialect = "duckdb"
    database: str | None = None

    def __init__(self, rows: list[dict[str, Any]], batch_size: int = 2):
        self.rows = rows
        self.batch_size = batch_size
        self.released: list[str] = []

    def run(self, sql: str) -> Result:
        raise AssertionError("the runner only streams")

    def has_org(self, org_id: str) -> bool:
        return True

    def batches(self, sql: str, name: str) -> Iterator[pa.RecordBatch]:
        for i in range(0, len(self.rows), self.batch_size):
            yield pa.RecordBatch.from_pylist(self.rows[i : i + self.batch_size])

    def release(self, name: str) -> None:
        self.released.append(name)

    def result_location(self, query_id: str) -> tuple[str, str]:
        raise AssertionError("the runner never reads a query's CSV result")


@dataclass
class LambdaContext:
    """What Powertools reads of a Lambda context."""

    function_name: str = "tern-journey-step"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class MemoryIdempotency(BasePersistenceLayer):
    """Powertools Idempotency records in a dict (the cloud keeps them in the one table)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        old = self.records.get(data_record.idempotency_key)
        if old is not None and not (old.expiry_timestamp and old.expiry_timestamp < time.time()):
            raise IdempotencyItemAlreadyExistsError(old_data_record=old)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)
