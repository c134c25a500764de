"""HDF5 data read lazily: lamina.utils.HDF5Matrix (the Keras FAQ's class) and h5py datasets passed to fit.

HDF5Matrix is checked against h5py/NumPy; training on file-backed arrays is
checked against the same data as NumPy arrays (same History, same weights),
including validation_split, shuffle=True (rows read in increasing order and put
in the shuffled order in memory) and Keras 2's shuffle="batch".
"""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.trainers.data import array_data
from lamina.trainers.data.array_data import ArrayData, batch_shuffle
from lamina.trainers.data.lazy_arrays import RowView

N, BATCH = 36, 8
_rng = np.random.default_rng(3)
X = _rng.normal(size=(N, 3)).astype("float32")
Y = _rng.normal(size=(N, 2)).astype("float32")
IMAGES = _rng.integers(0, 256, size=(N, 4, 4), dtype=np.uint8)
KERNEL = _rng.normal(size=(3, 2)).astype("float32") * 0.5
BIAS = np.array([0.1, -0.2], "float32")


@pytest.fixture
def path(tmp_path):
    target = tmp_path / "data.h5"
    with h5py.File(target, "w") as handle:
        handle["x"], handle["y"], handle["images"] = X, Y, IMAGES
        handle["x64"] = X.astype("float64")
        handle["labels"] = (np.arange(N) % 2).astype("int64")
        handle.create_group("group")
    return target


class CountingMatrix(lamina.utils.HDF5Matrix):
    """An HDF5Matrix that records the size of every block of rows read from the file."""

    def _normalized(self, block):
        self.reads = getattr(self, "reads", [])
        self.reads.append(len(block))
        return super()._normalized(block)


def make_model(lr=0.05, **compile_kwargs):
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,))])
    model.set_weights([KERNEL, BIAS])
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=lr), loss="mse", metrics=["mae"], **compile_kwargs)
    return model


def assert_same(history, weights, want_history, want_weights):
    assert sorted(history) == sorted(want_history)
    for key in want_history:
        np.testing.assert_allclose(history[key], want_history[key], rtol=2e-5, atol=1e-6, err_msg=key)
    for got, want in zip(weights, want_weights):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


def fit_both(x, y, **fit_kwargs):
    """(history, weights) trained on file-backed x/y, and the same for NumPy X/Y, from the same seed."""
    runs = []
    for data in ((x, y), (X, Y)):
        lamina.utils.set_random_seed(9)
        model = make_model()
        history = model.fit(*data, batch_size=BATCH, verbose=0, **fit_kwargs)
        runs.append((history.history, model.get_weights()))
    return runs


# ------------------------------------------------------------------ HDF5Matrix
def test_hdf5matrix_reads_like_numpy(path):
    matrix = lamina.utils.HDF5Matrix(path, "x")
    assert (matrix.shape, matrix.dtype, matrix.ndim, matrix.size, len(matrix)) == ((N, 3), X.dtype, 2, N * 3, N)
    np.testing.assert_array_equal(matrix[:], X)
    np.testing.assert_array_equal(matrix[5:9], X[5:9])
    np.testing.assert_array_equal(matrix[::7], X[::7])
    np.testing.assert_array_equal(matrix[::-5], X[::-5])
    np.testing.assert_array_equal(matrix[3], X[3])
    np.testing.assert_array_equal(matrix[-1], X[-1])
    np.testing.assert_array_equal(matrix[[9, 2, 2, 30]], X[[9, 2, 2, 30]])  # any order, repeats: h5py needs neither
    np.testing.assert_array_equal(matrix[np.array([4, -1])], X[[4, -1]])
    np.testing.assert_array_equal(matrix[X[:, 0] > 0], X[X[:, 0] > 0])
    np.testing.assert_array_equal(np.asarray(matrix), X)


