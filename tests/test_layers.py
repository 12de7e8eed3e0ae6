"""The layers run one way: model -> agents, and neither reaches up into viz or analysis.

Imports are read with ``ast`` from every module's source, including imports inside functions
and ``if TYPE_CHECKING`` blocks, so a lazy import cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "agents": {"model", "viz", "analysis", "cli"},
    "model": {"viz", "analysis", "cli"},
}


def imported_packages(path: Path) -> set[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def violations(layer: str) -> list[str]:
    out = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for line, top in imported_packages(path):
            if top in FORBIDDEN[layer]:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    return out


def test_agents_import_neither_model_nor_the_layers_above():
    assert violations("agents") == []


def test_model_imports_neither_viz_nor_analysis():
    assert violations("model") == []


def test_the_walk_sees_lazy_imports(tmp_path):
    # The check must catch an import hidden inside a function, or it proves nothing.
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from model.config import RunConfig\n    import viz.app\n")
    assert {top for _, top in imported_packages(source)} == {"model", "viz"}
