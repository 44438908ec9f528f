"""Record every SQL logic case's expected answer from DuckDB: ``python tests/sql_logic/record.py``.

Rewrites the ``expected`` block of each entry in the topic files (``*.yaml`` here, but
``tables.yaml``) with DuckDB's answer over the tables of ``tables.yaml``; every other field
is kept as written (comments are not: use ``note:``). Names of files to record may be given
(``record.py windows.yaml``); ``--check`` only reports the cases whose stored answer differs.
A case DuckDB cannot run stops the recording with its name and DuckDB's message.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path[:1] = [str(HERE.parent), str(HERE.parents[1])]  # tests/ (conftest, support) and the repo, not this folder

from sql_logic.cases import FIELD_ORDER, answer_block, case_files, dump_text, read_entries  # noqa: E402
from sql_logic.tables import oracle  # noqa: E402


class _CaseDumper(yaml.SafeDumper):
    """Block text for SQL, one flow-style line per row and per column list."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_list(dumper: yaml.SafeDumper, items: list) -> yaml.Node:
    flat = all(not isinstance(i, (list, dict)) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flat)


_CaseDumper.add_representer(str, _represent_str)
_CaseDumper.add_representer(list, _represent_list)


def expected_for(con: Any, entry: dict) -> dict:
    """The expected block of one entry: DuckDB's answer, rows sorted unless ordered."""
    try:
        return answer_block(con, entry["sql"].strip(), entry.get("ordered"))
    except Exception as error:  # DuckDB's errors have many classes; any of them stops the run
        raise SystemExit(f"{entry['name']}: {error}") from error


def render(entries: list[dict]) -> str:
    """A topic file's text: entries in field order, a blank line between them."""
    parts = []
    for entry in entries:
        ordered_entry = {k: entry[k] for k in FIELD_ORDER if k in entry}
        if "sql" in ordered_entry:
            ordered_entry["sql"] = ordered_entry["sql"].strip() + "\n"
        text = yaml.dump([ordered_entry], Dumper=_CaseDumper, sort_keys=False, allow_unicode=True, width=120)
        parts.append(text)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="topic files to record (default: all)")
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    args = parser.parse_args(argv)
    paths = [HERE / Path(f).name for f in args.files] if args.files else case_files()
    con = oracle()
    differing = 0
    for path in paths:
        entries = read_entries(path)
        for entry in entries:
            block = expected_for(con, entry)
            if dump_text(block) != dump_text(entry.get("expected")):
                differing += 1
                print(f"{path.name}: {entry['name']}: {'differs' if 'expected' in entry else 'new'}")
            entry["expected"] = block
        if not args.check:
            path.write_text(render(entries), encoding="utf-8")
    print(f"{differing} case(s) {'differ' if args.check else 'recorded'}")
    return 1 if args.check and differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
