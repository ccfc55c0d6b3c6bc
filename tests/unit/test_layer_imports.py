"""The Lambda layer never loads local-only or test-only packages (DESIGN: rules of the house)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "python" / "tern"
# numpy is not here: pyarrow (a layer dependency) imports it itself.
FORBIDDEN = ("duckdb", "moto", "pytest", "hypothesis", "pandas", "openpyxl", "tern_local")


def test_layer_modules_import_nothing_local_only() -> None:
    modules = sorted(
        "tern." + ".".join(p.relative_to(LAYER).with_suffix("").parts).removesuffix(".__init__")
        for p in LAYER.rglob("*.py")
        if p.name != "duckdb.py"  # the embedded engine: built only by local code
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m.removesuffix('.'))\n"
        f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
