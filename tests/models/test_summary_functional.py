"""`model.summary()` of functional models (Connected to, shared and nested layers), checked against tf.keras 2.x.

Every expected table below is what tf-keras 2.21 (TensorFlow 2.21, `TF_USE_LEGACY_KERAS=1`)
printed for the same model; trailing spaces are stripped here and the line widths checked apart.
"""

from __future__ import annotations

import pytest

import lamina
from lamina import layers

_TOTALS = ("Model:", "Total params", "Trainable params", "Non-trainable params")


def assert_summary(model, kwargs, width, expected) -> None:
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    assert "".join(line.rstrip() + "\n" for line in lines) == expected
    # Rows and rules are padded to the full width, as in tf.keras.
    assert {len(line) for line in lines if not line.startswith(_TOTALS)} == {width}


def siamese():
    left = lamina.Input((4,), name="left")
    right = lamina.Input((4,), name="right")
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate(name="concat")([shared(left), shared(right)])
    return lamina.Model([left, right], layers.Dense(1, name="head")(merged), name="siamese")


def chain():
    x = lamina.Input((5,), name="x")
    y = layers.Dense(3, name="d2")(layers.Dense(2, name="d1")(x))
    return lamina.Model(x, y, name="linear")


def nested():
    inner = lamina.Sequential(
        [layers.Dense(4, input_shape=(3,), name="inner_dense"), layers.Dense(2, name="inner_out")], name="inner"
    )
    x = lamina.Input((3,), name="inp")
    return lamina.Model(x, layers.Dense(1, name="final")(inner(x)), name="outer")


def nested_twice():
    inner = lamina.Sequential([layers.Dense(4, input_shape=(3,), name="in1")], name="innerseq")
    x1 = lamina.Input((3,), name="x1")
    x2 = lamina.Input((3,), name="x2")
    return lamina.Model([x1, x2], layers.Add(name="sum")([inner(x1), inner(x2)]), name="twin")


def long_connections():
    x1 = lamina.Input((3,), name="an_input_with_a_rather_long_name_indeed")
    x2 = lamina.Input((3,), name="another_input_with_a_rather_long_name")
    added = layers.Add(name="add_layer_with_a_long_name_too")([x1, x2])
    return lamina.Model([x1, x2], layers.Concatenate(name="cat")([added, x1, x2, added]), name="lf")


def long_shapes():
    x = lamina.Input((2, 3, 4, 5, 6, 7, 8, 9), name="manydims")
    return lamina.Model(x, layers.Dense(1000, name="wide")(x), name="md")


def multi_output():
    x = lamina.Input((3, 4), name="seq")
    return lamina.Model(x, layers.LSTM(5, return_state=True, name="lstm")(x), name="rnn")


def shared_two_shapes():
    x = lamina.Input((4,), name="x")
    ident = layers.Lambda(lambda t: t, name="ident")
    wide = layers.Dense(5, name="wide")(x)
    return lamina.Model(x, layers.Concatenate(name="cat")([ident(wide), ident(x)]), name="m2")


