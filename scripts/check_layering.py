#!/usr/bin/env python3
"""Checks the include layering that docs/ARCHITECTURE.md states in its ```layering block.

Every production source (.h/.cc outside the top-level tests/, bench/ and build*/ folders)
belongs to the deepest folder ("room") of the table that contains it, and may include
project headers ("...") of its own room or of rooms on a lower level only. Reported, with
exit status 1: each include that breaks the rule, each source in a folder the table does
not list, and each include of a project header that does not exist (include paths start
at the project root). Exit status 2: the table is missing or malformed.

Usage: check_layering.py [--root DIR] [--doc FILE]
"""

import argparse
import os
import re
import sys
from pathlib import Path, PurePosixPath

TABLE = re.compile(r"^```layering[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
TABLE_LINE = re.compile(r"^(\d+)\s+(\S.*)$")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SOURCE_SUFFIXES = (".h", ".cc")
EXEMPT_AT_TOP = ("tests", "bench")  # and build*
TOP = PurePosixPath(".")


class TableError(Exception):
    """The layering table cannot be read."""


def read_table(doc):
    """Returns {room: level} from the ```layering block of `doc`."""
    found = TABLE.search(doc.read_text(encoding="utf-8"))
    if not found:
        raise TableError(f"{doc}: no ```layering block")
    rooms = {}
    for line in found.group(1).splitlines():
        if not line.strip():
            continue
        parsed = TABLE_LINE.match(line.strip())
        if not parsed:
            raise TableError(f"{doc}: not '<level> <folder>...': {line!r}")
        for room in parsed.group(2).split():
            room = room.strip("/")
            if room in rooms:
                raise TableError(f"{doc}: {room} is listed twice")
            rooms[room] = int(parsed.group(1))
    return rooms


def skipped(parent, name):
    """True for hidden folders anywhere and for tests/, bench/ and build*/ at the top."""
    if name.startswith("."):
        return True
    return parent == TOP and (name in EXEMPT_AT_TOP or name.startswith("build"))


def production_sources(root):
    """Yields each production source as a path relative to `root`, in a stable order."""
    for folder, subfolders, files in os.walk(root):
        rel = PurePosixPath(Path(folder).relative_to(root).as_posix())
        subfolders[:] = sorted(d for d in subfolders if not skipped(rel, d))
        for name in sorted(files):
            if name.endswith(SOURCE_SUFFIXES):
                yield rel / name


def room_of(path, rooms):
    """The deepest listed folder containing `path`, or None."""
    for folder in path.parents:
        if folder.as_posix() in rooms:
            return folder.as_posix()
    return None


def describe(room, rooms):
    return f"{room} (level {rooms[room]})"


def include_problem(include, source_room, root, rooms):
    """Why including `include` from `source_room` breaks the layering, or None."""
    if not (root / include).is_file():
        return f'#include "{include}": no such project header (paths start at the project root)'
    target_room = room_of(PurePosixPath(include), rooms)
    if target_room is None:
        return f'#include "{include}": a header outside every folder of the layering table'
    if source_room is None or target_room == source_room:
        return None
    if rooms[target_room] < rooms[source_room]:
        return None
    direction = "upward" if rooms[target_room] > rooms[source_room] else "sideways"
    return (f'#include "{include}": {describe(source_room, rooms)} -> '
            f"{describe(target_room, rooms)}, {direction}")


def source_problems(source, root, rooms):
    """Yields 'file:line: problem' for one production source."""
    if source.parent.as_posix() not in rooms:
        yield f"{source}: folder {source.parent}/ is not in the layering table"
    source_room = room_of(source, rooms)
    text = (root / source).read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        included = INCLUDE.match(line)
        if included:
            problem = include_problem(included.group(1), source_room, root, rooms)
            if problem:
                yield f"{source}:{number}: {problem}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = Path(__file__).resolve().parent.parent
    parser.add_argument("--root", type=Path, default=default_root, help="project root")
    parser.add_argument("--doc", type=Path, help="default: ROOT/docs/ARCHITECTURE.md")
    args = parser.parse_args()
    root = args.root.resolve()
    doc = args.doc or root / "docs" / "ARCHITECTURE.md"
    try:
        rooms = read_table(doc)
    except (TableError, OSError) as e:
        print(f"check_layering: {e}", file=sys.stderr)
        return 2
    sources = list(production_sources(root))
    problems = [p for s in sources for p in source_problems(s, root, rooms)]
    for problem in problems:
        print(problem)
    verdict = f"{len(problems)} layering problem(s)" if problems else "layering ok"
    print(f"{verdict}: {len(sources)} sources checked against the table in {doc}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
