"""Module boundaries of a package: its import cycles, and modules outside its web layer that import it.

    .venv/bin/python scripts/import_cycles.py [PACKAGE]    # exit 1 and one line per problem, else 0

Every import statement counts, the ones inside functions too: a lazy import hides a cycle from
Python's import machinery but not from a reader, who still has to know both modules to change one.
The graph is grimp's (the engine of import-linter); it is read from the source, nothing is imported.
"""

from __future__ import annotations

import sys

import grimp

# The command line builds the whole application, the web site included; everything else in the
# package is a core that the web layer calls, never the other way round.
WEB_CALLERS = {"cli"}


def import_graph(package: str):
    return grimp.build_graph(package, cache_dir=None)


def import_cycles(graph) -> list[list[str]]:
    """One shortest cycle per set of modules that import each other, as [a, b, ..., a]."""
    found: dict[frozenset, list[str]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back and frozenset(back) not in found:
                found[frozenset(back)] = [importer, *back]
    return list(found.values())


def web_imports(graph, package: str) -> list[tuple[str, str]]:
    """(importer, imported) for every module outside PACKAGE.web (and WEB_CALLERS) importing it."""
    web = f"{package}.web"
    allowed = {f"{package}.{name}" for name in WEB_CALLERS}
    bad = []
    for importer in sorted(graph.modules):
        if importer == web or importer.startswith(web + ".") or importer in allowed:
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported == web or imported.startswith(web + "."):
                bad.append((importer, imported))
    return bad


def problems(package: str = "paperwire") -> list[str]:
    graph = import_graph(package)
    out = [f"import cycle: {' -> '.join(cycle)}" for cycle in import_cycles(graph)]
    out += [f"{a} imports the web layer ({b})" for a, b in web_imports(graph, package)]
    return out


def main(argv: list[str]) -> int:
    found = problems(argv[1] if len(argv) > 1 else "paperwire")
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
