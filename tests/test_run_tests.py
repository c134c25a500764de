"""`scripts/run_tests.py` (what `make test` runs): both engines always, a summary line each, engine-neutral once."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest
from conftest import REPOSITORY, SKIP_ENGINE_NEUTRAL


@pytest.fixture(scope="module")
def run_tests():
    spec = importlib.util.spec_from_file_location("run_tests", REPOSITORY / "scripts" / "run_tests.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_engine_runs_even_after_a_failure_and_the_exit_code_says_so(run_tests, monkeypatch, capsys):
    calls = []

    def fake_run_engine(engine, pytest_args, first=True):
        calls.append((engine, pytest_args, first))
        return (1, {"passed": 5, "failed": 2}) if engine == "jax" else (0, {"passed": 7, "deselected": 3})

    monkeypatch.setattr(run_tests, "run_engine", fake_run_engine)
    assert run_tests.main(["--engines", "jax", "torch", "--", "-n", "2"]) == 1
    assert calls == [("jax", ["-n", "2"], True), ("torch", ["-n", "2"], False)]
    lines = capsys.readouterr().out.splitlines()
    assert "jax: 5 passed, 2 failed, 0 skipped  [FAILED (pytest exit code 1)]" in lines
    assert "torch: 7 passed, 0 failed, 0 skipped, 3 engine-neutral run once  [ok]" in lines
    assert lines[-1] == "total: 12 passed, 2 failed, 0 skipped, 3 engine-neutral run once"


def test_all_engines_passing_exits_zero(run_tests, monkeypatch, capsys):
    monkeypatch.setattr(run_tests, "run_engine", lambda engine, args, first=True: (0, {"passed": 1}))
    assert run_tests.main(["--engines", "jax", "torch"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "total: 2 passed, 0 failed, 0 skipped"


def test_the_counts_are_read_from_pytests_closing_line(run_tests, monkeypatch, capsys):
    closing = "=== 3 failed, 10 passed, 4 skipped, 2 deselected, 1 xfailed, 1 error in 9.10s ===\n"

    class FakeProcess:
        stdout = iter(["tests/test_x.py ....F\n", closing])

        def wait(self):
            return 1

    seen = {}

    def fake_popen(command, env, **kwargs):
        seen.update(command=command, env=env)
        return FakeProcess()

    monkeypatch.setattr(run_tests.subprocess, "Popen", fake_popen)
    code, counts = run_tests.run_engine("torch", ["-x"], first=False)
    assert code == 1
    assert counts == {"failed": 3, "passed": 10, "skipped": 4, "deselected": 2, "xfailed": 1, "errors": 1}
    assert seen["env"]["LAMINA_BACKEND"] == "torch" and seen["env"][SKIP_ENGINE_NEUTRAL] == "1"
    assert seen["command"][-2:] == ["-x", "tests"]
    assert "== test suite on torch ==" in capsys.readouterr().out


@pytest.mark.engine_neutral
@pytest.mark.parametrize("skip, expected", [("1", "{} deselected"), ("0", "{} tests collected")])
def test_engine_neutral_tests_are_left_out_only_when_asked(tmp_path, skip, expected):
    # Every test in test_packaging.py is engine-neutral: all of them are left out, or all collected.
    source = (REPOSITORY / "tests" / "test_packaging.py").read_text()
    expected = expected.format(len(re.findall(r"^def test_", source, flags=re.M)))
    env = {**os.environ, SKIP_ENGINE_NEUTRAL: skip}
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    command.append("tests/test_packaging.py")
    result = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=300)
    assert expected in result.stdout, result.stdout + result.stderr


def test_each_run_shares_a_fresh_jax_compilation_cache_removed_after(run_tests):
    env = {"PATH": "/bin"}
    with run_tests.compilation_cache(env):
        folder = env["LAMINA_TEST_JAX_CACHE"]
        assert os.path.isdir(folder) and os.listdir(folder) == []
        assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert not os.path.exists(folder)
    chosen = {"JAX_COMPILATION_CACHE_DIR": "/somewhere/of/mine"}
    with run_tests.compilation_cache(chosen):
        assert chosen == {"JAX_COMPILATION_CACHE_DIR": "/somewhere/of/mine"}  # the user's own cache is left alone
