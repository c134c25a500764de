"""Runs the test suite once per engine, always both, and prints one summary line per engine.

`make test` calls this after `ruff`. Each engine's run is printed as it goes; a failure on the
first engine does not stop the second. The exit status is non-zero when any engine failed.

Example:
    .venv/bin/python scripts/run_tests.py --engines jax torch -- -n 2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")


def run_engine(engine: str, pytest_args: list[str], first: bool = True) -> tuple[int, dict[str, int]]:
    """Runs pytest with LAMINA_BACKEND=engine, echoing its output; returns its exit code and counts.

    Tests marked `engine_neutral` start interpreters with their own engine: only the first engine's run
    includes them (`tests/conftest.py` deselects them when LAMINA_SKIP_ENGINE_NEUTRAL=1).
    """
    print(f"== test suite on {engine} ==", flush=True)
    env = {**os.environ, "LAMINA_BACKEND": engine, "LAMINA_SKIP_ENGINE_NEUTRAL": "0" if first else "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args, "tests"]
    with compilation_cache(env):
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        last_summary = ""
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if _COUNT.search(line) and (" in " in line or line.startswith("=")):
                last_summary = line
        code = process.wait()
    counts: dict[str, int] = {}
    for number, word in _COUNT.findall(last_summary):
        counts["errors" if word.startswith("error") else word] = int(number)
    return code, counts


@contextlib.contextmanager
def compilation_cache(env: dict):
    """JAX's persistent compilation cache in a folder of this run only (removed after), unless one is set.

    A test worker, and the interpreters its tests start, compile many of the same small XLA programs; keeping them
    saves about a sixth of the JAX run's CPU time. tests/conftest.py gives each pytest worker its own sub-folder:
    JAX writes entries without a lock (a size bound would add one, but then every write scans the whole folder),
    so two workers must not share one. The folder starts empty each run, so CI times stay honest.
    """
    if "JAX_COMPILATION_CACHE_DIR" in env or "LAMINA_TEST_JAX_CACHE" in env:
        yield
        return
    folder = tempfile.mkdtemp(prefix="lamina-jax-cache-")
    env.update(
        LAMINA_TEST_JAX_CACHE=folder,
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def summary_line(label: str, counts: dict[str, int]) -> str:
    """`label: N passed, N failed, N skipped`: the closing line CI readers understand."""
    failed = counts.get("failed", 0) + counts.get("errors", 0)
    line = f"{label}: {counts.get('passed', 0)} passed, {failed} failed, {counts.get('skipped', 0)} skipped"
    if counts.get("deselected"):
        line += f", {counts['deselected']} engine-neutral run once"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", nargs="+", default=["jax", "torch"])
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args(argv)
    results = {
        engine: run_engine(engine, args.pytest_args, first=index == 0) for index, engine in enumerate(args.engines)
    }
    print("\n== summary ==")
    total: dict[str, int] = {}
    for engine, (code, counts) in results.items():
        status = "ok" if code == 0 else f"FAILED (pytest exit code {code})"
        print(f"{summary_line(engine, counts)}  [{status}]")
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
    print(summary_line("total", total))
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
