"""The local lake bucket: moto's S3 answers for the lake folder.

On a laptop the lake is a folder: the data generator writes it, the local Athena reads it, manifests, lists, the
overlay and events land in it. The preview function reads the lake the way it does in the cloud, through S3's API
(ListObjectsV2, then GetObject), so the lake bucket in moto's S3 presents the folder: before moto lists the lake
bucket, the folder's files under the listed prefix are put into the bucket (those new or changed since, by size and
modification time) and the objects whose file is gone are deleted. What the function then reads crosses moto's
S3 wire as it would cross S3's, with S3's ETags and sizes.

Only listing brings the bucket in step: a GetObject of a key never listed finds nothing, as a reader that did not
list first would not know the key in the cloud either. Hidden files and folders (`.scratch`, `.partial`) are not
presented.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Any

_FOLDERS: dict[str, Path] = {}  # bucket name -> the folder it presents
_PUT: dict[tuple[str, str], tuple[int, int]] = {}  # (bucket, key) -> (size, mtime_ns) of the file put
_LOCK = threading.Lock()


def present_folder(bucket: str, folder: Path) -> None:
    """From now on, listing `bucket` in moto's S3 lists `folder` (the local stack's lake)."""
    _install()
    with _LOCK:
        _FOLDERS[bucket] = folder
        for key in [k for k in _PUT if k[0] == bucket]:
            del _PUT[key]


def _files(folder: Path, prefix: str) -> dict[str, tuple[Path, int, int]]:
    """key -> (path, size, mtime_ns) of the folder's files under `prefix` (hidden ones left out)."""
    base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    found: dict[str, tuple[Path, int, int]] = {}
    for root, folders, names in os.walk(folder / base):
        folders[:] = [f for f in folders if not f.startswith(".")]
        for name in names:
            if name.startswith(".") or name.endswith(".partial"):
                continue
            path = Path(root) / name
            key = path.relative_to(folder).as_posix()
            if key.startswith(prefix):
                stat = path.stat()
                found[key] = (path, stat.st_size, stat.st_mtime_ns)
    return found


def _bring_in_step(backend: Any, bucket: Any, prefix: str | None) -> None:
    folder = _FOLDERS.get(bucket.name)
    if folder is None:
        return
    prefix = prefix or ""
    with _LOCK:
        files = _files(folder, prefix)
        for key, (path, size, mtime) in files.items():
            if _PUT.get((bucket.name, key)) != (size, mtime):
                backend.put_object(bucket.name, key, path.read_bytes(), disable_notification=True)
                _PUT[(bucket.name, key)] = (size, mtime)
        for key in [k for k in list(bucket.keys) if k.startswith(prefix) and k not in files and (bucket.name, k) in _PUT]:
            backend.delete_object(bucket.name, key)
            del _PUT[(bucket.name, key)]


def _install() -> None:
    from moto.s3.models import S3Backend

    for name in ("list_objects", "list_objects_v2"):
        original = getattr(S3Backend, name)
        if getattr(original, "__presents_folders__", False):
            continue

        @functools.wraps(original)
        def listing(self: Any, bucket: Any, prefix: str | None, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            _bring_in_step(self, bucket, prefix)
            return __original(self, bucket, prefix, *args, **kwargs)

        listing.__presents_folders__ = True  # type: ignore[attr-defined]
        setattr(S3Backend, name, listing)