def test_hdf5matrix_start_end_and_normalizer(path):
    matrix = lamina.utils.HDF5Matrix(path, "images", start=10, end=30, normalizer=lambda a: a.astype("float32") / 255)
    want = IMAGES[10:30].astype("float32") / 255
    assert (matrix.shape, matrix.dtype, len(matrix), matrix.size) == ((20, 4, 4), np.float32, 20, 320)
    np.testing.assert_allclose(matrix[:], want)
    np.testing.assert_allclose(matrix[2:5], want[2:5])
    np.testing.assert_allclose(matrix[19], want[19])
    np.testing.assert_allclose(matrix[[7, 0, 3]], want[[7, 0, 3]])
    with h5py.File(path, "r") as handle:
        np.testing.assert_array_equal(lamina.utils.HDF5Matrix(path, "images", start=30)[:], handle["images"][30:])
    restored = pickle.loads(pickle.dumps(lamina.utils.HDF5Matrix(path, "x", start=4, end=8)))
    np.testing.assert_array_equal(restored[:], X[4:8])


def test_hdf5matrix_errors_name_the_file_the_dataset_and_the_rows(path, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"HDF5Matrix: no file at .*missing.h5"):
        lamina.utils.HDF5Matrix(tmp_path / "missing.h5", "x")
    with pytest.raises(ValueError, match=r"has nothing at 'z', expected a dataset; top-level entries: \['group',"):
        lamina.utils.HDF5Matrix(path, "z")
    with pytest.raises(ValueError, match=r"has a group at 'group'"):
        lamina.utils.HDF5Matrix(path, "group")
    with pytest.raises(ValueError, match=rf"expected 0 <= start <= end <= {N} .*got start=5, end=99"):
        lamina.utils.HDF5Matrix(path, "x", start=5, end=99)
    matrix = lamina.utils.HDF5Matrix(path, "x", end=10)
    with pytest.raises(IndexError, match="index 10 is out of range for 10 rows"):
        matrix[10]
    with pytest.raises(IndexError, match=r"indices must be in \[-10, 10\)"):
        matrix[[1, 12]]
    with pytest.raises(TypeError, match="indexed by an int, a slice or a list of ints, got str"):
        matrix["a"]


# ---------------------------------------------------------- training on files
@pytest.mark.parametrize("source", ["HDF5Matrix", "h5py"])
def test_fit_evaluate_predict_on_file_backed_arrays_match_numpy(path, source):
    if source == "HDF5Matrix":
        x, y = lamina.utils.HDF5Matrix(path, "x"), lamina.utils.HDF5Matrix(path, "y")
        handle = None
    else:
        handle = h5py.File(path, "r")
        x, y = handle["x"], handle["y"]
    (got, got_weights), (want, want_weights) = fit_both(x, y, epochs=2, shuffle=False, validation_split=0.25)
    assert_same(got, got_weights, want, want_weights)
    model = make_model()
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), model.evaluate(X, Y, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), X @ KERNEL + BIAS, rtol=1e-5, atol=1e-6)
    if handle is not None:
        handle.close()


