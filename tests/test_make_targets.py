"""The make targets install the tools they run, as `make test` does (scripts/ensure-system-packages)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("target", "package"), [("bench", "sqlite3"), ("bench-api", "wrk")])
def test_a_benchmark_ensures_its_tool_first(target: str, package: str) -> None:
    plan = subprocess.run(["make", "-n", "-W", ".venv/.installed", "-W", ".venv/.installed-test", target], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.splitlines()
    ensure = plan.index(f"scripts/ensure-system-packages {package}")
    assert "benchmarks/" in plan[ensure + 1]  # before the benchmark runs


def test_a_missing_package_is_named_when_it_cannot_be_installed(tmp_path: Path) -> None:
    fake_id = tmp_path / "id"
    fake_id.write_text("#!/bin/sh\necho 1000\n")  # not root: nothing is installed, the command says what to run
    fake_id.chmod(0o755)
    result = subprocess.run(["bash", str(ROOT / "scripts/ensure-system-packages"), "no-such-tool-for-a-test"],
                            env={"PATH": f"{tmp_path}:/usr/bin:/bin"}, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "this needs Debian packages: sudo apt-get install no-such-tool-for-a-test"
