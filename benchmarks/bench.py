"""Steady-state training speed: lamina beside real Keras 3 and a hand-written loop, same engine.

Each (library, workload) pair runs in its own subprocess. Speed is samples per
second of `fit` after one warm-up epoch (compilation excluded), over `--epochs`
epochs, best of `--repeats` runs.

Usage:
    python benchmarks/bench.py                          # every workload on JAX
    python benchmarks/bench.py --engine torch           # lamina and Keras 3 on torch, and a plain torch loop
    python benchmarks/bench.py --only small --libraries lamina keras
    python benchmarks/bench.py --only convlstm --libraries lamina   # Keras 3 on JAX takes minutes here
    python benchmarks/bench.py --only threads --libraries lamina keras --repeats 3   # predict calls/s, 8 threads
    python benchmarks/bench.py --only predict-latency import memory-mlp memory-cnn   # ms, s, MB (footprint.py)
    python benchmarks/bench.py --tf-python /path/to/venv/bin/python   # a tf-keras column (also LAMINA_BENCH_TF_PYTHON)
    python benchmarks/bench.py --busy 2                 # with 2 processes spinning on the CPU the whole time
    python benchmarks/bench.py --passes 3               # each cell: the best of 3 processes, run in turn

tf-keras (Keras 2 on TensorFlow) gets a column when it is installed: in this interpreter, or in the one that
`--tf-python` or LAMINA_BENCH_TF_PYTHON names (TensorFlow and lamina's test extras rarely share a virtual
environment). The last column is lamina against the best other library of the row.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import time

import footprint
import threads as busy_machine

WORKLOADS = {
    # name: (input dim, hidden sizes, classes, dropout, batch size, samples)
    "small": (32, [64], 4, 0.0, 32, 32_000),
    "mlp": (784, [512, 512], 10, 0.2, 128, 20_000),
    # The FAQ-era MNIST convnet on 28x28x1: hidden sizes unused.
    "cnn": ((28, 28, 1), None, 10, 0.25, 128, 2_560),
    # IMDB-style: Embedding 20000 x 128 -> LSTM 128 -> Dense 1 (sigmoid), int sequences of length 80,
    # binary crossentropy. Input dim is the sequence length, classes the vocabulary size.
    "lstm": (80, [128], 20_000, 0.0, 32, 1_280),
    # The Keras 2 conv_lstm example, reduced: movies of 8 frames of 40x40x1 (the example: 15), one block of
    # ConvLSTM2D(40, 3x3, "same", return_sequences) + BatchNormalization (the example: 4), Conv3D(1, 3x3x3,
    # sigmoid), binary crossentropy, Adadelta, batch 10. Hidden sizes: the blocks' filters.
    "convlstm": ((8, 40, 40, 1), [40], 2, 0.0, 10, 20),
    # keras.applications.ResNet50 (weights=None, 1000 classes) on 224x224x3 images: `predict` at batch 32, and
    # `fit` with SGD and sparse categorical crossentropy at batch 16 (a few steps per epoch). No hand-written loop.
    "resnet50-predict": ((224, 224, 3), None, 1000, 0.0, 32, 64),
    "resnet50-train": ((224, 224, 3), None, 1000, 0.0, 16, 32),
    # 8 threads calling `predict` on one model at once, 200 calls each of 4 rows (issue 16): Dense 32 -> 64 (relu)
    # -> 4 (softmax), compiled, never fit. Measured in predict calls per second, not samples; no hand-written loop.
    "threads": (32, [64], 4, 0.0, 4, 200),
}
APPLICATIONS = {"resnet50-predict", "resnet50-train"}
THREADS = 8


def make_data(workload: str):
    import numpy as np

    dim, _, classes, _, _, samples = WORKLOADS[workload]
    rng = np.random.default_rng(0)
    if workload == "lstm":
        x = rng.integers(0, classes, (samples, dim)).astype("int32")
        return x, rng.integers(0, 2, samples).astype("float32")
    if workload == "convlstm":
        x = rng.random((samples, *dim)).astype("float32")
        return x, (rng.random((samples, *dim)) > 0.5).astype("float32")
    x = rng.standard_normal((samples, *np.atleast_1d(dim))).astype("float32")
    y = rng.integers(0, classes, samples).astype("int32")
    return x, y


def build_keras_like(lib, workload: str):
    dim, hidden, classes, dropout, _, _ = WORKLOADS[workload]
    if workload == "cnn":
        return build_cnn(lib)
    if workload == "lstm":
        return build_lstm(lib)
    if workload == "convlstm":
        return build_convlstm(lib)
    if workload in APPLICATIONS:
        model = lib.applications.ResNet50(weights=None)
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
        return model
    model = lib.Sequential()
    model.add(lib.layers.Input(shape=(dim,)))
    for units in hidden:
        model.add(lib.layers.Dense(units, activation="relu"))
        if dropout:
            model.add(lib.layers.Dropout(dropout))
    model.add(lib.layers.Dense(classes, activation="softmax"))
    model.compile(optimizer=lib.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    return model


def build_cnn(lib):
    layers = lib.layers
    model = lib.Sequential(
        [
            layers.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=lib.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    return model


def build_lstm(lib):
    length, (units,), vocabulary, _, _, _ = WORKLOADS["lstm"]
    layers = lib.layers
    model = lib.Sequential(
        [
            layers.Input(shape=(length,), dtype="int32"),
            layers.Embedding(vocabulary, 128),
            layers.LSTM(units),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=lib.optimizers.Adam(), loss="binary_crossentropy")
    return model


def build_convlstm(lib):
    shape, filters, _, _, _, _ = WORKLOADS["convlstm"]
    layers = lib.layers
    model = lib.Sequential([layers.Input(shape=(None, *shape[1:]))])  # any number of frames, as the example
    for width in filters:
        model.add(layers.ConvLSTM2D(width, (3, 3), padding="same", return_sequences=True))
        model.add(layers.BatchNormalization())
    model.add(layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same", data_format="channels_last"))
    model.compile(optimizer="adadelta", loss="binary_crossentropy")
    return model


def time_fit(model, x, y, batch_size, epochs, repeats) -> float:
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # warm-up: compile
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
        best = max(best, epochs * len(x) / (time.perf_counter() - start))
    return best


def time_predict(model, x, batch_size, epochs, repeats) -> float:
    model.predict(x, batch_size=batch_size, verbose=0)  # warm-up: compile
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(epochs):
            model.predict(x, batch_size=batch_size, verbose=0)
        best = max(best, epochs * len(x) / (time.perf_counter() - start))
    return best


def time_threads(model, rows, calls, repeats) -> float:
    """Predict calls per second of THREADS threads, each calling `model.predict` on its own `rows` `calls` times."""
    import threading

    import numpy as np

    pieces = np.array_split(rows[: THREADS * (len(rows) // THREADS)], THREADS)
    for piece in pieces:
        model.predict(piece, verbose=0)  # warm-up: compile
    errors = []

    def work(piece):
        try:
            for _ in range(calls):
                model.predict(piece, verbose=0)
        except Exception as error:  # a thread's error would otherwise vanish and leave a fast, wrong figure
            errors.append(error)

    best = 0.0
    for _ in range(repeats):
        threads = [threading.Thread(target=work, args=(piece,)) for piece in pieces]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        best = max(best, THREADS * calls / (time.perf_counter() - start))
    return best


def run_library(lib, workload, epochs, repeats):
    x, y = make_data(workload)
    model, batch_size = build_keras_like(lib, workload), WORKLOADS[workload][4]
    if workload == "threads":
        return time_threads(model, x[: THREADS * batch_size], WORKLOADS[workload][5], repeats)
    if workload.endswith("-predict"):
        return time_predict(model, x, batch_size, epochs, repeats)
    return time_fit(model, x, y, batch_size, epochs, repeats)


def run_lamina(workload, epochs, repeats):
    import lamina

    return run_library(lamina, workload, epochs, repeats)


def run_keras(workload, epochs, repeats):
    import keras

    return run_library(keras, workload, epochs, repeats)


def run_tf_keras(workload, epochs, repeats):
    import tf_keras

    return run_library(tf_keras, workload, epochs, repeats)


def tf_keras_python(explicit: str | None) -> str | None:
    """The interpreter that runs tf-keras: `explicit`, LAMINA_BENCH_TF_PYTHON, this one if it has tf_keras, or None."""
    chosen = explicit or os.environ.get("LAMINA_BENCH_TF_PYTHON")
    if chosen:
        return chosen
    return sys.executable if importlib.util.find_spec("tf_keras") is not None else None


def run_jax_loop(workload, epochs, repeats):
    """A plain jitted JAX training loop: one jitted step per batch, Adam written out."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    dim, hidden, classes, dropout, batch, _ = WORKLOADS[workload]
    if workload in ("cnn", "lstm", "convlstm"):
        return float("nan")  # the hand-written JAX loop covers the dense workloads only
    x, y = make_data(workload)
    sizes = [dim, *hidden, classes]
    rng = np.random.default_rng(0)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6 / (a + b))
        params.append((jnp.asarray(rng.uniform(-limit, limit, (a, b)), "float32"), jnp.zeros(b)))
    opt = (jax.tree_util.tree_map(jnp.zeros_like, params), jax.tree_util.tree_map(jnp.zeros_like, params), 0)

    def forward(params, xb, key):
        h = xb
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
                if dropout:
                    key, sub = jax.random.split(key)
                    keep = jax.random.bernoulli(sub, 1 - dropout, h.shape)
                    h = jnp.where(keep, h / (1 - dropout), 0)
        return jax.nn.log_softmax(h)

    def loss_fn(params, xb, yb, key):
        return -jnp.mean(jnp.take_along_axis(forward(params, xb, key), yb[:, None], 1))

    @jax.jit
    def step(params, opt, xb, yb, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb, key)
        m, v, t = opt
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
        scale = 1e-3 * jnp.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        params = jax.tree_util.tree_map(lambda p, m, v: p - scale * m / (jnp.sqrt(v) + 1e-7), params, m, v)
        return params, (m, v, t), loss

    key = jax.random.PRNGKey(0)

    def epoch(params, opt, key):
        order = np.random.permutation(len(x))
        for i in range(0, len(x) - batch + 1, batch):
            idx = order[i : i + batch]
            key, sub = jax.random.split(key)
            params, opt, loss = step(params, opt, x[idx], y[idx], sub)
        loss.block_until_ready()
        return params, opt, key

    params, opt, key = epoch(params, opt, key)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(epochs):
            params, opt, key = epoch(params, opt, key)
        best = max(best, epochs * len(x) / (time.perf_counter() - start))
    return best


