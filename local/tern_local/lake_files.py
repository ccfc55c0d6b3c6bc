"""The lake as a folder: where the local stack writes manifests and lists, for DuckDB to read."""

from __future__ import annotations

import os
from pathlib import Path

from tern.errors import StoreError


class DirLakeFiles:
    def __init__(self, root: Path):
        self.root = root

    def put(self, key: str, body: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(body)
        os.replace(partial, path)  # readers never see half a file

    def get(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except OSError as e:
            raise StoreError(f"reading {self.root / key}: {e.strerror}") from None
