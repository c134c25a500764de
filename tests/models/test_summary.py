"""`model.summary()` of Sequential and subclassed models, checked line by line against tf.keras 2.x.

Every expected table below is what tf-keras 2.21 (TensorFlow 2.21, `TF_USE_LEGACY_KERAS=1`)
printed for the same model; trailing spaces are stripped here and the line widths checked apart.
"""

from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.models.summary import readable_memory_size

_TOTALS = ("Model:", "Total params", "Trainable params", "Non-trainable params")


def summary_lines(model, **kwargs) -> list:
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def assert_summary(model, kwargs, width, expected) -> None:
    lines = summary_lines(model, **kwargs)
    assert "".join(line.rstrip() + "\n" for line in lines) == expected
    # Rows and rules are padded to the full width, as in tf.keras.
    assert {len(line) for line in lines if not line.startswith(_TOTALS)} == {width}


def mlp():
    return lamina.Sequential(
        [
            layers.Dense(16, activation="relu", input_shape=(8,), name="hidden"),
            layers.Dropout(0.5, name="drop"),
            layers.BatchNormalization(name="norm"),
            layers.Dense(1, name="out"),
        ],
        name="mlp",
    )


def long_names():
    return lamina.Sequential(
        [
            layers.Dense(2, input_shape=(3,), name="a_really_quite_extremely_long_layer_name_that_goes_on_and_on"),
            layers.Dense(1, name="short"),
        ],
        name="long_names_model_with_a_long_name",
    )


def subclassed():
    class Sub(lamina.Model):
        def __init__(self):
            super().__init__(name="sub")
            self.d1 = layers.Dense(4, name="d1")
            self.d2 = layers.Dense(2, name="d2")
            self.unused = layers.Dense(2, name="unused")

        def call(self, x):
            return self.d2(self.d1(x))

    model = Sub()
    model(np.zeros((1, 3), "float32"))
    return model


def frozen():
    model = lamina.Sequential([layers.Dense(3, input_shape=(2,), name="f1"), layers.Dense(1, name="f2")], name="frozen")
    model.layers[0].trainable = False
    return model


