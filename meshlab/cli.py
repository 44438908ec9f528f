"""The ``meshlab`` command: a thin front end over :class:`meshlab.Mesh`."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import threading
import time
from collections.abc import Callable

import polars as pl

from meshlab.catalog.listing import dataset_table
from meshlab.cli_trust import add_trust_commands
from meshlab.engine.choice import ENGINES
from meshlab.errors import MeshError

EXIT_ERROR = 2
#: a shell's code for a command stopped by Ctrl-C (128 + SIGINT)
EXIT_INTERRUPTED = 130


@contextlib.contextmanager
def progress(label: str, stream=None, delay: float = 0.5):
    """A spinner with elapsed time on a terminal, shown only when work takes a while."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield
        return
    done = threading.Event()
    started = time.perf_counter()

    def spin():
        if done.wait(delay):
            return
        frames = "|/-\\"
        i = 0
        while not done.wait(0.1):
            stream.write(f"\r{frames[i % 4]} {label} {time.perf_counter() - started:5.1f} s")
            stream.flush()
            i += 1
        stream.write("\r" + " " * (len(label) + 12) + "\r")
        stream.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _write_frame(frame: pl.DataFrame, fmt: str, output: str | None) -> None:
    if fmt == "parquet":
        if not output:
            raise MeshError("--format parquet needs --output FILE")
        frame.write_parquet(output)
        return
    if fmt == "csv":
        text = frame.write_csv()
    elif fmt == "json":
        text = json.dumps(frame.to_dicts(), default=str, indent=2) + "\n"
    else:
        with pl.Config(tbl_rows=50, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=160):
            text = f"{frame}\n"
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


def cmd_demo(args) -> int:
    from meshlab.demo import write_demo

    with progress(f"writing the demo mesh (scale {args.scale})"):
        path = write_demo(args.directory, scale=args.scale, seed=args.seed)
    print(path)
    return 0


def cmd_query(args) -> int:
    import meshlab

    mesh = meshlab.connect(args.mesh, role=args.role)
    params = dict(p.split("=", 1) for p in args.param or [])
    if args.explain or args.analyze:
        print(mesh.explain(args.sql, params, analyze=True) if args.analyze else mesh.explain(args.sql, params))
        return 0
    with progress("running query"):
        result = mesh.sql(args.sql, params, engine=args.engine, timeout=args.timeout)
    _write_frame(result.df, args.format, args.output)
    if args.format == "table" and not args.output:
        seconds = result.plan_seconds + result.run_seconds
        print(f"{result.df.height:,} rows in {seconds:.3f} s on the {result.engine} engine", file=sys.stderr)
    return 0


def cmd_catalog(args) -> int:
    import meshlab

    mesh = meshlab.connect(args.mesh, role=args.role)
    found = mesh.search(args.search) if args.search else mesh.datasets()
    checks = mesh.status()
    table = dataset_table(found, checks)
    if args.format == "json":
        rows = dataset_table(found).to_dicts()
        for row, d in zip(rows, found):
            row["last_check"] = checks[d.address].to_dict() if d.address in checks else None
            row["columns"] = [
                {
                    "name": c.name,
                    "type": c.logical_type,
                    "description": c.description,
                    "classification": c.classification,
                }
                for c in d.columns
            ]
            row["tags"] = list(d.tags)
            row["not_queryable"] = d.unavailable
        errors = [str(e) for e in mesh.errors]
        invalid = [str(e) for e in mesh.invalid]
        report = {"mesh": mesh.name, "datasets": rows, "errors": errors, "invalid": invalid, "notices": mesh.notices}
        print(json.dumps(report, indent=2))
        return 0
    with pl.Config(tbl_rows=200, fmt_str_lengths=50, tbl_width_chars=160, tbl_hide_dataframe_shape=True):
        print(table)
    for error in mesh.errors:
        print(f"load error: {error}", file=sys.stderr)
    for error in mesh.invalid:
        print(f"invalid ODCS: {error}", file=sys.stderr)
    for notice in mesh.notices:
        print(f"notice: {notice}", file=sys.stderr)
    return 0


def cmd_lab(args) -> int:
    from meshlab.jupyter.lab_launch import lab_launch, run_lab

    browser = False if args.no_browser else None
    launch = lab_launch(
        args.mesh,
        demo=args.demo,
        open_path=args.open,
        browser=browser,
        port=args.port,
        extra=tuple(a for a in args.jupyter_args if a != "--"),
    )
    run_lab(launch)
    return 0  # not reached: JupyterLab replaces this process


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meshlab", description="Query a data mesh of ODCS data products.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="write the demo music mesh into DIR")
    demo.add_argument("directory")
    demo.add_argument("--scale", type=float, default=1.0, help="1 = about 10 million play events")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=cmd_demo)

    query = sub.add_parser("query", help="run a SQL query over the mesh")
    query.add_argument("mesh", help="mesh.yaml, a domain folder or one contract")
    query.add_argument("sql")
    query.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table")
    query.add_argument("--output", help="write to FILE instead of standard output")
    query.add_argument("--explain", action="store_true", help="print the plan instead of running it")
    query.add_argument(
        "--analyze", action="store_true", help="run it and print the plan with estimated vs actual rows per scan"
    )
    query.add_argument("--param", action="append", metavar="NAME=VALUE", help="bind :NAME to VALUE (a string)")
    query.add_argument("--role", help="act in this role (one you hold; default $MESHLAB_ROLE)")
    query.add_argument(
        "--engine",
        choices=ENGINES,
        help="where the query runs (default: $MESHLAB_ENGINE, else mesh.yaml's engine.default, else auto)",
    )
    query.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop the query after SECONDS (default: timeouts.query of mesh.yaml)",
    )
    query.set_defaults(run=cmd_query)

    catalog = sub.add_parser("catalog", help="list or search the mesh's datasets")
    catalog.add_argument("mesh")
    catalog.add_argument("--search", help="rank datasets by relevance to TEXT")
    catalog.add_argument("--format", choices=["table", "json"], default="table")
    catalog.add_argument("--role", help="list what this role may read (default $MESHLAB_ROLE)")
    catalog.set_defaults(run=cmd_catalog)
    lab = sub.add_parser(
        "lab",
        help="start JupyterLab on a mesh (sidebar and kernels); as root and headless too",
        description="Start JupyterLab with the catalog sidebar and the kernels on one mesh. "
        "Options after -- go to JupyterLab unchanged.",
    )
    lab.add_argument("mesh", nargs="?", help="default: $MESHLAB_MESH, ./mesh.yaml, else demo/notebook-mesh/mesh.yaml")
    lab.add_argument("--demo", action="store_true", help="write the notebooks' demo mesh when no mesh is found")
    lab.add_argument("--open", metavar="PATH", help="a notebook or folder to open first (relative to here)")
    lab.add_argument("--port", type=int, help="the server's port (default: Jupyter's, 8888 or the next free one)")
    lab.add_argument("--no-browser", action="store_true", help="print the URL only (default where no display exists)")
    lab.add_argument("jupyter_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    lab.set_defaults(run=cmd_lab)
    add_trust_commands(sub)  # check, init, lint, diff
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.run  # each subcommand's set_defaults(run=...)
    try:
        return command(args)
    except MeshError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = io.StringIO()
        return 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        # mesh.sql has cancelled the query's database statements before this is reached
        print("interrupted: the query was cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
