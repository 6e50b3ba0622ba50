"""The shape of btb/ (docs/architecture.md): no import circle, no import up the layer order, the Celery
app imported by the workflow and the CLI only, and no module over 400 lines nor function over 60.

The import graph comes from the source (stdlib `ast`), not from importing btb: every `import` and
`from … import` anywhere in a module counts, at module level, inside functions and under
`if TYPE_CHECKING:` alike, because a function-level import hides a circle without removing it.
Modules named only as strings for `importlib.import_module` (the scenario and engine registries) are
not seen. Each check is also run on a small package built to break it, so none can pass by never failing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom. A module belongs to the layer of the longest name that is it or a package above it;
# it may import its own layer and the layers below, never one above.
LAYERS = [
    ["btb.cli"],
    ["btb.workflow"],
    ["btb.campaign", "btb.campaign_load", "btb.results", "btb.trials", "btb.validate", "btb.doctor", "btb.workload",
     "btb.planning"],
    ["btb.infra", "btb.monitor"],
    ["btb.engines", "btb.routing"],
    ["btb.dataset", "btb.envinfo"],
    ["btb.cgroups", "btb.units", "btb.config", "btb.redisconn", "btb"],
]
APP = "btb.workflow.app"
APP_IMPORTERS = ("btb.workflow", "btb.cli")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Import circles still there, each with why it is allowed for now.
CYCLES_ALLOWED: dict[frozenset, str] = {}
MODULES_ALLOWED: dict[str, str] = {}
FUNCTIONS_ALLOWED: dict[str, str] = {}


# --- the checker -------------------------------------------------------------------------------------
def modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name → file, for every .py of the package (a package is its __init__.py)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module → the package's modules it imports. `from p import x` is module p.x when that is a
    module, else p itself; relative imports are resolved against the importing module's package."""
    mods = modules(root, package)

    def existing(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {existing(a.name) for a in node.names if a.name.split(".")[0] == package}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                if base.split(".")[0] == package:
                    found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in mods else existing(base)
                              for a in node.names}
        graph[name] = {m for m in found if m is not None and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of modules, as a path that comes back to its start."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; btb's depth is small
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = {stack.pop()}
            while v not in group:
                group.add(stack.pop())
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_path_in(graph, g) for g in groups]


def _path_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = {start: [start]}
    todo = [start]
    while todo:  # breadth first, inside the group, back to start
        v = todo.pop(0)
        for w in sorted(graph[v] & group):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                todo.append(w)
    raise AssertionError(f"no circle through {start}")  # a strongly connected group always has one


def layer_of(module: str, layers: list[list[str]], package: str) -> int | None:
    best = max(((len(n), i) for i, names in enumerate(layers) for n in names
                if module == n or (n != package and module.startswith(n + "."))), default=None)
    return None if best is None else best[1]


def layer_violations(graph: dict[str, set[str]], layers: list[list[str]], package: str) -> list[str]:
    out = []
    for a in sorted(graph):
        la = layer_of(a, layers, package)
        if la is None:
            out.append(f"{a} is in no layer: add it to LAYERS")
            continue
        for b in sorted(graph[a]):
            lb = layer_of(b, layers, package)
            if lb is not None and lb < la:
                out.append(f"{a} (layer {la}) imports {b} (layer {lb}, higher)")
    return out


def app_violations(graph: dict[str, set[str]], app: str, allowed: tuple[str, ...]) -> list[str]:
    return [f"{a} imports {app}" for a in sorted(graph) if app in graph[a]
            and not any(a == p or a.startswith(p + ".") for p in allowed)]


def size_violations(root: Path, package: str, allowed_modules: dict[str, str],
                    allowed_functions: dict[str, str]) -> list[str]:
    """Modules over MAX_MODULE_LINES and functions over MAX_FUNCTION_LINES (def line to last line)
    not allowed; and allowed ones that are within the limit now (take them off the list)."""
    out = []
    seen_modules, seen_functions = set(), set()
    for path in modules(root, package).values():
        rel = path.relative_to(root).as_posix()
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            seen_modules.add(rel)
            if rel not in allowed_modules:
                out.append(f"{rel}: {len(text.splitlines())} lines (at most {MAX_MODULE_LINES})")
        for qual, n in _functions(ast.parse(text)):
            if n > MAX_FUNCTION_LINES:
                seen_functions.add(f"{rel}:{qual}")
                if f"{rel}:{qual}" not in allowed_functions:
                    out.append(f"{rel}:{qual}: {n} lines (at most {MAX_FUNCTION_LINES})")
    out += [f"{k}: within the limit now, take it off the allow-list" for k in sorted(
        set(allowed_modules) - seen_modules | set(allowed_functions) - seen_functions)]
    return out


