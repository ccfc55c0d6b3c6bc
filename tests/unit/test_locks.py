"""What was tested is what installs: every environment from a committed lock with hashes, checked after install."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCKS = [
    ROOT / "requirements" / "dev.txt",
    ROOT / "requirements" / "sam.txt",
    ROOT / "requirements" / "uv.txt",
    ROOT / "layers" / "common" / "requirements.lock",
]
SCRIPT = ROOT / "requirements" / "locks.py"


def _locks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_every_pin_of_every_lock_carries_its_hashes() -> None:
    for lock in LOCKS:
        text = lock.read_text()
        pins = re.findall(
            r"^([A-Za-z0-9][A-Za-z0-9._-]*)==\S+(?: ; [^\\\n]+)? \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M
        )
        names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", text, re.M)
        assert names and len(pins) == len(names), f"{lock.relative_to(ROOT)}: a pin without hashes"
        assert not re.search(r"^[A-Za-z0-9][^=\s]*(>=|<=|~=|>|<)", text, re.M), f"{lock.relative_to(ROOT)}: a range, not a pin"


def test_every_install_in_the_makefiles_refuses_what_is_not_locked() -> None:
    makefile = (ROOT / "Makefile").read_text() + (ROOT / "layers" / "common" / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if re.search(r"pip (install|sync)", line) and "$(LATEST)" not in line]
    for line in installs:
        assert "--require-hashes" in line or "--no-deps --no-build-isolation -e ." in line or "\\" in line, line
    assert "$(UV) pip sync --quiet --python $(BIN)/python --require-hashes requirements/dev.txt" in makefile
    assert "locks.py check requirements/dev.txt" in makefile and "locks.py check requirements/sam.txt" in makefile


def test_this_environment_is_the_dev_lock() -> None:
    done = _locks("check", str(LOCKS[0]), "--ignore", "tern", "pip")
    assert done.returncode == 0, done.stderr


def test_the_check_names_a_package_not_locked_and_one_at_another_version(tmp_path: Path) -> None:
    lines = LOCKS[0].read_text().splitlines()
    text = "\n".join(lines)
    text = re.sub(r"^pytest==\S+", "pytest==0.0.1", text, flags=re.M)  # another version
    text = re.sub(r"^six==\S+ \\\n(    --hash=\S+( \\)?\n)+", "", text + "\n", flags=re.M)  # not locked at all
    lock = tmp_path / "dev.txt"
    lock.write_text(text)
    done = _locks("check", str(lock), "--ignore", "tern", "pip")
    assert done.returncode == 1
    problems = done.stderr.splitlines()
    assert any(p.startswith("lock check: pytest ") and "locks 0.0.1" in p for p in problems), problems
    assert any(p.startswith("lock check: six ") and "not in" in p for p in problems), problems
    assert len(problems) == 2, problems


def test_the_diff_says_what_moved(tmp_path: Path) -> None:
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("boto3==1.44.13 \\\n    --hash=sha256:00\nsix==1.16.0 \\\n    --hash=sha256:00\n")
    new.write_text("boto3==1.44.18 \\\n    --hash=sha256:00\nuv==0.13.9 \\\n    --hash=sha256:00\n")
    done = _locks("diff", str(old), str(new))
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        f"{new}: 3 change(s)",
        "  boto3: 1.44.13 -> 1.44.18",
        "  uv: new at 0.13.9",
        "  six: removed (was 1.16.0)",
    ]
