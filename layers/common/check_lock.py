"""The layer holds exactly what its lock pins: every distribution in requirements.lock at its version, nothing else.

    python check_lock.py requirements.lock BUILD/python

Run by the Makefile after pip installs the lock (pip's hash-checking mode already refuses a file it cannot match to a
hash; this catches what hashes do not: a distribution left over or missing, one at another version). It reads each
*.dist-info's METADATA, prints one line per offending distribution on stderr and exits 1. Standard library only: it
runs under whatever Python 3.11 builds the layer.
"""

from __future__ import annotations

import re
import sys
from email.parser import HeaderParser
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def locked(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version` line (a lock compiled for one platform carries no markers)."""
    return {canonical(m[1]): m[2] for line in lock.read_text().splitlines() if (m := PIN.match(line))}


def installed(target: Path) -> tuple[dict[str, str], list[str]]:
    """name -> version of every distribution in `target`, and the problems found reading them."""
    found: dict[str, str] = {}
    problems = [f"{target / p.name} is an egg-info, which no locked wheel makes" for p in target.glob("*.egg-info")]
    for info in sorted(target.glob("*.dist-info")):
        metadata = info / "METADATA"
        if metadata.is_file():
            headers = HeaderParser().parsestr(metadata.read_text(encoding="utf-8", errors="replace"))
            name, version = headers.get("Name", ""), headers.get("Version", "")
        else:
            name, _, version = info.name.removesuffix(".dist-info").partition("-")
        if canonical(name) in found:
            problems.append(f"{canonical(name)} is installed twice ({found[canonical(name)]} and {version})")
        found[canonical(name)] = version
    return found, problems


def problems(lock: Path, target: Path) -> list[str]:
    pins = locked(lock)
    if not pins:
        return [f"{lock} pins nothing"]
    found, wrong = installed(target)
    for name, version in sorted(found.items()):
        if name not in pins:
            wrong.append(f"{name} {version} is in {target} but not in {lock}")
        elif version != pins[name]:
            wrong.append(f"{name} is {version} in {target} but {pins[name]} in {lock}")
    wrong += [f"{name} {pins[name]} is in {lock} but not in {target}" for name in sorted(pins.keys() - found.keys())]
    return wrong


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    found = problems(Path(argv[0]), Path(argv[1]))
    for problem in found:
        print(f"check_lock: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