def _functions(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qual = prefix + node.name
            if not isinstance(node, ast.ClassDef):
                yield qual, node.end_lineno - node.lineno + 1
            yield from _functions(node, qual + ".")
        else:
            yield from _functions(node, prefix)


# --- btb itself ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT, "btb")


def test_no_import_cycle(graph):
    found = [c for c in cycles(graph) if frozenset(c) not in CYCLES_ALLOWED]
    stale = [sorted(k) for k in CYCLES_ALLOWED if k not in {frozenset(c) for c in cycles(graph)}]
    assert not found, "import cycles: " + "; ".join(" → ".join(c) for c in found)
    assert not stale, f"allowed cycles that are gone, take them off CYCLES_ALLOWED: {stale}"


def test_no_import_up_the_layers(graph):
    assert not (bad := layer_violations(graph, LAYERS, "btb")), "\n".join(bad)


def test_only_workflow_and_cli_import_the_celery_app(graph):
    assert not (bad := app_violations(graph, APP, APP_IMPORTERS)), "\n".join(bad)


def test_modules_and_functions_are_small():
    assert not (bad := size_violations(ROOT, "btb", MODULES_ALLOWED, FUNCTIONS_ALLOWED)), "\n".join(bad)


# --- the checker fails where it should ---------------------------------------------------------------
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in {"pkg/__init__.py": "", **files}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_relative_and_function_level_imports_are_resolved(tmp_path):
    root = _package(tmp_path, {"pkg/sub/__init__.py": "from . import m\n", "pkg/sub/m.py": "from .. import top\n",
                               "pkg/top.py": "def f():\n    from pkg.sub.m import x\n    import pkg.sub\n",
                               "pkg/other.py": "from .sub import m as n\nimport os\n"})
    assert import_graph(root, "pkg") == {"pkg": set(), "pkg.sub": {"pkg.sub.m"}, "pkg.sub.m": {"pkg.top"},
                                         "pkg.top": {"pkg.sub.m", "pkg.sub"}, "pkg.other": {"pkg.sub.m"}}


def test_a_cycle_is_found_and_named(tmp_path):
    root = _package(tmp_path, {"pkg/a.py": "import pkg.b\n", "pkg/c.py": "import pkg.a\n",
                               "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                           "    from pkg.c import C\n"})
    assert cycles(import_graph(root, "pkg")) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    (tmp_path / "pkg/b.py").write_text("X = 1\n")
    assert cycles(import_graph(root, "pkg")) == []


def test_an_import_up_the_layers_is_found(tmp_path):
    root = _package(tmp_path, {"pkg/high/x.py": "from pkg.low import y\n", "pkg/low/y.py": "X = 1\n",
                               "pkg/low/__init__.py": "", "pkg/high/__init__.py": "", "pkg/new.py": ""})
    layers = [["pkg.high"], ["pkg.low", "pkg"]]
    graph = import_graph(root, "pkg")
    assert layer_violations(graph, layers, "pkg") == ["pkg.new is in no layer: add it to LAYERS"]
    (tmp_path / "pkg/low/y.py").write_text("def f():\n    from pkg.high.x import g\n")
    assert layer_violations(import_graph(root, "pkg"), layers + [["pkg.new"]], "pkg") == [
        "pkg.low.y (layer 1) imports pkg.high.x (layer 0, higher)"]


def test_the_app_imported_from_library_code_is_found(tmp_path):
    root = _package(tmp_path, {"pkg/workflow/__init__.py": "", "pkg/workflow/app.py": "app = 1\n",
                               "pkg/workflow/tasks.py": "from pkg.workflow.app import app\n",
                               "pkg/cli.py": "from pkg.workflow import app\n",
                               "pkg/infra/stack.py": "def wait():\n    from pkg.workflow.app import app\n"})
    assert app_violations(import_graph(root, "pkg"), "pkg.workflow.app", ("pkg.workflow", "pkg.cli")) == [
        "pkg.infra.stack imports pkg.workflow.app"]


def test_long_modules_and_functions_are_found_unless_allowed(tmp_path):
    long_fn = "def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES
    root = _package(tmp_path, {"pkg/big.py": "x = 1\n" * (MAX_MODULE_LINES + 1),
                               "pkg/fn.py": f"class K:\n    {long_fn.replace(chr(10), chr(10) + '    ')}\n",
                               "pkg/ok.py": "def g():\n" + "    x = 1\n" * (MAX_FUNCTION_LINES - 1)})
    assert size_violations(root, "pkg", {}, {}) == [f"pkg/big.py: {MAX_MODULE_LINES + 1} lines (at most 400)",
                                                    f"pkg/fn.py:K.f: {MAX_FUNCTION_LINES + 1} lines (at most 60)"]
    assert size_violations(root, "pkg", {"pkg/big.py": "why"}, {"pkg/fn.py:K.f": "why", "pkg/ok.py:g": "why"}) == [
        "pkg/ok.py:g: within the limit now, take it off the allow-list"]
