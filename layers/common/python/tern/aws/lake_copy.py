"""An org's part of the lake, copied from S3 to a local folder and kept in step with it: what the preview function
counts on while a marketer types (tern.engines.quick).

Each sync lists the org's prefixes (its contacts, events, lists and overlay, and the one evaluation of each segment
a definition refers to), fetches the files that are new or whose ETag changed, and removes the ones gone from S3.
A file arrives under a temporary name and is moved into place, so DuckDB never reads half of one; a warm function
reads from S3 only what changed since its last sync (a day's new event files), and otherwise only lists.

The copy mirrors the keys' layout (`contacts/org_id=ORG/...`), so DuckDBEngine reads it as it reads any lake
folder. Files Athena skips are skipped here too: keys whose name starts with `_` or `.` (Athena ignores them), and
folder markers. A key without the .parquet suffix (an UNLOAD's output) is copied with it, which DuckDB's views
look for.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern import lake
from tern.errors import NotQuick, StoreError
from tern.ports import Synced

FETCHERS = 16  # files fetched side by side: S3 serves each GET at tens of MB/s, the function's network far more
_INDEX = ".copied.json"


def prefixes(org_id: str, memberships: dict[str, str]) -> list[str]:
    """The keys a count of the org's segments can read: its datasets, and the named evaluations of the segments referred to."""
    if not lake.ORG_ID.fullmatch(org_id) or org_id in (".", ".."):  # the org's copy is a folder named so
        raise ValueError(f"not an org id: {org_id!r}")
    found = [f"{dataset}/org_id={org_id}/" for dataset in ("contacts", "events", "lists", "overlay")]
    for segment_id, evaluation_id in sorted(memberships.items()):
        if "/" in segment_id + evaluation_id:
            raise ValueError(f"not a segment evaluation: {segment_id}/{evaluation_id}")
        found.append(f"memberships/org_id={org_id}/segment_id={segment_id}/evaluation_id={evaluation_id}/")
    return found


def _local_name(key: str) -> str | None:
    """The copy's path for a key, or None for what Athena does not read."""
    name = key.rsplit("/", 1)[-1]
    if not name or name.startswith(("_", ".")):
        return None
    return key if name.endswith(".parquet") else key + ".parquet"


class LakeCopy:
    """One org's copy, under `root` (root/contacts/org_id=ORG/...). Not safe for two syncs at once: LakeCopies
    holds a lock per org."""

    def __init__(self, s3: Any, bucket: str, root: Path, org_id: str):
        self._s3 = s3
        self.bucket = bucket
        self.root = root
        self.org_id = org_id
        self._index_path = root / _INDEX
        self._copied: dict[str, tuple[str, int]] = {}  # key -> (ETag, size) of the copy, as S3 listed it
        # no index (a cold function), or not one this code wrote: everything is fetched again
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            self._copied = {key: (str(etag), int(size)) for key, (etag, size) in json.loads(self._index_path.read_text()).items()}

    @property
    def size(self) -> int:
        """The copy's bytes, by what was fetched (no walk of the folder)."""
        return sum(size for _, size in self._copied.values())

    def listing(self, memberships: dict[str, str]) -> dict[str, tuple[str, int]]:
        """key -> (ETag, size) of every file under the org's prefixes, as S3 lists them now."""
        found: dict[str, tuple[str, int]] = {}
        try:
            pages = self._s3.get_paginator("list_objects_v2")
            for prefix in prefixes(self.org_id, memberships):
                for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                    for item in page.get("Contents", []):
                        if _local_name(item["Key"]) is not None:
                            found[item["Key"]] = (item["ETag"], int(item["Size"]))
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"listing s3://{self.bucket}/ for org {self.org_id}: {e}") from None
        return found

    def sync(self, listed: dict[str, tuple[str, int]]) -> Synced:
        """Make the copy what S3 holds (`listed`, as listing() gave it)."""
        started = time.monotonic()
        fetch = [key for key, (etag, _) in listed.items() if key not in self._copied or self._copied[key][0] != etag]
        # a segment's other evaluations are kept: a definition naming another segment lists its own, and they never change
        gone = [key for key in self._copied if key not in listed and not key.startswith(f"memberships/org_id={self.org_id}/")]
        if fetch:
            with ThreadPoolExecutor(FETCHERS) as pool:
                list(pool.map(self._fetch, fetch))
            self._copied.update({key: listed[key] for key in fetch})
        for key in gone:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.root / str(_local_name(key)))
            del self._copied[key]
        if fetch or gone:
            self._save_index()
        total = sum(size for _, size in listed.values())
        return Synced(len(listed), total, len(fetch), sum(listed[key][1] for key in fetch), len(gone), time.monotonic() - started)

    def _fetch(self, key: str) -> None:
        path = self.root / str(_local_name(key))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.parent / f".{path.name}.partial"
        try:
            self._s3.download_file(self.bucket, key, str(partial))
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"reading s3://{self.bucket}/{key}: {e}") from None
        os.replace(partial, path)

    def _save_index(self) -> None:
        partial = self._index_path.with_name(_INDEX + ".partial")
        partial.write_text(json.dumps(self._copied))
        os.replace(partial, self._index_path)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self._copied = {}


class LakeCopies:
    """The orgs' copies under one folder (a function's /tmp), within `room` bytes in all: an org's copy that does not
    fit evicts the least recently used others first; one that never fits raises NotQuick."""

    def __init__(self, s3: Any, bucket: str, root: Path, room: int):
        self._s3 = s3
        self.bucket = bucket
        self.root = root
        self.room = room
        self._copies: dict[str, LakeCopy] = {}
        self._used: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def synced(self, org_id: str, memberships: dict[str, str]) -> Iterator[tuple[LakeCopy, Synced]]:
        """The org's copy, in step with S3, held (no other sync of it) until the block ends; NotQuick if the org's
        files are more than the room."""
        with self._lock:
            lock = self._locks.setdefault(org_id, threading.Lock())
        with lock:
            started = time.monotonic()
            copy = self._copy(org_id)
            listed = copy.listing(memberships)
            needed = sum(size for _, size in listed.values())
            if needed > self.room:
                raise NotQuick(
                    f"org {org_id}'s lake is {needed:,} bytes, more than the {self.room:,} the preview function copies", too_large=True
                )
            self._evict(keep=org_id, room=self.room - needed)
            synced = copy.sync(listed)
            self._used[org_id] = time.monotonic()
            yield copy, replace(synced, seconds=time.monotonic() - started)

    def _copy(self, org_id: str) -> LakeCopy:
        with self._lock:
            if org_id not in self._copies:
                self._copies[org_id] = LakeCopy(self._s3, self.bucket, self.root / org_id, org_id)
            return self._copies[org_id]

    def _evict(self, keep: str, room: int) -> None:
        """Remove other orgs' copies, least recently used first, until theirs fit in `room`; one in use stays."""
        with self._lock:
            for org in sorted((o for o in self._copies if o != keep), key=lambda o: self._used.get(o, 0.0)):
                if sum(c.size for o, c in self._copies.items() if o != keep) <= room:
                    return
                lock = self._locks.setdefault(org, threading.Lock())
                if lock.acquire(blocking=False):
                    try:
                        self._copies.pop(org).remove()
                        self._used.pop(org, None)
                    finally:
                        lock.release()
