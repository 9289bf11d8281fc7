"""The code's layout: no import circles, and the product apps lean on crm/ (agents, outbox, spark), not on each other.

Every module is parsed (not imported) and every import counts, the ones inside functions included: the one
accepted lazy import is a function importing a `tasks` module to queue a task.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crm", "contacts_app", "newsfeeds_app", "sharing_app", "sparksim")
PRODUCT_APPS = ("contacts_app", "newsfeeds_app", "sharing_app")
# What the other product apps may use of contacts_app: the contact itself and its reads (a news feed and a shared
# link are sent to contacts), never its infrastructure.
CONTACT_DOMAIN = ("contacts_app.models", "contacts_app.selectors")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module of ours that `name` (a module, or a name inside one) is, if any."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_task_queueing(node: ast.ImportFrom | ast.Import) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[-1] == "tasks" or [a.name for a in node.names] == ["tasks"]
    return all(a.name.split(".")[-1] == "tasks" for a in node.names)


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(module imported, inside a function) for every import of one of our modules."""
    tree = ast.parse(path.read_text(), filename=str(path))
    in_function = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                   for n in ast.walk(f) if isinstance(n, ast.Import | ast.ImportFrom)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package
                for _ in range(node.level - 1):
                    parent = parent.rpartition(".")[0]
                base = f"{parent}.{base}" if base else parent
            # `from pkg import module` imports the module; `from module import name`, the module.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        lazy = id(node) in in_function
        if lazy and _is_task_queueing(node):
            continue
        for target in targets:
            module = _resolve(target)
            if module and module != name:
                found.append((module, lazy))
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w, _lazy in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return circles


def _app(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "crm" and len(parts) > 1 else parts[0]


def test_the_graph_sees_every_kind_of_import():
    # A check of the checker: relative, lazy and package imports are all seen.
    assert ("crm.outbox.models", False) in GRAPH["crm.outbox.worker"]
    assert ("crm.agents.models", False) in GRAPH["crm.agents.guards"]
    assert any(module == "crm.outbox.registry" and lazy for module, lazy in GRAPH["contacts_app.apps"])
    assert len(MODULES) > 80


def test_no_module_imports_itself_back_through_others():
    # sparksim (the simulator, outside the product) is checked only for standing alone, below.
    assert [circle for circle in _cycles() if not circle[0].startswith("sparksim")] == []


def test_product_apps_never_import_each_other_for_infrastructure():
    wrong = []
    for module, imports in GRAPH.items():
        app = _app(module)
        for target, _lazy in imports:
            other = _app(target)
            if app == other or other not in PRODUCT_APPS:
                continue
            if app.startswith("crm") or app == "sparksim":
                wrong.append(f"{module} -> {target} (crm/ and sparksim import no product app)")
            elif app == "contacts_app":
                wrong.append(f"{module} -> {target} (contacts_app imports no other product app)")
            elif target not in CONTACT_DOMAIN:
                wrong.append(f"{module} -> {target} (only the contact and its reads: {CONTACT_DOMAIN})")
    assert wrong == []


def test_the_rooms_depend_downwards_only():
    # spark <- agents <- outbox <- the product apps: never the other way round.
    allowed = {"crm.spark": set(), "crm.agents": {"crm.spark"}, "crm.outbox": {"crm.spark", "crm.agents"}}
    wrong = [f"{module} -> {target}" for module, imports in GRAPH.items() if _app(module) in allowed
             for target, _lazy in imports
             if _app(target).startswith("crm.") and _app(target) != _app(module)
             and _app(target) in allowed and _app(target) not in allowed[_app(module)]]
    assert wrong == []


def test_sparksim_stands_alone():
    assert [f"{m} -> {t}" for m, imports in GRAPH.items() if m.startswith("sparksim")
            for t, _lazy in imports if not t.startswith("sparksim")] == []