def test_float64_files_and_class_weight_read_lazily(path):
    x, labels = lamina.utils.HDF5Matrix(path, "x64"), lamina.utils.HDF5Matrix(path, "labels")
    model = lamina.Sequential([layers.Dense(2, input_shape=(3,), kernel_initializer="ones", activation="softmax")])
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    history = model.fit(x, labels, batch_size=BATCH, shuffle=False, class_weight={0: 1.0, 1: 4.0}, verbose=0)
    arrays = lamina.Sequential([layers.Dense(2, input_shape=(3,), kernel_initializer="ones", activation="softmax")])
    arrays.compile(optimizer=lamina.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    want = arrays.fit(X, np.arange(N) % 2, batch_size=BATCH, shuffle=False, class_weight={0: 1.0, 1: 4.0}, verbose=0)
    assert_same(history.history, model.get_weights(), want.history, arrays.get_weights())


def test_shuffle_true_reads_sorted_rows_and_trains_like_numpy_with_the_same_seed(path):
    x, y = lamina.utils.HDF5Matrix(path, "x"), lamina.utils.HDF5Matrix(path, "y")
    (got, got_weights), (want, want_weights) = fit_both(x, y, epochs=2, shuffle=True)
    assert_same(got, got_weights, want, want_weights)
    (_, unshuffled_weights), _ = fit_both(x, y, epochs=2, shuffle=False)
    assert not np.allclose(got_weights[0], unshuffled_weights[0])


def test_shuffle_batch_reads_whole_batch_blocks_in_a_new_order_every_epoch(path):
    x, y = CountingMatrix(path, "x"), lamina.utils.HDF5Matrix(path, "y")
    starts = []
    original = x.data

    class Spy:  # the h5py dataset under the matrix, recording which rows each read asks for
        shape, dtype = original.shape, original.dtype

        def __getitem__(self, key):
            starts.append((key.start, key.stop))
            return original[key]

    x.data = Spy()

    class EpochMarks(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            starts.append("epoch")

    model = make_model(steps_per_execution=1)
    model.fit(x, y, batch_size=BATCH, epochs=3, shuffle="batch", callbacks=[EpochMarks()], verbose=0)
    # Each step reads one block of neighbouring rows, starting at a multiple of 8 (the last reads of each epoch).
    steps = -(-N // BATCH)
    marks = [i for i, item in enumerate(starts) if item == "epoch"] + [len(starts)]
    epochs = [starts[marks[i] + 1 : marks[i + 1]][-steps:] for i in range(3)]
    blocks = [(s, min(s + BATCH, N)) for s in range(0, N, BATCH)]
    for epoch in epochs:
        assert sorted(epoch) == blocks and epoch[-1] == blocks[-1]  # the short last block stays last
    assert len({tuple(epoch) for epoch in epochs}) > 1
    (got, got_weights), (want, want_weights) = fit_both(lamina.utils.HDF5Matrix(path, "x"), y, shuffle="batch")
    assert_same(got, got_weights, want, want_weights)  # and arrays shuffle="batch" the same way


def test_batch_shuffle_keeps_blocks_and_the_short_last_batch():
    order = batch_shuffle(11, 3, np.random.default_rng(0))
    blocks = [order[i : i + 3].tolist() for i in range(0, 9, 3)]
    assert sorted(blocks) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and order[9:].tolist() == [9, 10]
    with pytest.raises(ValueError, match=r'shuffle must be True, False or "batch", got \'rows\''):
        make_model().fit(X, Y, shuffle="rows", verbose=0)


def test_validation_split_is_a_lazy_view_and_batches_read_only_their_rows(path, monkeypatch):
    x, y = CountingMatrix(path, "x"), CountingMatrix(path, "y")
    data = ArrayData(make_model(), x, y)
    x.reads.clear()
    train, validation = data.split(0.25)
    assert isinstance(validation.x[0], RowView) and x.reads == []  # nothing read yet
    np.testing.assert_array_equal(validation.take(np.array([1, 0]))[0], X[[28, 27]])
    monkeypatch.setattr(array_data, "LAZY_CHUNK_BYTES", 1)  # one batch per read (as for rows of 2 MB)
    x.reads.clear()
    history = make_model().fit(x, y, batch_size=4, epochs=1, validation_split=0.25, shuffle=False, verbose=0)
    assert max(x.reads) <= 4, x.reads  # one batch of rows at a time, never the whole array
    assert "val_loss" in history.history


def test_a_file_backed_array_must_hold_numbers(tmp_path):
    with h5py.File(tmp_path / "s.h5", "w") as handle:
        handle["names"] = np.array([b"a", b"b"])
    with h5py.File(tmp_path / "s.h5", "r") as handle:
        with pytest.raises(TypeError, match=r"x must hold numbers .*file-backed array of dtype \|S1"):
            make_model().fit(handle["names"], Y[:2], verbose=0)
