"""The shape DESIGN.md agreed on: packages, their stated boundaries, the dependency direction."""

import ast
import importlib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "platform",
    "metadata",
    "runtime",
    "designer",
    "routes_editor",
    "report_generator",
    "seed_configs",
]


def test_imports_follow_the_dependency_direction(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(no_cache=True, no_logo=True) == 0


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_says_what_it_owns_and_may_import(package):
    module = importlib.import_module(f"potok.{package}")
    doc = module.__doc__ or ""
    assert len(doc.split()) > 20, f"potok/{package}/__init__.py needs its paragraph"
    assert "May import" in doc


def test_there_is_no_top_level_platform_package():
    assert not (ROOT / "platform").exists()
    assert (ROOT / "potok" / "platform" / "__init__.py").exists()


def _reads_environment(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute) and child.attr in {"environ", "getenv"}:
            return True
    return False


def test_nothing_reads_the_environment_at_import_time():
    """Module-level code never looks at os.environ; settings are read when a command runs."""
    offenders = []
    for path in (ROOT / "potok").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if _reads_environment(node):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
