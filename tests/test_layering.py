"""The package's layering, read from the code's own imports (function-level ones included).

Imports only go downward: the app and the CLI above the assistant, the assistant above
answering, answering above the index, the index above ingestion, and the records
(documents, errors, text, files, paths, cores) at the bottom. Evaluation sits above the
assistant it measures, and training above evaluation. No module imports itself back
through others.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "egov_qa"
RECORDS = {"documents", "errors", "text", "files", "paths", "cores"}
LAYERS = {
    "records": 0,
    "ingest": 1,
    "index": 2,
    "answer": 3,
    "assistant": 4,
    "evaluation": 5,
    "training": 6,
    "app": 7,
    "cli": 7,
}
# Only here may the heavy training libraries be imported.
TRAINING_ONLY = ("sklearn", "scipy")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module of the package that ``path`` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("egov_qa"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("egov_qa")}
    return found


def third_party(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "facade"  # egov_qa itself re-exports the records and the assistant
    return "records" if parts[1] in RECORDS else parts[1]


FILES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
MODULES = set(FILES)
GRAPH = {name: {m for m in imports(path) if m in MODULES and m != name} for name, path in FILES.items()}


def test_every_module_has_a_layer():
    unknown = {m for m in MODULES if layer_of(m) not in LAYERS and layer_of(m) != "facade"}
    assert not unknown, f"modules outside every layer: {sorted(unknown)}"


def test_there_are_at_least_five_subpackages():
    assert len({p.parent for p in PACKAGE.rglob("__init__.py")} - {PACKAGE}) >= 5


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) != "facade"))
def test_imports_go_only_downward(module):
    mine = LAYERS[layer_of(module)]
    upward = sorted(
        target
        for target in GRAPH[module]
        if (layer_of(target) != "facade" and LAYERS[layer_of(target)] > mine)
        or (layer_of(target) == "facade" and mine < LAYERS["assistant"])
    )
    assert not upward, f"{module} imports from above its layer: {upward}"


def test_the_cli_and_the_app_share_only_the_render_module():
    assert not {t for m in MODULES if layer_of(m) == "app" for t in GRAPH[m] if layer_of(t) == "cli"}
    from_app = {t for t in GRAPH["egov_qa.cli"] if layer_of(t) == "app"}
    assert from_app <= {"egov_qa.app.render"}, f"the CLI imports the app beyond its render module: {from_app}"


def test_no_import_cycles():
    """Tarjan's strongly connected components over the import graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_check_finds_a_cycle():
    # The check itself must be able to fail: a graph with a cycle is reported.
    saved = dict(GRAPH)
    try:
        GRAPH["egov_qa.documents"] = {"egov_qa.errors"}
        GRAPH["egov_qa.errors"] = {"egov_qa.documents"}
        with pytest.raises(AssertionError, match="import cycles"):
            test_no_import_cycles()
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) != "training"))
def test_training_libraries_stay_in_training(module):
    assert not third_party(FILES[module]) & set(TRAINING_ONLY), f"{module} imports a training library"