def run_torch_loop(workload, epochs, repeats):
    """A plain PyTorch training loop: nn.Sequential, torch.optim.Adam (eps=1e-7), one step per batch."""
    import numpy as np
    import torch

    dim, hidden, classes, dropout, batch, _ = WORKLOADS[workload]
    if workload == "convlstm":
        return float("nan")  # no hand-written torch ConvLSTM loop
    x, y = make_data(workload)
    nn = torch.nn
    if workload == "lstm":
        return _run_torch_lstm_loop(x, y, batch, epochs, repeats)
    if workload == "cnn":
        net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, classes),
        )  # fmt: skip
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    else:
        parts, size = [], dim
        for units in hidden:
            parts += [nn.Linear(size, units), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
            size = units
        net = nn.Sequential(*parts, nn.Linear(size, classes))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()

    def epoch():
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            idx = order[i : i + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()

    epoch()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(epochs):
            epoch()
        best = max(best, epochs * len(x) / (time.perf_counter() - start))
    return best


def _run_torch_lstm_loop(x, y, batch, epochs, repeats):
    """nn.Embedding + nn.LSTM + nn.Linear with a sigmoid, BCELoss, torch.optim.Adam (eps=1e-7)."""
    import torch

    length, (units,), vocabulary, _, _, _ = WORKLOADS["lstm"]
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocabulary, 128)
            self.lstm = nn.LSTM(128, units, batch_first=True)
            self.dense = nn.Linear(units, 1)

        def forward(self, ids):
            _, (h, _) = self.lstm(self.embedding(ids))
            return torch.sigmoid(self.dense(h[0]))[:, 0]

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.BCELoss()
    xt, yt = torch.from_numpy(x).long(), torch.from_numpy(y)

    def epoch():
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            idx = order[i : i + batch]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(xt[idx]), yt[idx]).backward()
            optimizer.step()

    epoch()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(epochs):
            epoch()
        best = max(best, epochs * len(x) / (time.perf_counter() - start))
    return best


