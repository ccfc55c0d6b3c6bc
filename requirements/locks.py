"""What was tested is what installs: checks an environment against its lock, and says what a re-lock changed.

    python requirements/locks.py check LOCK [--path SITE_PACKAGES] [--platform linux_aarch64 --python 3.11] [--ignore NAME...]
    python requirements/locks.py diff OLD NEW [OLD NEW ...]

(pip itself is the venv's seed, from the interpreter's ensurepip, not from an index: the Makefile lets it be.)

`check` fails (exit 1, one line on stderr per package) when an installed distribution is not in the lock, is at
another version, or a locked one is missing. With --path it reads a folder of unpacked wheels (the Lambda
layer) instead of the running interpreter's environment, and --platform / --python say which environment
the lock's markers are evaluated for. It needs `packaging` (every environment here has it; pip vendors it).
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


def pins(lock: Path, environment: dict[str, str] | None = None) -> dict[str, str]:
    """The lock's pins that apply to this environment (markers evaluated), by canonical name."""
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if not match:
            continue
        if match["marker"] and not Marker(match["marker"]).evaluate(environment or {}):
            continue
        found[canonicalize_name(match["name"])] = match["version"]
    return found


def installed(path: str | None) -> dict[str, str]:
    distributions = importlib.metadata.distributions(path=[path]) if path else importlib.metadata.distributions()
    return {canonicalize_name(d.metadata["Name"]): d.version for d in distributions}


def check(args: argparse.Namespace) -> int:
    environment = None
    if args.platform:
        machine = args.platform.split("_", 1)[1]
        environment = {
            "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": machine,
            "python_version": args.python, "python_full_version": f"{args.python}.0", "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
        }  # fmt: skip
    locked = pins(Path(args.lock), environment)
    present = installed(args.path)
    ignored = {canonicalize_name(n) for n in args.ignore}
    problems = []
    for name, version in sorted(present.items()):
        if name in ignored:
            continue
        if name not in locked:
            problems.append(f"{name} {version} is installed but not in {args.lock}")
        elif locked[name] != version:
            problems.append(f"{name} {version} is installed but {args.lock} locks {locked[name]}")
    problems += [f"{name} {version} is locked in {args.lock} but not installed" for name, version in sorted(locked.items()) if name not in present and name not in ignored]
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
    one.add_argument("--path", help="a folder of unpacked distributions (default: this interpreter's environment)")
    one.add_argument("--platform", help="evaluate markers for this platform, e.g. linux_aarch64")
    one.add_argument("--python", default="3.11")
    one.add_argument("--ignore", nargs="*", default=[], help="distributions allowed beside the lock (the project itself)")
    one.set_defaults(run=check)
    two = commands.add_parser("diff")
    two.add_argument("files", nargs="+")
    two.set_defaults(run=diff)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
