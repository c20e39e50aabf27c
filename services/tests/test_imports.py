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


def test_the_load_client_imports_no_server_module():
    graph = imports()
    client = reachable(graph, "probe_demo.client.load") | {"probe_demo.client.load"}
    server_side = {"probe_demo.app", "probe_demo.server", "probe_demo.variants",
                   "probe_demo.context", "probe_demo.config", "probe_demo.drain",
                   "probe_demo.http_connections", "probe_demo.grpc_health"}
    assert "probe_demo.client.grpc_load" in client
    assert not client & server_side, client & server_side


def test_the_server_never_imports_the_rollout_check():
    graph = imports()
    server = reachable(graph, "probe_demo.server") | reachable(graph, "probe_demo.app")
    assert not {m for m in server if m.startswith("probe_demo.rollout")}