MODULES = {"tf-keras": "tf_keras"}  # a library's module where its name is not one
RUNNERS = {
    "lamina": run_lamina,
    "keras": run_keras,
    "tf-keras": run_tf_keras,
    "jax-loop": run_jax_loop,
    "torch-loop": run_torch_loop,
}


def run_footprint(library, row, epochs, repeats) -> dict:
    """A footprint.py row: predict latency, import time or peak memory, for one library (nan where it has none)."""
    nothing = {"value": float("nan")}
    if row.startswith("memory-"):
        trained = RUNNERS[library](footprint.base_workload(row), epochs, repeats)
        return nothing if trained != trained else footprint.peak_rss_mb()  # nan: this loop has no such workload
    if library.endswith("-loop"):
        return nothing  # no hand-written predict or import to time
    module = MODULES.get(library, library)
    if row == "import":
        return footprint.import_seconds(module, lambda imported: build_keras_like(imported, "small"))
    return footprint.predict_latency(build_keras_like(importlib.import_module(module), "small"), make_data("small")[0])


def child(library, workload, epochs, repeats):
    if workload in footprint.ROWS:
        print(json.dumps(run_footprint(library, workload, epochs, repeats)))
    else:
        print(json.dumps({"value": RUNNERS[library](workload, epochs, repeats)}))


