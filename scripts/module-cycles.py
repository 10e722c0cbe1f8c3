#!/usr/bin/env python3
"""Import cycles among the host's modules, at every depth.

Builds the graph of references between the modules of host/src (a file
`a/b.rs`, or `a/b/mod.rs`, is module `a::b`): every path in a `use` item
(groups and nested groups expanded) and every inline path that starts with
`crate::`, `super::`, `self::` or the name of a child module, resolved to the
deepest module it names. Left out: comments, strings, `#[cfg(test)]` items,
and files only a `#[cfg(test)] mod x;` declares (and their submodules): a
test may reach across modules to set up real parts, which is no dependency
of the module itself (`--tests` counts them too). Declaring a submodule
(`mod x;`) is no reference; using it is.

A cycle is looked for among the modules at every depth, each its own node
(`cluster::netfault::helper` apart from `cluster::netfault`), and among the
top-level modules (every file under `cluster/` as `cluster`). `--strict`
also cuts module paths to every depth in between (`cluster::netfault::plan`
as `cluster::netfault` at depth 2), which also reports a module that uses a
leaf of a sibling that uses it. A module and its own
ancestors are one unit, so the references between them are no edge: the
parent's file holds what its children share and assembles them (`impl
Cluster` in `cluster/actions.rs` is part of `Cluster`; `cluster/mod.rs`
builds a backend from `cluster::compose`). A circle among siblings or
cousins (`cluster::backend` -> `cluster::netfault::helper` ->
`cluster::docker` -> `cluster::backend`) is what this guards. Prints each top-level
module's dependencies, every cycle (strongly connected component of more
than one module) and the rules below; exits 1 if a cycle or a broken rule
is found.

    scripts/module-cycles.py [--tests] [--all] [--strict] [SRC_DIR]

`--all` prints the dependencies of every module, not only the top-level ones.
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

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
LINE_COMMENT = re.compile(r"//[^\n]*")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\])*"')
CHAR = re.compile(r"'(?:\\.|[^'\\])'")
CFG_TEST = re.compile(r"#\[cfg\(test\)\]")
# `#[cfg(test)] mod x;` (possibly `pub(crate)`, other attributes between).
TEST_MOD_DECL = re.compile(
    r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;"
)
USE_ITEM = re.compile(r"\buse\s+([^;]*);", re.S)
PUB_USE_ITEM = re.compile(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]*);", re.S)
# A path in code: its segments joined by `::` (generic arguments not followed).
INLINE_PATH = re.compile(r"(?<![A-Za-z0-9_:])(" + IDENT + r"(?:\s*::\s*" + IDENT + r")+)")


def strip(text: str) -> str:
    text = BLOCK_COMMENT.sub("", text)
    text = LINE_COMMENT.sub("", text)
    text = STRING.sub('""', text)
    return CHAR.sub("' '", text)


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


def use_paths(tree: str) -> list[list[str]]:
    """Every path a `use` tree names: `a::{b, c::{d, e}}` is a::b, a::c::d,
    a::c::e (`self` in a group is the group's own path)."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas" + IDENT, "", tree)  # `x as y` (spaces already gone)
    paths: list[list[str]] = []

    def walk(prefix: list[str], text: str) -> None:
        if "{" not in text:
            parts = [p for p in text.split("::") if p and p != "*"]
            if parts and parts[-1] == "self":
                parts = parts[:-1]
            if prefix + parts:
                paths.append(prefix + parts)
            return
        head, _, rest = text.partition("{")
        inner = rest[: rest.rfind("}")]
        head_parts = [p for p in head.split("::") if p]
        depth = 0
        start = 0
        for i, c in enumerate(inner + ","):
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            elif c == "," and depth == 0:
                part = inner[start:i]
                start = i + 1
                if part:
                    walk(prefix + head_parts, part)
        if not inner:
            paths.append(prefix + head_parts)

    walk([], tree)
    return paths


def module_path(path: Path, src: Path) -> tuple[str, ...] | None:
    relative = path.relative_to(src).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "mod":
        parts.pop()
    if len(parts) == 1 and parts[0] in ("lib", "main"):
        # The crate roots declare modules; they are not one (main.rs is
        # another crate, reaching this one by its name).
        return None
    return tuple(parts)


def test_only_modules(src: Path) -> set[tuple[str, ...]]:
    """Modules declared by `#[cfg(test)] mod x;`."""
    found = set()
    for path in src.rglob("*.rs"):
        text = strip(path.read_text())
        parent = module_path(path, src)
        parent = () if parent is None else parent
        for name in TEST_MOD_DECL.findall(text):
            found.add(parent + (name,))
    return found


def resolve(
    segments: list[str],
    current: tuple[str, ...],
    modules: set[tuple[str, ...]],
    bare_children_only: bool,
    reexports: dict | None = None,
) -> tuple[str, ...] | None:
    """The deepest module `segments` (seen in module `current`) names, or
    None where it names no module of the crate (another crate, a type's
    associated item, a local name)."""
    if not segments:
        return None
    first = segments[0]
    if first == "crate":
        base: tuple[str, ...] = ()
        rest = segments[1:]
    elif first in ("super", "self"):
        base = current
        rest = segments
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    elif current + (first,) in modules:
        base, rest = current, segments
    elif not bare_children_only and (first,) in modules:
        # `use cluster::x` from the crate root's level never happens here;
        # anything else bare is another crate.
        return None
    else:
        return None
    found = None
    path = base
    item = None
    for segment in rest:
        path = path + (segment,)
        if path in modules:
            found = path
        else:
            item = segment
            break
    if found is None and base in modules and first in ("super", "self", "crate"):
        # `super::Item`: the parent module itself.
        found = base
    # An item a module only re-exports (`pub use model::Node;`) is a
    # reference to the module that defines it.
    seen = set()
    while reexports and found is not None and item is not None:
        target = reexports.get(found, {}).get(item)
        if target is None or (found, item) in seen:
            break
        seen.add((found, item))
        found = target
    return found


def graph(src: Path, include_tests: bool) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    files = {}
    for path in sorted(src.rglob("*.rs")):
        module = module_path(path, src)
        if module is not None:
            files[module] = path
    if not include_tests:
        test_only = test_only_modules(src)
        files = {
            m: p
            for m, p in files.items()
            if not any(m[: len(t)] == t for t in test_only)
        }
    modules = set(files)
    # A directory's parent chain is a module even if only its children had
    # files we kept.
    for m in list(modules):
        for i in range(1, len(m)):
            modules.add(m[:i])
    texts = {}
    for module, path in files.items():
        text = strip(path.read_text())
        if not include_tests:
            text = without_test_items(text)
        texts[module] = text
    # What each module re-exports: name -> the module the item comes from.
    reexports: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
    for module, text in texts.items():
        for tree in PUB_USE_ITEM.findall(text):
            for segments in use_paths(tree):
                target = resolve(segments, module, modules, True)
                if target and target != module and segments[-1] not in ("self", "*"):
                    reexports.setdefault(module, {})[segments[-1]] = target
    edges: dict[tuple[str, ...], set[tuple[str, ...]]] = {m: set() for m in modules}
    for module, text in texts.items():
        found = set()
        for tree in USE_ITEM.findall(text):
            for segments in use_paths(tree):
                target = resolve(segments, module, modules, True, reexports)
                if target:
                    found.add(target)
        code = USE_ITEM.sub(";", text)
        for raw in INLINE_PATH.findall(code):
            segments = re.sub(r"\s+", "", raw).split("::")
            target = resolve(segments, module, modules, True, reexports)
            if target:
                found.add(target)
        found.discard(module)
        edges[module].update(found)
    return edges


def related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether one of `a` and `b` is the other's ancestor."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def collapsed(
    edges: dict[tuple[str, ...], set[tuple[str, ...]]], depth: int
) -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    """The graph with every module path cut to `depth` segments, without
    the edges between a module and its own ancestors (see `main`)."""
    out: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for module, deps in edges.items():
        a = module[:depth]
        bucket = out.setdefault(a, set())
        for dep in deps:
            b = dep[:depth]
            if not related(a, b):
                bucket.add(b)
    for deps in list(out.values()):
        for dep in deps:
            out.setdefault(dep, set())
    return out


