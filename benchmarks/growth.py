"""Cost as work grows: samples/s of lamina's `fit` on bench.py's mlp and cnn at batch 32, 128 and 512, with the
process limited to 1, 2, 4 ... cores, on each engine; prints the table and draws benchmarks/growth.png.

Each (engine, workload, cores) runs in a fresh process pinned to that many cores (`os.sched_setaffinity`, which
both XLA's and torch's thread pools size themselves from; torch also gets `OMP_NUM_THREADS`), so the curves show
where each engine stops gaining from a bigger batch or another core. Core counts above the machine's are skipped.
Samples/s is the best of `--repeats` timed epochs after one warm-up epoch per batch size.

Usage:
    python benchmarks/growth.py                        # both engines, mlp and cnn, cores 1 2 4, batches 32 128 512
    python benchmarks/growth.py --engine torch --cores 1 2 --json growth.json
    pip install 'lamina[bench]'                        # matplotlib, for the plot (the table prints without it)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCHES = (32, 128, 512)


def measure(workload: str, batches, repeats: int) -> dict:
    """{batch: samples/s} of lamina's fit on `workload` in this (already pinned) process."""
    sys.path.insert(0, HERE)
    import bench

    import lamina

    x, y = bench.make_data(workload)
    rates = {}
    for batch in batches:
        model = bench.build_keras_like(lamina, workload)
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # warm-up: compile, choose fused steps
        best = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
            best = max(best, len(x) / (time.perf_counter() - start))
        rates[batch] = best
    return rates


def run_child(engine: str, workload: str, cores: int, batches, repeats: int) -> dict:
    env = dict(os.environ, LAMINA_BACKEND=engine, OMP_NUM_THREADS=str(cores))
    env.pop("XLA_FLAGS", None)  # XLA's defaults, as bench.py measures
    command = [sys.executable, __file__, "--child", engine, workload, str(cores), "--repeats", str(repeats),
               "--batches", *map(str, batches)]  # fmt: skip
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode:
        print(out.stderr[-2000:], file=sys.stderr)
        return {}
    return {int(k): v for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def plot(results: list, path: str) -> bool:
    """Samples/s against batch size, one panel per workload, one line per engine and core count."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install 'lamina[bench]'): no plot drawn.")
        return False
    workloads = sorted({r["workload"] for r in results}, key=["mlp", "cnn"].index)
    figure, axes = plt.subplots(1, len(workloads), figsize=(4.2 * len(workloads), 3.2), squeeze=False)
    for axis, workload in zip(axes[0], workloads):
        for r in (r for r in results if r["workload"] == workload and r["rates"]):
            batches = sorted(r["rates"])
            style = "-" if r["engine"] == "jax" else "--"
            axis.plot(batches, [r["rates"][b] for b in batches], style, marker="o",
                      label=f"{r['engine']}, {r['cores']} core{'s' if r['cores'] > 1 else ''}")  # fmt: skip
        axis.set(xscale="log", title=f"{workload}: lamina fit", xlabel="batch size", ylabel="samples/s")
        axis.minorticks_off()
        axis.set_xticks(BATCHES, [str(b) for b in BATCHES])
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["jax", "torch", "both"], default="both")
    parser.add_argument("--workloads", nargs="*", default=["mlp", "cnn"])
    parser.add_argument("--cores", nargs="*", type=int, default=[1, 2, 4])
    parser.add_argument("--batches", nargs="*", type=int, default=list(BATCHES))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--plot", default=os.path.join(HERE, "growth.png"))
    parser.add_argument("--replot", default=None, help="draw the plot from a --json file of an earlier run, and stop")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replot:
        with open(args.replot) as f:
            results = [{**r, "rates": {int(b): v for b, v in r["rates"].items()}} for r in json.load(f)]
        plot(results, args.plot)
        return
    if args.child:
        engine, workload, cores = args.child
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: int(cores)]))
        print(json.dumps(measure(workload, args.batches, args.repeats)))
        return
    available = len(os.sched_getaffinity(0))
    engines = ["jax", "torch"] if args.engine == "both" else [args.engine]
    print(f"lamina fit, samples/s (best of {args.repeats} epochs after a warm-up); this machine: {available} cores")
    print(f"{'engine':6s} {'workload':8s} {'cores':>5s} " + " ".join(f"{'batch ' + str(b):>11s}" for b in args.batches))
    results = []
    for engine in engines:
        for workload in args.workloads:
            for cores in args.cores:
                if cores > available:
                    print(f"{engine:6s} {workload:8s} {cores:5d}  skipped: this machine has {available} cores")
                    continue
                rates = run_child(engine, workload, cores, args.batches, args.repeats)
                results.append({"engine": engine, "workload": workload, "cores": cores, "rates": rates})
                cells = " ".join(f"{rates.get(b, float('nan')):11,.0f}" for b in args.batches)
                print(f"{engine:6s} {workload:8s} {cores:5d} {cells}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if plot(results, args.plot):
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
