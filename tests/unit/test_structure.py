"""The import structure stays one-way: every module of app/ and agents/ is parsed with ast, placed in a layer,
and may import only its own layer or lower ones, with no import circle anywhere.

The layer order is written here once (README's folder table says the same in words). A new package must be
placed in a layer before its modules can pass.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("app", "agents", "prompts")

# Top to bottom. Patterns match a module or anything below it; the first layer that matches wins, so the entry
# points that live inside domain packages (their HTTP routers) are entry, not domain.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "entry",
        (
            "app.main",
            "app.webhooks",
            "app.worker",
            "app.cli",
            "app.deps",
            "app.models",
            "app.demo",
            "app.*.router",
            "app.metrics_router",
            "app.console",
        ),
    ),
    ("flows", ("app.flows",)),
    ("agents", ("agents",)),
    (
        "domains",
        (
            "app.tenants",
            "app.catalog",
            "app.knowledge",
            "app.finance",
            "app.concierge",
            "app.usage",
            "app.auth",
            "app.conversations",
            "app.notify",
            "app.leads",
            "app.operators",
            "app.messaging",
            "app.feedback",
            "app.alerts",
            "app.experiments",
        ),
    ),
    ("lower", ("app.channels", "app.llm", "app.text", "prompts")),
    ("core", ("app.core",)),
]
# Imports of our own modules inside functions: only where start-up time is measured to matter.
LAZY_OWN_IMPORTS_ALLOWED = ("app.cli",)


@dataclass(frozen=True)
class Import:
    """One import statement's target module, where it sits, and whether it is inside a function."""

    source: str
    target: str
    line: int
    in_function: bool
    has_reason: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in ("app", "agents", "prompts"):
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = all_modules()


def layer_of(module: str) -> int | None:
    for index, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if module == pattern or module.startswith(pattern + ".") or fnmatch.fnmatch(module, pattern):
                return index
            if "*" in pattern and fnmatch.fnmatch(module, pattern + ".*"):
                return index
    return None


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(source: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = source.split(".")
            if MODULES[source].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
    return [t for t in (_resolve(n) for n in names if n.split(".")[0] in OURS) if t and t != source]


def _walk(
    node: ast.AST, function_line: int, type_checking: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, int, bool]]:
    """Every import with the line of the function it sits in (0 at module level) and whether it is annotation-only."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, function_line, type_checking
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, child.lineno, type_checking)
        elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            yield from _walk(child, function_line, True)
        else:
            yield from _walk(child, function_line, type_checking)


def _has_reason(lines: list[str], line: int, function_line: int) -> bool:
    """A comment on the import's line or above it in the same function (one reason may cover a function)."""
    return "#" in lines[line - 1] or any(text.strip().startswith("#") for text in lines[function_line : line - 1])


def imports() -> list[Import]:
    found: list[Import] = []
    for source, path in MODULES.items():
        text = path.read_text()
        lines = text.splitlines()
        for node, function_line, type_checking in _walk(ast.parse(text), 0, False):
            if type_checking:
                continue  # annotations only: no import at run time
            in_function = function_line > 0
            reason = _has_reason(lines, node.lineno, function_line)
            for target in _targets(source, node):
                found.append(Import(source, target, node.lineno, in_function, reason))
            if in_function and not _targets(source, node):
                found.append(Import(source, "<third-party>", node.lineno, in_function, reason))
    return found


IMPORTS = imports()


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in MODULES if m not in OURS and layer_of(m) is None)
    assert unplaced == [], "place these modules in a layer (LAYERS here, the folder table in README)"


def upward_imports(found: list[Import]) -> list[str]:
    """The imports of a module from a layer above its own."""
    upward = []
    for imp in found:
        if imp.target == "<third-party>" or imp.source in OURS:
            continue
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is not None and target is not None and target < source:
            upward.append(f"{imp.source}:{imp.line} ({LAYERS[source][0]}) imports {imp.target} ({LAYERS[target][0]})")
    return upward


def import_edges(found: list[Import]) -> dict[str, set[str]]:
    """Module → the modules of ours it imports."""
    edges: dict[str, set[str]] = {}
    for imp in found:
        if imp.target != "<third-party>":
            edges.setdefault(imp.source, set()).add(imp.target)
    return edges


def lazy_own_imports(found: list[Import]) -> list[str]:
    """Imports of our own modules inside functions, outside LAZY_OWN_IMPORTS_ALLOWED."""
    return [
        f"{i.source}:{i.line} imports {i.target}"
        for i in found
        if i.in_function
        and i.target != "<third-party>"
        and not any(i.source == a or i.source.startswith(a + ".") for a in LAZY_OWN_IMPORTS_ALLOWED)
    ]


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert upward_imports(IMPORTS) == []


def test_there_is_no_import_circle() -> None:
    assert _cycles(import_edges(IMPORTS)) == []


def test_imports_inside_functions_are_rare_and_say_why() -> None:
    assert lazy_own_imports(IMPORTS) == [], (
        "import our own modules at the top (the CLI alone may defer them, for start-up time)"
    )
    unexplained = [f"{i.source}:{i.line}" for i in IMPORTS if i.in_function and not i.has_reason]
    assert unexplained == [], "an import inside a function needs a one-line reason comment"


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("app.main", "entry"),
        ("app.catalog.router", "entry"),
        ("app.flows.conversation", "flows"),
        ("agents.graph", "agents"),
        ("app.concierge.service", "domains"),
        ("app.text.normalize", "lower"),
        ("app.core.db", "core"),
    ],
)
def test_the_layer_table_places_known_modules(module: str, layer: str) -> None:
    index = layer_of(module)
    assert index is not None and LAYERS[index][0] == layer


def test_a_circle_an_upward_import_and_a_lazy_import_would_be_caught() -> None:
    def imp(source: str, target: str, *, in_function: bool = False) -> Import:
        return Import(source, target, 1, in_function, has_reason=True)

    circle = [imp("app.core.db", "app.core.config"), imp("app.core.config", "app.core.db")]
    assert _cycles(import_edges(circle)) == [["app.core.config", "app.core.db"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    up = imp("app.core.db", "app.flows.conversation")
    assert upward_imports([up, imp("app.flows.conversation", "app.core.db")]) == [
        "app.core.db:1 (core) imports app.flows.conversation (flows)"
    ]
    lazy = [imp("app.cli.main", "app.core.db", in_function=True), imp("agents.graph", "app.core.db", in_function=True)]
    assert lazy_own_imports(lazy) == ["agents.graph:1 imports app.core.db"]
