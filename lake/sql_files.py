"""The SQL files of lake/queries/: each one SELECT over `events`, or over another file's query by that
file's name. One place knows which file reads which, for the local views (lake.py) and Athena's standalone
queries (athena.py) alike."""

import re
from pathlib import Path

QUERIES = Path(__file__).resolve().parent / "queries"


def queries(folder: Path = QUERIES) -> dict[str, str]:
    """Every query by its file's name."""
    return {path.stem: path.read_text().strip() for path in sorted(folder.glob("*.sql"))}


def reads(sql: str, names) -> list[str]:
    """The other queries `sql` names (as a table it reads), outside its comments."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [name for name in names if re.search(rf"\b(FROM|JOIN)\s+{name}\b", code, re.IGNORECASE)]


def dependency_order(name: str, all_queries: dict[str, str]) -> list[str]:
    """The views `name` reads, directly or not, each after those it reads itself."""
    ordered: list[str] = []

    def visit(query: str, path: tuple[str, ...]):
        for dependency in reads(all_queries[query], [n for n in all_queries if n != query]):
            if dependency in path:
                raise ValueError(f"queries read each other in a cycle: {' -> '.join(path + (dependency,))}")
            if dependency not in ordered:
                visit(dependency, path + (dependency,))
                ordered.append(dependency)

    visit(name, (name,))
    return ordered


def in_dependency_order(all_queries: dict[str, str]) -> list[str]:
    """Every query's name, each after the queries it reads (the order to create them as views in)."""
    ordered: list[str] = []
    for name in all_queries:
        for needed in dependency_order(name, all_queries) + [name]:
            if needed not in ordered:
                ordered.append(needed)
    return ordered
