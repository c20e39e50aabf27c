"""The package's layout rules: no import cycles, and the load client stays light."""

import ast
from pathlib import Path

import probe_demo

PACKAGE = Path(probe_demo.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each probe_demo module -> the probe_demo modules it imports (at any depth of code)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("probe_demo"):
                deps.add(node.module)
                deps |= {f"{node.module}.{a.name}" for a in node.names
                         if f"{node.module}.{a.name}" in modules}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("probe_demo")}
        found[name] = (deps & set(modules)) - {name}
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += graph.get(module, ())
    return seen


def test_no_module_imports_one_that_imports_it_back():
    graph = imports()
    cycles = sorted(name for name in graph if name in reachable(graph, name))
    assert cycles == []


# The three programs live in their own folders; what they share sits at the top.
PROGRAMS = ("probe_demo.server", "probe_demo.client", "probe_demo.check")
# Each program's prefix -> the programs it may import (the check drives the load client).
ALLOWED = {"probe_demo.server": set(), "probe_demo.client": set(),
           "probe_demo.check": {"probe_demo.client"}}


def program_of(module: str) -> str | None:
    return next((p for p in PROGRAMS if module == p or module.startswith(p + ".")), None)


def test_each_module_belongs_to_a_program_or_is_shared():
    shared = sorted(m for m in imports() if program_of(m) is None)
    assert shared == ["probe_demo", "probe_demo.__main__", "probe_demo.cli",
                      "probe_demo.date_fields", "probe_demo.parsing", "probe_demo.protocol",
                      "probe_demo.timeline"]


def test_a_program_imports_only_the_programs_it_is_allowed_to():
    crossings = set()
    for module, deps in imports().items():
        own = program_of(module)
        for dep in deps:
            other = program_of(dep)
            if own and other and other != own and other not in ALLOWED[own]:
                crossings.add(f"{module} imports {dep}")
    assert sorted(crossings) == []


def test_shared_modules_import_no_program():
    """cli is the one shared module that starts the programs (each lazily)."""
    graph = imports()
    for module in ("probe_demo.date_fields", "probe_demo.parsing", "probe_demo.protocol",
                   "probe_demo.timeline"):
        assert not {program_of(dep) for dep in graph[module]} - {None}, module


def test_the_rule_sees_a_crossing():
    """The graph reads real imports: the check does import the client, lazily or not."""
    graph = imports()
    assert "probe_demo.client.load" in reachable(graph, "probe_demo.check.run")
    assert "probe_demo.server.process" in graph["probe_demo.cli"]
