"""What was tested is what installs: checks an environment against its lock, and says what a re-lock changed.

    python requirements/locks.py check LOCK [--ignore NAME...]
    python requirements/locks.py diff OLD NEW [OLD NEW ...]

(pip itself is the venv's seed, from the interpreter's ensurepip, not from an index: the Makefile lets it be.)

`check` fails (exit 1, one line on stderr per package) when an installed distribution is not in the lock, is at
another version, or a locked one is missing, in the environment of the interpreter running it (the lock's markers
evaluated for it). It needs `packaging` (every environment here has it; pip vendors it). The Lambda layer, a
folder of wheels for another platform, has its own check (layers/common/check_lock.py: no markers there).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
from pathlib import Path

try:
    from packaging.markers import Marker
    from packaging.utils import canonicalize_name
except ImportError:  # a bare interpreter (the layer's build): pip carries its own copy
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$")


def pins(lock: Path) -> dict[str, str]:
    """The lock's pins that apply to this environment (markers evaluated), by canonical name."""
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if not match:
            continue
        if match["marker"] and not Marker(match["marker"]).evaluate():
            continue
        found[canonicalize_name(match["name"])] = match["version"]
    return found


def installed() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def check(args: argparse.Namespace) -> int:
    locked = pins(Path(args.lock))
    present = installed()
    ignored = {canonicalize_name(n) for n in args.ignore}
    problems = []
    for name, version in sorted(present.items()):
        if name in ignored:
            continue
        if name not in locked:
            problems.append(f"{name} {version} is installed but not in {args.lock}")
        elif locked[name] != version:
            problems.append(f"{name} {version} is installed but {args.lock} locks {locked[name]}")
    problems += [
        f"{name} {version} is locked in {args.lock} but not installed"
        for name, version in sorted(locked.items())
        if name not in present and name not in ignored
    ]
    for problem in problems:
        print(f"lock check: {problem}", file=sys.stderr)
    return 1 if problems else 0


def diff(args: argparse.Namespace) -> int:
    """What moved between two versions of each lock: added, removed, and every version change."""
    files = args.files
    if len(files) % 2:
        print("diff: give OLD NEW pairs", file=sys.stderr)
        return 2
    for old, new in zip(files[::2], files[1::2], strict=True):
        before = pins(Path(old)) if Path(old).is_file() else {}
        after = pins(Path(new))
        changes = [f"  {n}: {before[n]} -> {after[n]}" for n in sorted(after) if n in before and before[n] != after[n]]
        changes += [f"  {n}: new at {after[n]}" for n in sorted(after) if n not in before]
        changes += [f"  {n}: removed (was {before[n]})" for n in sorted(before) if n not in after]
        print(f"{new}: " + ("unchanged" if not changes else f"{len(changes)} change(s)"))
        print("\n".join(changes)) if changes else None
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="locks.py")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("check")
    one.add_argument("lock")
    one.add_argument("--ignore", nargs="*", default=[], help="distributions allowed beside the lock (the project itself)")
    one.set_defaults(run=check)
    two = commands.add_parser("diff")
    two.add_argument("files", nargs="+")
    two.set_defaults(run=diff)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
