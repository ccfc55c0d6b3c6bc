"""A small repository over the one DynamoDB table: items by key, conditional writes, pages, batches.

boto3's ClientError stops here: a failed condition is ConflictError, anything else StoreError.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import ConflictError, Problem, StoreError, TooLarge


@dataclass
class WriteCount:
    """Write requests sent, so a refresh can show what it cost."""

    requests: int = 0


class Table:
    def __init__(self, dynamodb_table: Any):
        self._table = dynamodb_table
        self.writes = WriteCount()

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        try:
            item: dict[str, Any] | None = self._table.get_item(Key={"PK": pk, "SK": sk}, ConsistentRead=True).get("Item")
            return item
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"reading {pk} {sk}: {e}") from None

    def put(self, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None) -> None:
        """Write an item; with `condition`, only if it holds (else ConflictError)."""
        kwargs: dict[str, Any] = {"Item": item}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._table.put_item(**kwargs)
            self.writes.requests += 1
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConflictError("the item changed since it was read") from None
            _refuse_oversized(e)
            raise StoreError(f"writing {item['PK']} {item['SK']}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"writing {item['PK']} {item['SK']}: {e}") from None

    def take(self, pk: str, sk: str) -> dict[str, Any] | None:
        """Delete an item and return it, if it was there: of two callers racing, exactly one gets it."""
        try:
            answer = self._table.delete_item(Key={"PK": pk, "SK": sk}, ConditionExpression="attribute_exists(PK)", ReturnValues="ALL_OLD")
            self.writes.requests += 1
            return dict(answer.get("Attributes") or {})
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise StoreError(f"deleting {pk} {sk}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"deleting {pk} {sk}: {e}") from None

    def put_together(self, conditional: tuple[dict[str, Any], str, dict[str, Any]], *plain: dict[str, Any]) -> None:
        """Write items atomically: all or none, the first only if its condition holds (else ConflictError)."""
        item, condition, values = conditional
        client = self._table.meta.client
        name = self._table.name
        first: dict[str, Any] = {"TableName": name, "Item": item, "ConditionExpression": condition}
        if values:  # DynamoDB refuses an empty ExpressionAttributeValues
            first["ExpressionAttributeValues"] = values
        writes: list[dict[str, Any]] = [{"Put": first}, *({"Put": {"TableName": name, "Item": p}} for p in plain)]
        try:
            client.transact_write_items(TransactItems=writes)
            self.writes.requests += len(writes)
        except ClientError as e:
            reasons = [r.get("Code") for r in e.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons or e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConflictError("the item changed since it was read") from None
            _refuse_oversized(e)
            raise StoreError(f"writing {item['PK']} {item['SK']}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"writing {item['PK']} {item['SK']}: {e}") from None

    def query(
        self, pk: str, limit: int | None = None, start: str | None = None, forward: bool = True, prefix: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a partition (its sort keys starting with `prefix`, if given), from after sort key `start`;
        returns the items and the last key if more remain."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk" + (" AND begins_with(SK, :prefix)" if prefix else ""),
            "ExpressionAttributeValues": {":pk": pk, **({":prefix": prefix} if prefix else {})},
            "ScanIndexForward": forward,
            "ConsistentRead": True,
        }
        if limit is not None:
            kwargs["Limit"] = limit
        if start is not None:
            kwargs["ExclusiveStartKey"] = {"PK": pk, "SK": start}
        try:
            page = self._table.query(**kwargs)
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"reading {pk}: {e}") from None
        last = page.get("LastEvaluatedKey")
        return list(page.get("Items", [])), (str(last["SK"]) if last else None)

    def all(self, pk: str, prefix: str | None = None) -> Iterator[dict[str, Any]]:
        start: str | None = None
        while True:
            items, start = self.query(pk, start=start, prefix=prefix)
            yield from items
            if start is None:
                return

    def keys_present(self, pk: str, sks: list[str]) -> set[str]:
        """Which of these sort keys have an item in partition `pk` (BatchGetItem, 100 keys a request, what
        DynamoDB leaves unprocessed asked again)."""
        client, name, found = self._table.meta.client, self._table.name, set()
        for i in range(0, len(sks), 100):
            keys: list[dict[str, Any]] = [{"PK": pk, "SK": sk} for sk in dict.fromkeys(sks[i : i + 100])]
            for attempt in range(8):
                try:
                    answer = client.batch_get_item(
                        RequestItems={name: {"Keys": keys, "ProjectionExpression": "SK", "ConsistentRead": True}}
                    )
                except (ClientError, BotoCoreError) as e:
                    raise StoreError(f"reading {pk}: {e}") from None
                found |= {str(item["SK"]) for item in answer.get("Responses", {}).get(name, [])}
                keys = answer.get("UnprocessedKeys", {}).get(name, {}).get("Keys", [])
                if not keys:
                    break
                time.sleep(min(0.05 * 2**attempt, 2))
            else:
                raise StoreError(f"reading {pk}: DynamoDB left keys unprocessed 8 times")
        return found

    def add(self, pk: str, sk: str, counts: dict[str, int], expires_at: int | None = None) -> None:
        """Add to numeric attributes of an item, creating it (UpdateItem ADD: concurrent adds all count)."""
        names = {f"#a{i}": k for i, k in enumerate(counts)}
        values: dict[str, Any] = {f":a{i}": v for i, v in enumerate(counts.values())}
        expression = "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(counts)))
        if expires_at is not None:
            names["#expires"], values[":expires"] = "expires_at", expires_at
            expression += " SET #expires = :expires"
        try:
            self._table.update_item(
                Key={"PK": pk, "SK": sk}, UpdateExpression=expression, ExpressionAttributeNames=names, ExpressionAttributeValues=values
            )
            self.writes.requests += 1
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"writing {pk} {sk}: {e}") from None

    def add_below(self, pk: str, sk: str, name: str, limit: int, expires_at: int | None = None) -> bool:
        """Add 1 to a counter only while it is below `limit` (UpdateItem ADD with a condition): False when it is
        full. Of concurrent adders, exactly `limit` succeed."""
        expression = "ADD #n :one" + (" SET #expires = :expires" if expires_at is not None else "")
        names = {"#n": name, **({"#expires": "expires_at"} if expires_at is not None else {})}
        values: dict[str, Any] = {":one": 1, ":limit": limit, **({":expires": expires_at} if expires_at is not None else {})}
        try:
            self._table.update_item(
                Key={"PK": pk, "SK": sk}, UpdateExpression=expression, ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            )  # fmt: skip
            self.writes.requests += 1
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"writing {pk} {sk}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"writing {pk} {sk}: {e}") from None

    def change_map(
        self, pk: str, sk: str, name: str, remove: Iterable[str] = (), put: dict[str, Any] | None = None, version: str | None = None
    ) -> None:
        """Remove keys from, and set keys in, a map attribute of an existing item, in one UpdateItem (no read, so no
        race with other changes of other keys), adding 1 to the `version` attribute if named (so a writer holding
        an older copy fails its version check); nothing happens when the item is gone."""
        removed, put = list(remove), put or {}
        if not removed and not put:
            return
        names: dict[str, str] = {"#m": name, **{f"#r{i}": k for i, k in enumerate(removed)}, **{f"#s{i}": k for i, k in enumerate(put)}}
        values: dict[str, Any] = {f":s{i}": v for i, v in enumerate(put.values())}
        parts = (["SET " + ", ".join(f"#m.#s{i} = :s{i}" for i in range(len(put)))] if put else []) + (
            ["REMOVE " + ", ".join(f"#m.#r{i}" for i in range(len(removed)))] if removed else []
        )
        if version is not None:
            names["#v"], values[":one"] = version, 1
            parts.append("ADD #v :one")
        request: dict[str, Any] = {
            "Key": {"PK": pk, "SK": sk}, "UpdateExpression": " ".join(parts), "ConditionExpression": "attribute_exists(#m)",
            "ExpressionAttributeNames": names,
        }  # fmt: skip
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._table.update_item(**request)
            self.writes.requests += 1
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StoreError(f"writing {pk} {sk}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"writing {pk} {sk}: {e}") from None

    def write_batch(self, puts: Iterable[dict[str, Any]] = (), deletes: Iterable[tuple[str, str]] = ()) -> int:
        """Put and delete many items (25 a request, retried until none is left unprocessed); returns items written."""
        written = 0
        try:
            with self._table.batch_writer() as batch:
                for item in puts:
                    batch.put_item(Item=item)
                    written += 1
                for pk, sk in deletes:
                    batch.delete_item(Key={"PK": pk, "SK": sk})
                    written += 1
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"batch write: {e}") from None
        self.writes.requests += written
        return written


def _refuse_oversized(error: ClientError) -> None:
    """TooLarge when DynamoDB refused an item over its 400 KB limit: a retry would never succeed."""
    message = str(error.response.get("Error", {}).get("Message", ""))
    if "item size" in message.lower() or "item size" in str(error).lower():
        raise TooLarge([Problem("", "this is over DynamoDB's 400 KB item limit; make it smaller")]) from None
