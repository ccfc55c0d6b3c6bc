"""Athena's CSV results in byte ranges: how a Distributed Map hands a large result to many small batches.

A workflow cuts the result's size into ranges (`byte_ranges`, one Map item each); a batch reads just the
lines of its range (`lines_in`). A line belongs to the range its first byte falls in: a range skips the line
it starts inside of and finishes its own last line past its end, so the ranges cover every line exactly
once. Athena quotes every value; Tern's statements never put a raw newline in one (JSON cells escape
theirs, contact ids are not allowed one), so a newline always ends a line.
"""

from __future__ import annotations

import csv
import io

from tern.ports import ResultFiles

CHUNK_BYTES = 128 * 1024  # one Map item
_MORE = 64 * 1024  # read past a range's end in steps this long, to finish its last line


def byte_ranges(size: int, chunk: int = CHUNK_BYTES) -> list[dict[str, int]]:
    """The byte ranges [start, end) of a file of `size` bytes."""
    return [{"start": start, "end": min(start + chunk, size)} for start in range(0, size, chunk)]


def lines_in(files: ResultFiles, key: str, start: int, end: int) -> list[list[str]]:
    """The CSV records whose line begins in bytes [start, end) of the result (its header skipped)."""
    data = files.read(key, max(start - 1, 0), end)
    cut = data.find(b"\n")
    if cut < 0:
        return []  # no line begins here (at 0: the header alone)
    data = data[cut + 1 :]  # at 0: the header; else the end of the line the range starts inside of
    if not data:
        return []
    at = end
    while not data.endswith(b"\n"):
        more = files.read(key, at, at + _MORE)
        if not more:
            break  # the file's last line, without a newline
        newline = more.find(b"\n")
        data += more if newline < 0 else more[: newline + 1]
        at += len(more)
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def first_record(files: ResultFiles, key: str) -> list[str] | None:
    """The first record after the header, or None for an empty result."""
    found = lines_in(files, key, 0, min(files.size(key), _MORE))
    return found[0] if found else None