EXPECTED = {
    "mlp": (
        mlp,
        {},
        65,
        """\
Model: "mlp"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 hidden (Dense)              (None, 16)                144

 drop (Dropout)              (None, 16)                0

 norm (BatchNormalization)   (None, 16)                64

 out (Dense)                 (None, 1)                 17

=================================================================
Total params: 225 (900.00 Byte)
Trainable params: 193 (772.00 Byte)
Non-trainable params: 32 (128.00 Byte)
_________________________________________________________________
""",
    ),
    "mlp_trainable": (
        mlp,
        {"show_trainable": True},
        76,
        """\
Model: "mlp"
____________________________________________________________________________
 Layer (type)                Output Shape              Param #   Trainable
============================================================================
 hidden (Dense)              (None, 16)                144       Y

 drop (Dropout)              (None, 16)                0         Y

 norm (BatchNormalization)   (None, 16)                64        Y

 out (Dense)                 (None, 1)                 17        Y

============================================================================
Total params: 225 (900.00 Byte)
Trainable params: 193 (772.00 Byte)
Non-trainable params: 32 (128.00 Byte)
____________________________________________________________________________
""",
    ),
    "mlp_absolute_positions": (
        mlp,
        {"positions": [30, 50, 65]},
        65,
        """\
Model: "mlp"
_________________________________________________________________
 Layer (type)                 Output Shape        Param #
=================================================================
 hidden (Dense)               (None, 16)          144

 drop (Dropout)               (None, 16)          0

 norm (BatchNormalization)    (None, 16)          64

 out (Dense)                  (None, 1)           17

=================================================================
Total params: 225 (900.00 Byte)
Trainable params: 193 (772.00 Byte)
Non-trainable params: 32 (128.00 Byte)
_________________________________________________________________
""",
    ),
    "mlp_layer_range": (
        mlp,
        {"layer_range": ["drop", "norm"]},
        65,
        """\
Model: "mlp"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 drop (Dropout)              (None, 16)                0

 norm (BatchNormalization)   (None, 16)                64

=================================================================
Total params: 225 (900.00 Byte)
Trainable params: 193 (772.00 Byte)
Non-trainable params: 32 (128.00 Byte)
_________________________________________________________________
""",
    ),
    "long_names": (
        long_names,
        {},
        65,
        """\
Model: "long_names_model_with_a_long_name"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 a_really_quite_extremely_l  (None, 2)                 8
 ong_layer_name_that_goes_o
 n_and_on (Dense)

 short (Dense)               (None, 1)                 3

=================================================================
Total params: 11 (44.00 Byte)
Trainable params: 11 (44.00 Byte)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
""",
    ),
    "subclassed": (
        subclassed,
        {},
        65,
        """\
Model: "sub"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 d1 (Dense)                  multiple                  16

 d2 (Dense)                  multiple                  10

 unused (Dense)              multiple                  0 (unused)

=================================================================
Total params: 26 (104.00 Byte)
Trainable params: 26 (104.00 Byte)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
""",
    ),
    "frozen": (
        frozen,
        {"show_trainable": True},
        76,
        """\
Model: "frozen"
____________________________________________________________________________
 Layer (type)                Output Shape              Param #   Trainable
============================================================================
 f1 (Dense)                  (None, 3)                 9         N

 f2 (Dense)                  (None, 1)                 4         Y

============================================================================
Total params: 13 (52.00 Byte)
Trainable params: 4 (16.00 Byte)
Non-trainable params: 9 (36.00 Byte)
____________________________________________________________________________
""",
    ),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_summary_matches_tf_keras(case):
    build, kwargs, width, expected = EXPECTED[case]
    assert_summary(build(), kwargs, width, expected)


def test_long_names_are_wrapped_not_cut():
    lines = summary_lines(long_names())
    first_column = "".join(line[1:27] for line in lines[4:7]).rstrip()
    assert first_column == "a_really_quite_extremely_long_layer_name_that_goes_on_and_on (Dense)"


def test_line_length_widens_every_column():
    lines = summary_lines(mlp(), line_length=80)
    assert lines[1] == "_" * 80
    assert lines[2] == " Layer (type)                       Output Shape                    Param #     "
    assert lines[4] == " hidden (Dense)                     (None, 16)                      144         "
    assert lines[-1] == "_" * 80


def test_relative_positions():
    lines = summary_lines(mlp(), positions=[0.5, 0.8, 1.0])
    assert lines[2] == " Layer (type)                   Output Shape        Param #      "
    assert lines[6] == " drop (Dropout)                 (None, 16)          0            "


def test_parameter_counts_carry_their_memory_size():
    big = lamina.Sequential([layers.Dense(1000, input_shape=(1000,), name="a"), layers.Dense(1000, name="b")])
    lines = summary_lines(big)
    assert lines[4] == " a (Dense)                   (None, 1000)              1001000   "
    assert lines[-4:-1] == [
        "Total params: 2002000 (7.64 MB)",
        "Trainable params: 2002000 (7.64 MB)",
        "Non-trainable params: 0 (0.00 Byte)",
    ]


@pytest.mark.parametrize(
    "size, text",
    [(0, "0.00 Byte"), (644, "644.00 Byte"), (1023, "1023.00 Byte"), (1024, "1.00 KB"), (40000, "39.06 KB"),
     (76_800_000, "73.24 MB"), (3 * 1024**3, "3.00 GB"), (5 * 1024**5, "5.00 PB")],
)  # fmt: skip
def test_readable_memory_size(size, text):  # the values tf-keras 2.21 gives
    assert readable_memory_size(size) == text


def test_summary_prints_to_stdout_by_default(capsys):
    mlp().summary()
    out = capsys.readouterr().out
    assert out.startswith('Model: "mlp"\n' + "_" * 65 + "\n")
    assert out.endswith("Non-trainable params: 32 (128.00 Byte)\n" + "_" * 65 + "\n")


def test_an_unbuilt_model_has_no_summary():
    model = lamina.Sequential([layers.Dense(3, name="x3")], name="unbuilt")
    with pytest.raises(ValueError, match="This model has not yet been built"):
        model.summary()
    model.build((None, 7))
    assert summary_lines(model)[4] == " x3 (Dense)                  (None, 3)                 24        "


def test_layer_range_must_name_layers():
    with pytest.raises(ValueError, match="layer_range must be a list or tuple of length 2"):
        mlp().summary(layer_range=["hidden"])
    with pytest.raises(ValueError, match="do not match the layer names"):
        mlp().summary(layer_range=["nope", "out"])
    # Given backwards, the range still covers both ends, as in tf.keras.
    assert summary_lines(mlp(), layer_range=["norm", "drop"]) == summary_lines(mlp(), layer_range=["drop", "norm"])
