#!/usr/bin/env python3
"""Import cycles among the host's top-level modules.

Builds the graph of `crate::MODULE` references (in `use` lines and inline
paths alike) between the modules of host/src (a file `X.rs` or a directory
`X/` is module X), leaving out comments and `#[cfg(test)]` items: a test may
reach across modules to set up real parts, which is no dependency of the
module itself (`--tests` counts them too). Prints each module's
dependencies, every cycle (strongly connected component of more than one
module), and the rules below; exits 1 if a cycle or a broken rule is found.

    scripts/module-cycles.py [--tests] [SRC_DIR]
"""

import re
import sys
from pathlib import Path

# Sources emit their own events; `show` wraps them for the app. A source that
# names its consumer (or the other source) makes the cycles this guards.
FORBIDDEN = {
    "cluster": {"app", "events", "workload", "show"},
    "workload": {"app", "events", "cluster", "show"},
}

CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
# `use crate::{a, b::c}`: every name at the top of the braces is a module.
CRATE_GROUP = re.compile(r"\bcrate::\{([^}]*)\}", re.S)
LINE_COMMENT = re.compile(r"//[^\n]*")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\])*"')
CFG_TEST = re.compile(r"#\[cfg\(test\)\]")


def without_test_items(text: str) -> str:
    """`text` with every item after `#[cfg(test)]` removed (to its `;` or its
    matching closing brace)."""
    out = []
    pos = 0
    for match in CFG_TEST.finditer(text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.start()])
        i = match.end()
        depth = 0
        while i < len(text):
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    i += 1
                    break
            elif c == ";" and depth == 0:
                i += 1
                break
            i += 1
        pos = i
    out.append(text[pos:])
    return "".join(out)


def references(text: str, include_tests: bool) -> set[str]:
    text = BLOCK_COMMENT.sub("", text)
    text = LINE_COMMENT.sub("", text)
    text = STRING.sub('""', text)
    if not include_tests:
        text = without_test_items(text)
    found = set(CRATE_PATH.findall(text))
    for group in CRATE_GROUP.findall(text):
        for part in group.split(","):
            name = part.strip().split("::")[0].split(" ")[0]
            if name:
                found.add(name)
    return found


def module_of(path: Path, src: Path) -> str | None:
    relative = path.relative_to(src)
    if len(relative.parts) == 1:
        name = relative.stem
        # The crate roots declare modules; they are not one.
        return None if name in ("lib", "main") else name
    return relative.parts[0]


def graph(src: Path, include_tests: bool) -> dict[str, set[str]]:
    modules: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.rs")):
        module = module_of(path, src)
        if module is None:
            continue
        deps = modules.setdefault(module, set())
        deps.update(references(path.read_text(), include_tests))
    for module, deps in modules.items():
        deps.discard(module)
        # `crate::X` where X is no module (a macro, a re-export) is no edge.
        deps.intersection_update(modules)
    return modules


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
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

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--tests"]
    include_tests = "--tests" in sys.argv[1:]
    src = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "host" / "src"
    edges = graph(src, include_tests)
    print(f"modules of {src}{' (with tests)' if include_tests else ''}:")
    for module in sorted(edges):
        print(f"  {module} -> {', '.join(sorted(edges[module])) or '(nothing)'}")
    failed = False
    found = cycles(edges)
    if found:
        failed = True
        for component in found:
            print(f"cycle: {' <-> '.join(component)}")
    else:
        print("no import cycles")
    for module, banned in FORBIDDEN.items():
        broken = sorted(edges.get(module, set()) & banned)
        if broken:
            failed = True
            print(f"rule broken: {module} must not use {', '.join(broken)}")
        else:
            print(f"ok: {module} uses none of {', '.join(sorted(banned))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
