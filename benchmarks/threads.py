"""torch's CPU threads on a quiet and on a busy machine: training time under thread settings.

Each run is a fresh process that trains on the torch engine for `--epochs` epochs and reports the
seconds `fit` took: the README demo's convnet (`--workload demo`, `examples/digits_convnet.py`), or one of
bench.py's workloads (after a warm-up epoch). Each setting runs `--repeats` times with each number of
`--busy` processes spinning on the CPU (`while True: pass`, started here and always stopped here; 0 is
the machine as it is). The table gives the median and the best of the repeats.

A setting is a list of environment variables for the run (`-`: none, lamina's defaults), plus two
words: `torch-first` imports torch before lamina (lamina sets its thread defaults only when it imports
torch itself, so this gives torch's own defaults), and `threads=N` calls `torch.set_num_threads(N)`.

Usage:
    python benchmarks/threads.py                                  # the default settings, quiet and busy 2
    python benchmarks/threads.py --busy 0 2 4 --epochs 3 --repeats 3
    python benchmarks/threads.py --workload mlp --busy 0 --epochs 1
    python benchmarks/threads.py --settings torch-first - "torch-first OMP_WAIT_POLICY=PASSIVE" GOMP_SPINCOUNT=10000
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_SETTINGS = ["torch-first", "-", "OMP_WAIT_POLICY=PASSIVE", "OMP_NUM_THREADS=1"]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "GOMP_SPINCOUNT")


def child(workload: str, epochs: int) -> None:
    """Trains in this process; prints the seconds and the thread counts as JSON."""
    if os.environ.pop("LAMINA_BENCH_TORCH_FIRST", None):
        import torch  # noqa: F401
    threads = os.environ.pop("LAMINA_BENCH_SET_THREADS", None)
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    import lamina

    lamina.utils.set_random_seed(0)
    if workload == "demo":
        demo = _load(ROOT / "examples" / "digits_convnet.py")
        x, _, y, _ = demo.load_data()
        model, batch_size, options = demo.build_model(), 32, {"validation_split": 0.1}
    else:
        bench = _load(ROOT / "benchmarks" / "bench.py")
        (x, y), batch_size, options = bench.make_data(workload), bench.WORKLOADS[workload][4], {}
        model = bench.build_keras_like(lamina, workload)
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # warm-up
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, **options)
    seconds = time.perf_counter() - start
    import torch

    os_threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0
    print(json.dumps({"seconds": seconds, "threads": torch.get_num_threads(), "os_threads": os_threads}))


def _load(path: pathlib.Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_once(setting: str, workload: str, epochs: int) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in THREAD_VARIABLES}
    env["LAMINA_BACKEND"] = "torch"
    for item in setting.split():
        if item == "-":
            continue
        if item == "torch-first":
            env["LAMINA_BENCH_TORCH_FIRST"] = "1"
            continue
        key, value = item.split("=", 1)
        env["LAMINA_BENCH_SET_THREADS" if key == "threads" else key] = value
    cmd = [sys.executable, __file__, "--child", "--workload", workload, "--epochs", str(epochs)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        print(out.stderr[-2000:], file=sys.stderr)
        return {"seconds": float("nan"), "threads": 0, "os_threads": 0}
    return json.loads(out.stdout.strip().splitlines()[-1])


# Spins until stopped, or until its parent is gone (so a killed benchmark leaves no spinning processes behind).
BUSY_LOOP = """
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""


def start_busy(count: int) -> list:
    """`count` processes spinning on the CPU; the caller must stop them with stop_busy."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(count)]


def stop_busy(processes: list) -> None:
    for process in processes:
        process.kill()
    for process in processes:
        process.wait()


def measure(settings: list, workload: str, epochs: int, repeats: int, busy: int) -> tuple:
    """({setting: [seconds, ...]}, {setting: threads}), the settings interleaved so that a change in
    the machine's load hits each alike."""
    times, threads = {setting: [] for setting in settings}, {}
    processes = start_busy(busy)
    try:
        for _ in range(repeats):
            for setting in settings:
                result = run_once(setting, workload, epochs)
                times[setting].append(result["seconds"])
                threads[setting] = f"{result['threads']} ({result['os_threads']})"
    finally:
        stop_busy(processes)
    return times, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="*", default=DEFAULT_SETTINGS)
    parser.add_argument("--workload", choices=["demo", "small", "mlp", "cnn", "lstm"], default="demo")
    parser.add_argument("--busy", type=int, nargs="*", default=[0, 2], help="busy processes per scenario")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.workload, args.epochs)
        return
    print(f"torch engine, {args.workload}, {args.epochs} epochs; {os.cpu_count()} CPUs, "
          f"{len(os.sched_getaffinity(0))} usable; load average {os.getloadavg()[0]:.1f} at the start")  # fmt: skip
    print(f"| setting | torch threads (OS threads) | {' | '.join(f'busy {b}: median (best) s' for b in args.busy)} |")
    print("|---|---:|" + "---:|" * len(args.busy))
    results = {busy: measure(args.settings, args.workload, args.epochs, args.repeats, busy) for busy in args.busy}
    for setting in args.settings:
        cells = []
        for busy in args.busy:
            seconds = results[busy][0][setting]
            cells.append(f"{statistics.median(seconds):.2f} ({min(seconds):.2f})")
        print(f"| `{setting}` | {results[args.busy[0]][1][setting]} | {' | '.join(cells)} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
