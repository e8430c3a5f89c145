"""Architecture rules on imports: no package has an import cycle among its modules, and core imports at the top."""
from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "mail", "widget", "tui", "threadline")


def _cycles(package: str) -> list[list[str]]:
    """One import chain back to the start for every module that is part of a cycle."""
    graph = grimp.build_graph(package, include_external_packages=False)
    found = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                found.append([module, *chain])
                break
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package):
    cycles = _cycles(package)
    assert cycles == [], f"{package} has import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _imports_inside_functions(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines += [inner.lineno for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))]
    return sorted(set(lines))


def test_core_imports_nothing_inside_a_function():
    found = {str(path.relative_to(ROOT)): lines for path in sorted((ROOT / "core").rglob("*.py"))
             if (lines := _imports_inside_functions(path))}
    assert found == {}, f"imports inside functions (move them to the top; a cycle they dodge is a design bug): {found}"


def test_the_checks_can_fail(tmp_path, monkeypatch):
    """A function-level import and a two-module cycle are both found (so the tests above are not vacuous)."""
    package = tmp_path / "cyclic_sample"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cyclic_sample import b\n")
    (package / "b.py").write_text("def f():\n    from cyclic_sample import a\n    return a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _imports_inside_functions(package / "b.py") == [2]
    assert _cycles("cyclic_sample")
