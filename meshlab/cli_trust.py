"""The trust commands of ``meshlab``: check, init, lint, diff (thin front ends).

Each parses its arguments, calls one function of :mod:`meshlab.quality` or
:mod:`meshlab.authoring` and prints what it returns.
"""

from __future__ import annotations

import sys

EXIT_FAILED = 1


def _write(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


def cmd_check(args) -> int:
    import meshlab
    from meshlab.rendering.checks import report_text

    mesh = meshlab.connect(args.mesh, role=args.role)
    report = mesh.check(args.addresses or None, as_of=args.as_of, failing_rows=args.failing_rows)
    if args.format == "json":
        _write(report.to_json() + "\n", args.output)
    else:
        _write(report_text(report, every=args.all) + "\n", args.output)
    if report.store_error:
        print(f"warning: {report.store_error}", file=sys.stderr)
    return report.exit_code


def cmd_init(args) -> int:
    from meshlab.authoring.init_contract import init_contract

    written = init_contract(
        args.data, domain=args.domain, name=args.name, owner=args.owner, mesh=args.mesh, output=args.output,
        force=args.force,
    )  # fmt: skip
    print(written)
    return 0


def cmd_lint(args) -> int:
    from meshlab.authoring.lint import lint_mesh

    problems = lint_mesh(args.mesh)
    for problem in problems:
        print(problem)
    counts = {s: sum(p.severity == s for p in problems) for s in ("error", "warning", "notice")}
    print(", ".join(f"{n} {s}{'' if n == 1 else 's'}" for s, n in counts.items()), file=sys.stderr)
    failing = counts["error"] + (counts["warning"] + counts["notice"] if args.strict else 0)
    return EXIT_FAILED if failing else 0


def cmd_diff(args) -> int:
    from meshlab.authoring.diff import diff_files

    changes = diff_files(args.old, args.new)
    if args.format == "json":
        import json

        print(json.dumps([c.to_dict() for c in changes], indent=2))
    else:
        for change in changes:
            print(change)
        breaking = sum(c.breaking for c in changes)
        print(f"{len(changes)} change{'' if len(changes) == 1 else 's'}, {breaking} breaking", file=sys.stderr)
    return EXIT_FAILED if any(c.breaking for c in changes) else 0


def add_trust_commands(sub) -> None:
    """Register ``check``, ``init``, ``lint`` and ``diff`` on the ``meshlab`` parser."""
    check = sub.add_parser("check", help="check datasets against their contracts (exit 1 when one fails)")
    check.add_argument("mesh", help="mesh.yaml, a domain folder or one contract")
    check.add_argument("addresses", nargs="*", metavar="ADDRESS", help="datasets to check (default: all)")
    check.add_argument("--format", choices=["table", "json"], default="table")
    check.add_argument("--output", help="write to FILE instead of standard output")
    check.add_argument("--as-of", help="judge freshness as of this ISO-8601 instant (default: now)")
    check.add_argument("--failing-rows", type=int, help="failing rows kept per failed check (default 10)")
    check.add_argument("--all", action="store_true", help="list passed checks too (table format)")
    check.add_argument("--role", help="act in this role (default $MESHLAB_ROLE)")
    check.set_defaults(run=cmd_check)

    init = sub.add_parser("init", help="draft a contract from a data file set or a database table")
    init.add_argument(
        "data", help="file, glob or folder (parquet/csv/json), sqlite:///db?table=T, postgresql://…?table=T"
    )
    init.add_argument("--domain", required=True)
    init.add_argument("--name", required=True, help="the dataset's name (its address is DOMAIN.NAME)")
    init.add_argument("--owner", help="the owner's username (default: you)")
    init.add_argument("--mesh", help="mesh.yaml: write into the domain's folder (default ./mesh.yaml if present)")
    init.add_argument("--output", help="write the contract to FILE instead")
    init.add_argument("--force", action="store_true", help="replace an existing contract")
    init.set_defaults(run=cmd_init)

    lint = sub.add_parser(
        "lint", help="validate every contract against the official ODCS schema of its apiVersion (exit 1 on errors)"
    )
    lint.add_argument("mesh", help="mesh.yaml, a domain folder or one contract")
    lint.add_argument(
        "--strict", action="store_true", help="fail on warnings and notices too (e.g. a dataset not queryable here)"
    )
    lint.set_defaults(run=cmd_lint)

    diff = sub.add_parser("diff", help="breaking changes between two versions of a contract (exit 1 when breaking)")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--format", choices=["text", "json"], default="text")
    diff.set_defaults(run=cmd_diff)