EXPECTED = {
    "siamese": (
        siamese,
        {},
        98,
        """\
Model: "siamese"
__________________________________________________________________________________________________
 Layer (type)                Output Shape                 Param #   Connected to
==================================================================================================
 left (InputLayer)           [(None, 4)]                  0         []

 right (InputLayer)          [(None, 4)]                  0         []

 shared (Dense)              (None, 3)                    15        ['left[0][0]',
                                                                     'right[0][0]']

 concat (Concatenate)        (None, 6)                    0         ['shared[0][0]',
                                                                     'shared[1][0]']

 head (Dense)                (None, 1)                    7         ['concat[0][0]']

==================================================================================================
Total params: 22 (88.00 Byte)
Trainable params: 22 (88.00 Byte)
Non-trainable params: 0 (0.00 Byte)
__________________________________________________________________________________________________
""",
    ),
    "siamese_trainable": (
        siamese,
        {"show_trainable": True},
        109,
        """\
Model: "siamese"
_____________________________________________________________________________________________________________
 Layer (type)                Output Shape                 Param #   Connected to                  Trainable
=============================================================================================================
 left (InputLayer)           [(None, 4)]                  0         []                            Y

 right (InputLayer)          [(None, 4)]                  0         []                            Y

 shared (Dense)              (None, 3)                    15        ['left[0][0]',                Y
                                                                     'right[0][0]']

 concat (Concatenate)        (None, 6)                    0         ['shared[0][0]',              Y
                                                                     'shared[1][0]']

 head (Dense)                (None, 1)                    7         ['concat[0][0]']              Y

=============================================================================================================
Total params: 22 (88.00 Byte)
Trainable params: 22 (88.00 Byte)
Non-trainable params: 0 (0.00 Byte)
_____________________________________________________________________________________________________________
""",
    ),
    "chain": (
        chain,
        {},
        65,
        """\
Model: "linear"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 x (InputLayer)              [(None, 5)]               0

 d1 (Dense)                  (None, 2)                 12

 d2 (Dense)                  (None, 3)                 9

=================================================================
Total params: 21 (84.00 Byte)
Trainable params: 21 (84.00 Byte)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
""",
    ),
    "nested": (
        nested,
        {},
        65,
        """\
Model: "outer"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 inp (InputLayer)            [(None, 3)]               0

 inner (Sequential)          (None, 2)                 26

 final (Dense)               (None, 1)                 3

=================================================================
Total params: 29 (116.00 Byte)
Trainable params: 29 (116.00 Byte)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
""",
    ),
    "nested_expanded": (
        nested,
        {"expand_nested": True},
        65,
        """\
Model: "outer"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 inp (InputLayer)            [(None, 3)]               0

 inner (Sequential)          (None, 2)                 26
|¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯|
| inner_dense (Dense)        (None, 4)                 16       |
|                                                               |
| inner_out (Dense)          (None, 2)                 10       |
¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯
 final (Dense)               (None, 1)                 3

=================================================================
Total params: 29 (116.00 Byte)
Trainable params: 29 (116.00 Byte)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
""",
    ),
    "nested_twice_expanded": (
        nested_twice,
        {"expand_nested": True},
        98,
        """\
Model: "twin"
__________________________________________________________________________________________________
 Layer (type)                Output Shape                 Param #   Connected to
==================================================================================================
 x1 (InputLayer)             [(None, 3)]                  0         []

 x2 (InputLayer)             [(None, 3)]                  0         []

 innerseq (Sequential)       (None, 4)                    16        ['x1[0][0]',
                                                                     'x2[0][0]']
|¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯|
| in1 (Dense)                (None, 4)                    16        []                           |
¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯¯
 sum (Add)                   (None, 4)                    0         ['innerseq[0][0]',
                                                                     'innerseq[1][0]']

==================================================================================================
Total params: 16 (64.00 Byte)
Trainable params: 16 (64.00 Byte)
Non-trainable params: 0 (0.00 Byte)
__________________________________________________________________________________________________
""",
    ),
    "long_connections": (
        long_connections,
        {},
        98,
        """\
Model: "lf"
__________________________________________________________________________________________________
 Layer (type)                Output Shape                 Param #   Connected to
==================================================================================================
 an_input_with_a_rather_lon  [(None, 3)]                  0         []
 g_name_indeed (InputLayer)

 another_input_with_a_rathe  [(None, 3)]                  0         []
 r_long_name (InputLayer)

 add_layer_with_a_long_name  (None, 3)                    0         ['an_input_with_a_rather_long_
 _too (Add)                                                         name_indeed[0][0]',
                                                                     'another_input_with_a_rather_
                                                                    long_name[0][0]']

 cat (Concatenate)           (None, 12)                   0         ['add_layer_with_a_long_name_t
                                                                    oo[0][0]',
                                                                     'an_input_with_a_rather_long_
                                                                    name_indeed[0][0]',
                                                                     'another_input_with_a_rather_
                                                                    long_name[0][0]',
                                                                     'add_layer_with_a_long_name_t
                                                                    oo[0][0]']

==================================================================================================
Total params: 0 (0.00 Byte)
Trainable params: 0 (0.00 Byte)
Non-trainable params: 0 (0.00 Byte)
__________________________________________________________________________________________________
""",
    ),
    "long_shapes": (
        long_shapes,
        {},
        65,
        """\
Model: "md"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 manydims (InputLayer)       [(None, 2, 3, 4, 5, 6,    0
                             7, 8, 9)]

 wide (Dense)                (None, 2, 3, 4, 5, 6, 7   10000
                             , 8, 1000)

=================================================================
Total params: 10000 (39.06 KB)
Trainable params: 10000 (39.06 KB)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
""",
    ),
    "multi_output": (
        multi_output,
        {},
        65,
        """\
Model: "rnn"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 seq (InputLayer)            [(None, 3, 4)]            0

 lstm (LSTM)                 [(None, 5),               200
                              (None, 5),
                              (None, 5)]

=================================================================
Total params: 200 (800.00 Byte)
Trainable params: 200 (800.00 Byte)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________
""",
    ),
    "shared_two_shapes": (
        shared_two_shapes,
        {},
        98,
        """\
Model: "m2"
__________________________________________________________________________________________________
 Layer (type)                Output Shape                 Param #   Connected to
==================================================================================================
 x (InputLayer)              [(None, 4)]                  0         []

 wide (Dense)                (None, 5)                    25        ['x[0][0]']

 ident (Lambda)              multiple                     0         ['wide[0][0]',
                                                                     'x[0][0]']

 cat (Concatenate)           (None, 9)                    0         ['ident[0][0]',
                                                                     'ident[1][0]']

==================================================================================================
Total params: 25 (100.00 Byte)
Trainable params: 25 (100.00 Byte)
Non-trainable params: 0 (0.00 Byte)
__________________________________________________________________________________________________
""",
    ),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_summary_matches_tf_keras(case):
    build, kwargs, width, expected = EXPECTED[case]
    assert_summary(build(), kwargs, width, expected)


def test_a_layer_shared_with_another_model_shows_only_this_models_calls():
    shared = layers.Dense(2, name="reused")
    a = lamina.Input((3,), name="a")
    first = lamina.Model(a, shared(a), name="first")
    b = lamina.Input((3,), name="b")
    c = lamina.Input((3,), name="c")
    second = lamina.Model([b, c], layers.Add(name="plus")([shared(b), shared(c)]), name="second")
    lines = []
    second.summary(print_fn=lines.append)
    row = lines.index(next(line for line in lines if line.startswith(" reused (Dense)")))
    assert lines[row].rstrip() == " reused (Dense)              (None, 2)                    8         ['b[0][0]',"
    assert lines[row + 1].rstrip() == " " * 69 + "'c[0][0]']"
    first_lines = []
    first.summary(print_fn=first_lines.append)
    assert " reused (Dense)              (None, 2)                 8         " in first_lines
