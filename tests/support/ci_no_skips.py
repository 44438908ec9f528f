"""With ``CI=true`` a skipped test fails the run: skips are for a developer's machine without a
service, never for CI, where `make test` installs every service (a skip there hides a broken set-up).

Hooks for a conftest: ``from support.ci_no_skips import pytest_sessionfinish, pytest_terminal_summary``.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def _skipped(config: pytest.Config) -> list[pytest.TestReport]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return list(reporter.stats.get("skipped", [])) if reporter is not None else []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if in_ci() and exitstatus == pytest.ExitCode.OK and _skipped(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    skipped = _skipped(config)
    if in_ci() and skipped:
        terminalreporter.write_line(
            f"CI=true: {len(skipped)} skipped test(s) fail the run (a skip in CI hides a missing service):", red=True
        )
        for report in skipped:
            terminalreporter.write_line(f"  {report.nodeid}")