def _cell(result: dict) -> str:
    if "text" in result:
        return f"{result['text']:>12s}"
    value = result["value"]
    return f"{value:12,.1f}" if value < 100 else f"{value:12,.0f}"


def lamina_against_the_rest(row: dict, lower_is_better: bool) -> tuple[float, float]:
    """(lamina / Keras 3, lamina / the best other library) of one row, each > 1 where lamina is better.

    Example:
        >>> row = {"lamina": {"value": 3.0}, "keras": {"value": 2.0}, "tf-keras": {"value": 4.0}}
        >>> lamina_against_the_rest(row, lower_is_better=False)
        (1.5, 0.75)
    """
    value = {library: cell["value"] for library, cell in row.items()}
    others = [v for library, v in value.items() if library != "lamina" and v == v]  # nan: not measured
    mine, theirs = value.get("lamina", float("nan")), value.get("keras", float("nan"))
    if lower_is_better:
        best = min(others) if others else float("nan")
        return theirs / mine, best / mine
    best = max(others) if others else float("nan")
    return mine / theirs, mine / best


def better(old: dict | None, new: dict, lower_is_better: bool) -> dict:
    """The better of two measurements of one cell (a failed one, nan, loses to any other).

    Example:
        >>> better({"value": 2.0}, {"value": 3.0}, lower_is_better=False)
        {'value': 3.0}
    """
    if old is None or old["value"] != old["value"]:
        return new
    if new["value"] != new["value"]:
        return old
    if lower_is_better:
        return new if new["value"] < old["value"] else old
    return new if new["value"] > old["value"] else old


def _ratio(value: float) -> str:
    """'1.23x', or '-' where a side was not measured."""
    return "-" if value != value else f"{value:.2f}x"


def run_child(python, library, workload, args, env) -> dict:
    cmd = [python, __file__, "--child", library, workload, "--epochs", str(args.epochs), "--repeats", str(args.repeats)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        print(f"{library} {workload}:\n{out.stderr[-2000:]}", file=sys.stderr)
        return {"value": float("nan")}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=[*WORKLOADS, *footprint.ROWS])
    parser.add_argument("--engine", choices=["jax", "torch"], default="jax")
    parser.add_argument("--libraries", nargs="*", default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tf-python", default=None, help="an interpreter with tf_keras installed, for its column")
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on the CPU while the table runs")
    parser.add_argument(
        "--passes", type=int, default=1, help="processes per cell, the libraries taking turns; the best is shown"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.epochs, args.repeats)
        return
    tf_python = tf_keras_python(args.tf_python)
    if args.libraries is None:
        args.libraries = ["lamina", "keras", *(["tf-keras"] if tf_python else []), f"{args.engine}-loop"]
    env = dict(os.environ, KERAS_BACKEND=args.engine, LAMINA_BACKEND=args.engine, TF_CPP_MIN_LOG_LEVEL="2")
    print(
        f"engine: {args.engine}; samples/s of steady-state fit (threads: predict calls/s; best of {args.repeats}); "
        + "; ".join(f"{row}: {unit}, {what}, lower is better" for row, (unit, what) in footprint.ROWS.items())
        + (f"; {args.busy} busy processes" if args.busy else "")
    )
    print(f"{'workload':16s} " + " ".join(f"{lib:>12s}" for lib in args.libraries) + "   lamina/keras  lamina/best")
    spinning = busy_machine.start_busy(args.busy)
    try:
        for workload in args.only:
            row = {}
            lower_is_better = workload in footprint.ROWS
            for _ in range(max(args.passes, 1)):  # in turns: a machine that slows for a minute slows every library
                for library in args.libraries:
                    no_loop = workload in APPLICATIONS or workload in ("threads", "predict-latency", "import")
                    if (no_loop and library.endswith("-loop")) or (library == "tf-keras" and not tf_python):
                        row[library] = {"value": float("nan")}  # no hand-written ResNet50, threaded predict or import
                        continue
                    python = tf_python if library == "tf-keras" else sys.executable
                    row[library] = better(
                        row.get(library), run_child(python, library, workload, args, env), lower_is_better
                    )
            ratio, best = lamina_against_the_rest(row, lower_is_better=lower_is_better)
            cells = " ".join(_cell(row[lib]) for lib in args.libraries)
            print(f"{workload:16s} {cells}   {_ratio(ratio):>12s} {_ratio(best):>12s}", flush=True)
    finally:
        busy_machine.stop_busy(spinning)


if __name__ == "__main__":
    main()
