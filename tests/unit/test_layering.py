"""The house rules as tests: the import contract (import-linter, pyproject.toml), thin function adapters,
and no imports hidden inside functions (docs/DESIGN.md "Layout")."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common" / "python" / "tern"
FUNCTIONS = sorted((ROOT / "functions").glob("*/app.py"))
# Imports inside a function, each with the reason it is there (docs/DESIGN.md lists them too).
LATE_IMPORTS = {
    ("exports/files.py", "phonenumbers"): "loaded only by the export that meets a phone number not in E.164",
    ("exports/files.py", "xlsxwriter"): "loaded only by an XLSX export",
    ("engines/duckdb.py", "pyarrow"): "loaded only by an export's batches: the preview function runs DuckDB and has no pyarrow",
    ("engines/quick.py", "tern"): "DuckDB's engine, loaded only in the preview function: the api function's layers have no DuckDB",
    ("runtime.py", "tern"): "each part of the world loaded by the functions that use it: the preview function has no pyarrow",
}


def test_the_import_contract_is_kept() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_code_is_as_the_formatter_leaves_it_and_lints_clean() -> None:
    """ruff format and ruff check, as `make lint` runs them: a change that skips the formatter fails `make test` too."""
    ruff = str(Path(sys.executable).parent / "ruff")
    folders = ["layers", "local", "tests", "bench", "functions", "requirements", "security"]
    for command in ([ruff, "format", "--check", *folders], [ruff, "check", *folders]):
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("app", FUNCTIONS, ids=[p.parent.name for p in FUNCTIONS])
def test_a_function_is_a_decorator_stack_and_one_call(app: Path) -> None:
    text = app.read_text()
    tree = ast.parse(text)
    assert len(text.splitlines()) <= 25
    assert not {"boto3", "botocore"} & _imports(tree)
    handler = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler")
    assert handler.decorator_list and len(handler.body) == 1 and isinstance(handler.body[0], ast.Return)


def test_no_imports_inside_functions_but_the_documented_ones() -> None:
    late = set()
    for path in LAYER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for module in _imports(ast.Module(body=node.body, type_ignores=[])):
                    late.add((path.relative_to(LAYER).as_posix(), module))
    assert late == set(LATE_IMPORTS)


def test_the_composition_root_leaves_powertools_to_the_function() -> None:
    """tern.observability's Logger reads POWERTOOLS_* when made: only a function's import may make it, after its
    environment is set (the local stack imports tern.services before it sets each function's environment)."""
    code = "import sys, tern.services, tern_local.runtime; print('tern.observability' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
