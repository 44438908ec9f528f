"""Under CI=true a skipped test fails the run; on a developer's machine it stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(
        "from support.ci_no_skips import pytest_sessionfinish, pytest_terminal_summary  # noqa: F401\n"
    )
    (tmp_path / "test_one.py").write_text(
        "import pytest\n\ndef test_runs():\n    assert True\n\n"
        "def test_needs_a_service():\n    pytest.skip('no service here')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(TESTS)}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_skip_fails_the_run_in_ci(tmp_path):
    run = _run(tmp_path, "true")
    assert run.returncode == 1, run.stdout
    assert "1 skipped test(s) fail the run" in run.stdout
    assert "test_one.py::test_needs_a_service" in run.stdout


def test_a_skip_is_a_skip_off_ci(tmp_path):
    run = _run(tmp_path, None)
    assert run.returncode == 0, run.stdout
    assert "1 skipped" in run.stdout