def cycles(edges: dict) -> list[list]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    found: list[list] = []

    def visit(v) -> None:
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


def name(module: tuple[str, ...]) -> str:
    return "::".join(module)


def main() -> int:
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    include_tests = "--tests" in flags
    src = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "host" / "src"
    edges = graph(src, include_tests)
    deepest = max((len(m) for m in edges), default=1)
    shown = edges if "--all" in flags else collapsed(edges, 1)
    print(f"modules of {src}{' (with tests)' if include_tests else ''}:")
    for module in sorted(shown):
        deps = ", ".join(sorted(name(d) for d in shown[module])) or "(nothing)"
        print(f"  {name(module)} -> {deps}")
    failed = False
    reported = set()
    depths = range(1, deepest + 1) if "--strict" in flags else (1, deepest)
    for depth in depths:
        for component in cycles(collapsed(edges, depth)):
            key = tuple(component)
            if key in reported:
                continue
            reported.add(key)
            failed = True
            print(f"cycle (depth {depth}): {' <-> '.join(name(m) for m in component)}")
    if not reported:
        print(f"no import cycles ({'at any depth' if '--strict' in flags else 'among top-level modules, nor among modules at any depth'})")
    top = collapsed(edges, 1)
    for module, banned in FORBIDDEN.items():
        broken = sorted(name(d) for d in top.get((module,), set()) if d[0] in banned)
        if broken:
            failed = True
            print(f"rule broken: {module} must not use {', '.join(broken)}")
        else:
            print(f"ok: {module} uses none of {', '.join(sorted(banned))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
