"""The FAQ's code blocks about training, run with `keras` -> `lamina` and the elided parts filled in.

Each test quotes its block's lines as written in the FAQ (spec/keras-faq.txt), then checks what the FAQ says
happens. Freezing, pop, intermediate outputs and validation_split live in tests/test_faq.py; K.function in
tests/backend/test_k_api.py; stateful RNNs in tests/layers/.
"""

from __future__ import annotations

import h5py
import numpy as np

import lamina
from lamina import backend as K
from lamina.layers import Dense, Dropout, Input
from lamina.models import Model, Sequential

RNG = np.random.default_rng(0)
DATA = RNG.normal(size=(64, 8)).astype("float32")
LABELS = (DATA[:, :1] > 0).astype("float32")


def small_model():
    model = Sequential([Dense(8, activation="relu", input_dim=8), Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_faq_early_stopping():
    from lamina.callbacks import EarlyStopping

    model = small_model()
    x, y = DATA, LABELS
    early_stopping = EarlyStopping(monitor="val_loss", patience=2)
    # A validation set the model cannot learn (labels unrelated to x): val_loss stops improving early.
    y = np.concatenate([LABELS[:48], RNG.integers(0, 2, (16, 1)).astype("float32")])
    hist = model.fit(x, y, validation_split=0.25, callbacks=[early_stopping], epochs=200, verbose=0)
    val = hist.history["val_loss"]
    stopped = len(val)
    assert stopped < 200
    best = int(np.argmin(val))
    # Stopped exactly `patience` epochs after the last improvement.
    assert stopped - 1 - best == 2


def test_faq_history_records_losses_and_metrics_per_epoch():
    model = small_model()
    hist = model.fit(DATA, LABELS, validation_split=0.2, epochs=3, verbose=0)
    print(hist.history)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 3 for values in hist.history.values())
    val_loss = model.evaluate(DATA[-13:], LABELS[-13:], verbose=0)[0]
    np.testing.assert_allclose(hist.history["val_loss"][-1], val_loss, rtol=1e-5)


def test_faq_freezing_with_a_frozen_and_a_trainable_model():
    x = Input(shape=(32,))
    layer = Dense(32)
    layer.trainable = False
    y = layer(x)

    frozen_model = Model(x, y)
    # in the model below, the weights of `layer` will not be updated during training
    frozen_model.compile(optimizer="rmsprop", loss="mse")

    layer.trainable = True
    trainable_model = Model(x, y)
    # with this model the weights of the layer will be updated during training
    # (which will also affect the above model since it uses the same layer instance)
    trainable_model.compile(optimizer="rmsprop", loss="mse")

    data = RNG.normal(size=(16, 32)).astype("float32")
    labels = RNG.normal(size=(16, 32)).astype("float32")
    before = layer.get_weights()
    frozen_model.fit(data, labels, verbose=0)  # this does NOT update the weights of `layer`
    for now, then in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(now, then)
    trainable_model.fit(data, labels, verbose=0)  # this updates the weights of `layer`
    assert not np.allclose(layer.get_weights()[0], before[0])


def test_faq_fit_generator():
    def data_generator():
        while True:
            for start in range(0, 64, 16):
                yield DATA[start : start + 16], LABELS[start : start + 16]

    model = small_model()
    twin = small_model()
    twin.set_weights(model.get_weights())
    model.fit_generator(data_generator(), steps_per_epoch=4, epochs=2, verbose=0)
    twin.fit(DATA, LABELS, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for mine, theirs in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_faq_batch_training_with_train_on_batch_and_test_on_batch():
    model = small_model()
    for start in range(0, 64, 16):
        model.train_on_batch(DATA[start : start + 16], LABELS[start : start + 16])
    loss, accuracy = model.test_on_batch(DATA[:16], LABELS[:16])
    expected_loss, expected_accuracy = model.evaluate(DATA[:16], LABELS[:16], verbose=0)
    np.testing.assert_allclose([loss, accuracy], [expected_loss, expected_accuracy], rtol=1e-5)


def test_faq_hdf5_inputs(tmp_path):
    path = tmp_path / "file.hdf5"
    with h5py.File(path, "w") as f:
        f["x_data"] = DATA
        f["y_data"] = LABELS
    start = small_model().get_weights()

    def trained_on(x, y, **fit_kwargs):
        model = small_model()
        model.set_weights(start)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, **fit_kwargs)
        return model.get_weights()

    expected = trained_on(DATA, LABELS, shuffle=False)
    # You can use the HDF5Matrix class from keras.utils.
    x_train = lamina.utils.HDF5Matrix(str(path), "x_data")
    y_train = lamina.utils.HDF5Matrix(str(path), "y_data")
    for got, want in zip(trained_on(x_train, y_train, shuffle=False), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    shuffled = trained_on(x_train, y_train, shuffle="batch")  # the FAQ era's way to shuffle HDF5 data
    assert not np.allclose(shuffled[0], start[0])
    # You can also directly use a HDF5 dataset:
    with h5py.File(path, "r") as f:
        x_data = f["x_data"]
        for got, want in zip(trained_on(x_data, f["y_data"], shuffle=False), expected):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_faq_learning_phase_function_with_dropout():
    model = Sequential([Dense(8, activation="relu", input_dim=8), Dropout(0.5), Dense(4), Dense(2)])
    get_3rd_layer_output = K.function([model.layers[0].input, K.learning_phase()], [model.layers[2].output])
    layer_output = get_3rd_layer_output([DATA, 0])[0]  # output in test mode = 0
    (k1, b1), (k2, b2) = model.layers[0].get_weights(), model.layers[2].get_weights()
    np.testing.assert_allclose(layer_output, np.maximum(DATA @ k1 + b1, 0) @ k2 + b2, rtol=1e-5, atol=1e-5)
    train_output = get_3rd_layer_output([DATA, 1])[0]  # output in train mode = 1
    assert not np.allclose(train_output, layer_output)


def test_faq_stateful_prediction_with_predict_classes():
    # "the methods predict, fit, train_on_batch, predict_classes, etc. will all update the states of the
    # stateful layers in a model": two predict_classes calls on the follow-up halves of a sequence equal one
    # stateless pass over the whole sequence.
    from lamina.layers import LSTM

    x = RNG.random((4, 10, 3)).astype("float32")
    model = Sequential()
    model.add(LSTM(5, input_shape=(5, 3), batch_size=4, stateful=True, return_sequences=True))
    model.add(Dense(3, activation="softmax"))
    whole = Sequential([Input((10, 3)), LSTM(5, return_sequences=True), Dense(3, activation="softmax")])
    whole.set_weights(model.get_weights())
    expected = whole.predict(x, verbose=0).argmax(-1)
    first = model.predict_classes(x[:, :5], batch_size=4)
    second = model.predict_classes(x[:, 5:], batch_size=4)
    np.testing.assert_array_equal(np.concatenate([first, second], axis=1), expected)
    model.reset_states()
    np.testing.assert_array_equal(model.predict_classes(x[:, :5], batch_size=4), first)


def test_freezing_a_nested_model_freezes_its_layers_and_batch_norm_statistics():
    # Keras 2's rules: a model's `trainable` covers every layer inside it, and a frozen BatchNormalization runs in
    # inference mode (its moving statistics stay put).
    from lamina.layers import BatchNormalization

    inner = Sequential([Dense(4, input_dim=8), BatchNormalization()], name="inner")
    x = Input((8,))
    outer = Model(x, Dense(1)(inner(x)))
    inner.trainable = False
    outer.compile(optimizer="sgd", loss="mse")
    assert len(outer.trainable_weights) == 2  # only the head's kernel and bias
    before_inner, before_head = inner.get_weights(), outer.layers[-1].get_weights()
    outer.fit(DATA, LABELS, epochs=2, verbose=0)
    for now, then in zip(inner.get_weights(), before_inner):
        np.testing.assert_array_equal(now, then)
    assert not np.allclose(outer.layers[-1].get_weights()[0], before_head[0])
    # Its output is the NumPy model of the unchanged weights (the moving statistics are 0 and 1).
    kernel, bias = inner.layers[0].get_weights()
    gamma, beta, mean, variance = inner.layers[1].get_weights()
    hidden = (DATA @ kernel + bias - mean) / np.sqrt(variance + 1e-3) * gamma + beta
    head_kernel, head_bias = outer.layers[-1].get_weights()
    np.testing.assert_allclose(outer.predict(DATA, verbose=0), hidden @ head_kernel + head_bias, rtol=1e-5, atol=1e-5)

    inner.trainable = True
    outer.compile(optimizer="sgd", loss="mse")  # takes effect at compile
    outer.fit(DATA, LABELS, epochs=1, verbose=0)
    changed = [not np.array_equal(now, then) for now, then in zip(inner.get_weights(), before_inner)]
    assert changed == [True] * 6  # kernel, bias, gamma, beta and both moving statistics
