"""The package's layers point down: no package of seemup imports, directly or through others, a package
that imports it back (docs/architecture.md)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "seemup"


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(path: Path) -> set[str]:
    """The seemup modules ``path`` imports (relative imports resolved)."""
    module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("seemup."):
                found.add(target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("seemup.")}
    return found


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("").parts
        source = rel[1] if len(rel) > 1 else rel[0]
        for target in _imports(path):
            if _package_of(target) != source:
                edges[source].add(_package_of(target))
    return edges


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def test_no_import_cycle_between_packages() -> None:
    edges = _graph()
    cycles = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if _reaches(edges, b, a)})
    assert not cycles, f"packages importing each other: {cycles}"


def test_the_checker_sees_a_cycle() -> None:
    assert _reaches({"a": {"b"}, "b": {"c"}, "c": {"a"}}, "b", "a")
    assert not _reaches({"a": {"b"}, "b": {"c"}}, "b", "a")


def test_networks_and_runtime_stay_below_the_jobs() -> None:
    edges = _graph()
    for low in ("models", "runtime", "masks", "video"):
        high = {"pipeline", "evaluation", "training", "weights", "cli", "compare"} & edges.get(low, set())
        assert not high, f"{low} imports {high}"
