"""The table of tiny Keras 3 models behind `test_keras3_sweep.py`: one case per exported class.

A case builds its model with whichever Keras module it is given (always real Keras 3 here), says what
goes in and how it is compiled. Layer cases put the layer between an `Input` and, where its output is a
float tensor, `Flatten` + `Dense(2)`, so every model has something to train.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

BATCH = 4


@dataclasses.dataclass(frozen=True)
class Case:
    """One tiny model: `build(keras) -> uncompiled model`, its inputs, and how it trains.

    `compile(keras) -> kwargs for compile()` (None: the model is saved uncompiled and only predicts);
    `targets(rng, prediction) -> y`; `random`: the layer draws random numbers while training, so only
    inference is compared; `safe_mode`: what `load_model` needs (False only for Lambda's code).
    """

    build: Callable
    inputs: Callable
    compile: Callable | None = None
    targets: Callable | None = None
    random: bool = False
    safe_mode: bool = True


def _normal(*shape):
    return lambda rng: [rng.normal(size=(BATCH, *shape)).astype("float32")]


def _uniform(low, high, *shape):
    return lambda rng: [rng.uniform(low, high, size=(BATCH, *shape)).astype("float32")]


def _integers(high, *shape, dtype="int32"):
    return lambda rng: [rng.integers(0, high, size=(BATCH, *shape)).astype(dtype)]


def _mse_adam(k):
    return {"optimizer": k.optimizers.Adam(learning_rate=0.01), "loss": "mse"}


def _like_prediction(rng, prediction):
    return rng.normal(size=np.shape(prediction)).astype("float32")


def _head(k, tensor, scale=1.0):
    flat = k.layers.Flatten()(tensor)
    if scale != 1.0:  # keeps pixel-sized outputs near 1, where atol means something on both engines
        flat = k.layers.Rescaling(scale)(flat)
    return k.layers.Dense(2, name="head")(flat)


def layer(make, inputs, *, shape=None, dtype="float32", head=True, train=True, random=False, safe_mode=True):  # noqa: PLR0913
    """A case: Input(shape) -> make(keras) -> [Flatten -> Dense(2)]; `shape` defaults to the inputs'."""

    def build(k):
        sample = inputs(np.random.default_rng(0))[0]
        x = k.Input(shape if shape is not None else sample.shape[1:], batch_size=BATCH, dtype=dtype)
        y = make(k)(x)
        return k.Model(x, _head(k, y, 1 / 255.0 if inputs is IMG else 1.0) if head else y)

    return Case(build, inputs, _mse_adam if train else None, _like_prediction if train else None, random, safe_mode)


def _mse_sgd(k):
    return {"optimizer": k.optimizers.SGD(learning_rate=0.1), "loss": "mse"}


def multi(make, inputs, *, random=False, compile_=_mse_adam):
    """A case whose layer takes several inputs: `make(keras, input_tensors) -> output tensor`."""

    def build(k):
        xs = [k.Input(a.shape[1:], batch_size=BATCH) for a in inputs(np.random.default_rng(0))]
        return k.Model(xs, _head(k, make(k, xs)))

    return Case(build, inputs, compile_, _like_prediction, random)


def _inputs(*makers):
    return lambda rng: [a for m in makers for a in m(rng)]


SEQ = _normal(5, 3)
IMG = _uniform(0, 255, 8, 8, 3)
VOL = _normal(4, 4, 4, 2)
VEC = _normal(6)

L = {}  # exported layer name -> Case


def _simple(name, make, inputs, **kw):
    L[name] = layer(make, inputs, **kw)


# ----------------------------------------------------------------- core, activations, regularization
_simple("Dense", lambda k: k.layers.Dense(3, activation="tanh"), VEC)
_simple("InputLayer", lambda k: k.layers.Identity(), VEC)
_simple("Identity", lambda k: k.layers.Identity(), VEC)
_simple("Activation", lambda k: k.layers.Activation("swish"), VEC)
_simple("EinsumDense", lambda k: k.layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c"), VEC)
_simple("Embedding", lambda k: k.layers.Embedding(7, 3), _integers(7, 5), dtype="int32")
_simple("ReversibleEmbedding", lambda k: k.layers.ReversibleEmbedding(7, 3), _integers(7, 5), dtype="int32")
_simple("Lambda", lambda k: k.layers.Lambda(lambda t: t * 2.0 + 1.0), VEC, safe_mode=False)
_simple("Masking", lambda k: k.layers.Masking(0.0), SEQ)
_simple("ELU", lambda k: k.layers.ELU(0.5), VEC)
_simple("LeakyReLU", lambda k: k.layers.LeakyReLU(0.2), VEC)
_simple("PReLU", lambda k: k.layers.PReLU(), VEC)
_simple("ReLU", lambda k: k.layers.ReLU(max_value=1.0), VEC)
_simple("Softmax", lambda k: k.layers.Softmax(), VEC)
_simple("ActivityRegularization", lambda k: k.layers.ActivityRegularization(l1=0.01), VEC)
_simple("Dropout", lambda k: k.layers.Dropout(0.3), VEC, random=True)
_simple("AlphaDropout", lambda k: k.layers.AlphaDropout(0.3), VEC, random=True)
_simple("GaussianDropout", lambda k: k.layers.GaussianDropout(0.3), VEC, random=True)
_simple("GaussianNoise", lambda k: k.layers.GaussianNoise(0.3), VEC, random=True)
_simple("SpatialDropout1D", lambda k: k.layers.SpatialDropout1D(0.3), SEQ, random=True)
_simple("SpatialDropout2D", lambda k: k.layers.SpatialDropout2D(0.3), _normal(4, 4, 2), random=True)
_simple("SpatialDropout3D", lambda k: k.layers.SpatialDropout3D(0.3), VOL, random=True)

# ----------------------------------------------------------------- convolution and pooling
_simple("Conv1D", lambda k: k.layers.Conv1D(2, 3), SEQ)
_simple("Conv2D", lambda k: k.layers.Conv2D(2, 3), _normal(5, 5, 2))
_simple("Conv3D", lambda k: k.layers.Conv3D(2, 2), VOL)
_simple("Conv1DTranspose", lambda k: k.layers.Conv1DTranspose(2, 3, strides=2), SEQ)
_simple("Conv2DTranspose", lambda k: k.layers.Conv2DTranspose(2, 3, strides=2), _normal(3, 3, 2))
_simple("Conv3DTranspose", lambda k: k.layers.Conv3DTranspose(2, 2, strides=2), _normal(2, 2, 2, 2))
_simple("DepthwiseConv1D", lambda k: k.layers.DepthwiseConv1D(3, depth_multiplier=2), SEQ)
_simple("DepthwiseConv2D", lambda k: k.layers.DepthwiseConv2D(3, depth_multiplier=2), _normal(5, 5, 2))
_simple("SeparableConv1D", lambda k: k.layers.SeparableConv1D(2, 3), SEQ)
_simple("SeparableConv2D", lambda k: k.layers.SeparableConv2D(2, 3), _normal(5, 5, 2))
for _d, _inp in ((1, SEQ), (2, _normal(4, 4, 2)), (3, VOL)):
    for _kind in ("Average", "Max"):
        _simple(f"{_kind}Pooling{_d}D", lambda k, n=f"{_kind}Pooling{_d}D": getattr(k.layers, n)(2), _inp)
        _simple(f"Global{_kind}Pooling{_d}D", lambda k, n=f"Global{_kind}Pooling{_d}D": getattr(k.layers, n)(), _inp)
        _simple(
            f"Adaptive{_kind}Pooling{_d}D",
            lambda k, n=f"Adaptive{_kind}Pooling{_d}D": getattr(k.layers, n)(2),
            _inp,
        )
    _simple(f"Cropping{_d}D", lambda k, n=f"Cropping{_d}D": getattr(k.layers, n)(1), _inp)
    _simple(f"ZeroPadding{_d}D", lambda k, n=f"ZeroPadding{_d}D": getattr(k.layers, n)(1), _inp)
    _simple(f"UpSampling{_d}D", lambda k, n=f"UpSampling{_d}D": getattr(k.layers, n)(2), _inp)

# ----------------------------------------------------------------- normalization
_simple("BatchNormalization", lambda k: k.layers.BatchNormalization(), _normal(4, 3))
_simple("LayerNormalization", lambda k: k.layers.LayerNormalization(), _normal(4, 3))
_simple("GroupNormalization", lambda k: k.layers.GroupNormalization(groups=2), _normal(3, 4))
_simple("RMSNormalization", lambda k: k.layers.RMSNormalization(), _normal(4, 3))
_simple("UnitNormalization", lambda k: k.layers.UnitNormalization(), _normal(4, 3))
_simple("SpectralNormalization", lambda k: k.layers.SpectralNormalization(k.layers.Dense(3)), VEC)
_simple("Normalization", lambda k: k.layers.Normalization(mean=[0.5, 1.0, -1.0], variance=[1.0, 4.0, 0.25]), SEQ)

# ----------------------------------------------------------------- reshaping
_simple("Flatten", lambda k: k.layers.Flatten(), SEQ)
_simple("Reshape", lambda k: k.layers.Reshape((3, 5)), SEQ)
_simple("Permute", lambda k: k.layers.Permute((2, 1)), SEQ)
_simple("RepeatVector", lambda k: k.layers.RepeatVector(3), VEC)

# ----------------------------------------------------------------- recurrent
_simple("SimpleRNN", lambda k: k.layers.SimpleRNN(3, return_sequences=True), SEQ)
_simple("GRU", lambda k: k.layers.GRU(3), SEQ)
_simple("LSTM", lambda k: k.layers.LSTM(3), SEQ)
_simple("RNN", lambda k: k.layers.RNN(k.layers.LSTMCell(3)), SEQ)
_simple("SimpleRNNCell", lambda k: k.layers.RNN(k.layers.SimpleRNNCell(3)), SEQ)
_simple("GRUCell", lambda k: k.layers.RNN(k.layers.GRUCell(3)), SEQ)
_simple("LSTMCell", lambda k: k.layers.RNN(k.layers.LSTMCell(3), return_sequences=True), SEQ)
_simple(
    "StackedRNNCells",
    lambda k: k.layers.RNN(k.layers.StackedRNNCells([k.layers.GRUCell(3), k.layers.SimpleRNNCell(2)])),
    SEQ,
)
_simple("Bidirectional", lambda k: k.layers.Bidirectional(k.layers.GRU(2, return_sequences=True)), SEQ)
_simple("TimeDistributed", lambda k: k.layers.TimeDistributed(k.layers.Dense(2)), SEQ)
_simple("ConvLSTM1D", lambda k: k.layers.ConvLSTM1D(2, 2), _normal(3, 4, 2))
_simple("ConvLSTM2D", lambda k: k.layers.ConvLSTM2D(2, 2), _normal(2, 3, 3, 2))
_simple("ConvLSTM3D", lambda k: k.layers.ConvLSTM3D(2, 2), _normal(2, 3, 3, 3, 1))

# ----------------------------------------------------------------- merging and attention
_TWO = _inputs(VEC, VEC)
for _name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
    L[_name] = multi(lambda k, xs, n=_name: getattr(k.layers, n)()(xs), _TWO)
L["Concatenate"] = multi(lambda k, xs: k.layers.Concatenate()(xs), _TWO)
L["Dot"] = multi(lambda k, xs: k.layers.Dot(axes=1, normalize=True)(xs), _TWO)
# The key bias gets a zero gradient (softmax ignores a shift), which Adam would blow up from rounding noise.
_QV = _inputs(_normal(3, 4), _normal(5, 4))
L["Attention"] = multi(lambda k, xs: k.layers.Attention(use_scale=True)(xs), _QV)
L["AdditiveAttention"] = multi(lambda k, xs: k.layers.AdditiveAttention()(xs), _QV)
L["MultiHeadAttention"] = multi(lambda k, xs: k.layers.MultiHeadAttention(2, 3)(xs[0], xs[1]), _QV, compile_=_mse_sgd)
L["GroupQueryAttention"] = multi(
    lambda k, xs: k.layers.GroupQueryAttention(3, 4, 2)(xs[0], xs[1]), _QV, compile_=_mse_sgd
)

# ----------------------------------------------------------------- preprocessing (deterministic)
_simple("Rescaling", lambda k: k.layers.Rescaling(1 / 255.0, offset=-0.5), IMG)
_simple("CenterCrop", lambda k: k.layers.CenterCrop(4, 6), IMG)
_simple("Resizing", lambda k: k.layers.Resizing(4, 5), IMG)
_simple("AutoContrast", lambda k: k.layers.AutoContrast(), IMG)
_simple("Equalization", lambda k: k.layers.Equalization(bins=16), IMG)
_simple("Solarization", lambda k: k.layers.Solarization(threshold_factor=0.5), IMG, random=True)  # draws a threshold
_simple(
    "ContrastLimitedAdaptiveHistogramEqualization",
    lambda k: k.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2)),
    IMG,
)
_simple("CategoryEncoding", lambda k: k.layers.CategoryEncoding(6, output_mode="count"), _integers(6, 5), dtype="int32")
_simple(
    "Discretization", lambda k: k.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5]), VEC, head=False, train=False
)
_simple("MelSpectrogram", lambda k: k.layers.MelSpectrogram(64, 16, sampling_rate=8000, num_mel_bins=8), _normal(256))
_simple(
    "STFTSpectrogram",
    lambda k: k.layers.STFTSpectrogram(frame_length=32, frame_step=16, fft_length=32),
    _normal(128, 1),
)
_simple(
    "Pipeline",
    lambda k: k.layers.Pipeline([k.layers.Rescaling(0.5), k.layers.CenterCrop(6, 6)]),
    IMG,
)

# ----------------------------------------------------------------- augmentation (random while training)
for _name, _make in {
    "RandomFlip": lambda k: k.layers.RandomFlip(),
    "RandomRotation": lambda k: k.layers.RandomRotation(0.2),
    "RandomZoom": lambda k: k.layers.RandomZoom(0.2),
    "RandomTranslation": lambda k: k.layers.RandomTranslation(0.2, 0.2),
    "RandomContrast": lambda k: k.layers.RandomContrast(0.3),
    "RandomBrightness": lambda k: k.layers.RandomBrightness(0.3),
    "RandomColorDegeneration": lambda k: k.layers.RandomColorDegeneration(0.3),
    "RandomColorJitter": lambda k: k.layers.RandomColorJitter(brightness_factor=0.2),
    "RandomGrayscale": lambda k: k.layers.RandomGrayscale(0.5),
    "RandomHue": lambda k: k.layers.RandomHue(0.3),
    "RandomSaturation": lambda k: k.layers.RandomSaturation(0.3),
    "RandomSharpness": lambda k: k.layers.RandomSharpness(0.3),
    "RandomShear": lambda k: k.layers.RandomShear(0.2),
    "RandomPerspective": lambda k: k.layers.RandomPerspective(0.3),
    "RandomPosterization": lambda k: k.layers.RandomPosterization(4),
    "RandomInvert": lambda k: k.layers.RandomInvert(0.5),
    "RandomErasing": lambda k: k.layers.RandomErasing(),
    "RandomGaussianBlur": lambda k: k.layers.RandomGaussianBlur(),
    "AugMix": lambda k: k.layers.AugMix(),
    "CutMix": lambda k: k.layers.CutMix(),
    "MixUp": lambda k: k.layers.MixUp(),
    "RandAugment": lambda k: k.layers.RandAugment(),
}.items():
    _simple(_name, _make, IMG, random=True)
# Keras 3.15 cannot train through it (its JAX train step fails with "'str' object has no attribute
# '_error_repr'"), so the file is written untrained and only inference is compared.
# Keras 3.15's RandomCrop keeps 8x8 images at inference although it declares 6x6, so no Dense head fits.
_simple("RandomCrop", lambda k: k.layers.RandomCrop(6, 6), IMG, head=False, train=False)
_simple("RandomElasticTransform", lambda k: k.layers.RandomElasticTransform(), IMG, train=False)


# ----------------------------------------------------------------- optimizers, losses, metrics
def _dense_model(units, activation, shape=(6,)):
    def build(k):
        x = k.Input(shape, batch_size=BATCH)
        return k.Model(x, k.layers.Dense(units, activation=activation, name="out")(k.layers.Dense(4, name="hidden")(x)))

    return build


def _optimizer_case(make):
    compile_ = lambda k: {"optimizer": make(k), "loss": "mse"}  # noqa: E731
    return Case(_dense_model(2, None), VEC, compile_, _like_prediction)


OPT = {
    "SGD": _optimizer_case(lambda k: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    "Adam": _optimizer_case(lambda k: k.optimizers.Adam(0.01, amsgrad=True)),
    "AdamW": _optimizer_case(lambda k: k.optimizers.AdamW(0.01, weight_decay=0.1)),
    "Adamax": _optimizer_case(lambda k: k.optimizers.Adamax(0.01)),
    "Nadam": _optimizer_case(lambda k: k.optimizers.Nadam(0.01)),
    "RMSprop": _optimizer_case(lambda k: k.optimizers.RMSprop(0.01, momentum=0.5, centered=True)),
    "Adagrad": _optimizer_case(lambda k: k.optimizers.Adagrad(0.05)),
    "Adadelta": _optimizer_case(lambda k: k.optimizers.Adadelta(1.0)),
    "Ftrl": _optimizer_case(lambda k: k.optimizers.Ftrl(0.05, l1_regularization_strength=0.01)),
    "Lion": _optimizer_case(lambda k: k.optimizers.Lion(0.01)),
    "Adafactor": _optimizer_case(lambda k: k.optimizers.Adafactor(0.01)),
    "Lamb": _optimizer_case(lambda k: k.optimizers.Lamb(0.01)),
    "Muon": _optimizer_case(lambda k: k.optimizers.Muon(0.01)),
    "ScheduleFreeAdamW": _optimizer_case(lambda k: k.optimizers.ScheduleFreeAdamW(0.01)),
    "LossScaleOptimizer": _optimizer_case(lambda k: k.optimizers.LossScaleOptimizer(k.optimizers.Adam(0.01))),
    "MultiOptimizer": _optimizer_case(
        lambda k: k.optimizers.MultiOptimizer(k.optimizers.OptimizerMap(k.optimizers.Adam(0.01)))
    ),
    "OptimizerMap": _optimizer_case(
        lambda k: k.optimizers.MultiOptimizer(k.optimizers.OptimizerMap(k.optimizers.SGD(0.05)))
    ),
}


def _one_hot(classes, shape=()):
    return lambda rng: np.eye(classes, dtype="float32")[rng.integers(0, classes, size=(BATCH, *shape))]


def _bits(units):
    return lambda rng: rng.integers(0, 2, size=(BATCH, units)).astype("float32")


def _signs(units):
    return lambda rng: (2.0 * rng.integers(0, 2, size=(BATCH, units)) - 1.0).astype("float32")


def _positive(units):
    return lambda rng: rng.uniform(0.1, 2.0, size=(BATCH, units)).astype("float32")


def _labels(classes, *shape):
    return lambda rng: rng.integers(0, classes, size=(BATCH, *shape)).astype("int32")


def _real(units):
    return lambda rng: rng.normal(size=(BATCH, units)).astype("float32")


# A task: (units, output activation, targets) that a loss or a metric is compiled against.
REGRESSION = (2, None, _real(2))
POSITIVE = (2, "softplus", _positive(2))
BINARY = (3, "sigmoid", _bits(3))
SIGNED = (3, "tanh", _signs(3))
CATEGORICAL = (3, "softmax", _one_hot(3))
SPARSE = (3, "softmax", _labels(3, 1))


def _compiled_case(task, loss, metrics=(), shape=(6,)):
    units, activation, targets = task
    compile_ = lambda k: {"optimizer": k.optimizers.Adam(0.01), "loss": loss(k), "metrics": [m(k) for m in metrics]}  # noqa: E731
    inputs = lambda rng: [rng.normal(size=(BATCH, *shape)).astype("float32")]  # noqa: E731
    return Case(_dense_model(units, activation, shape), inputs, compile_, lambda rng, _: targets(rng))


def _loss(task, make):
    return _compiled_case(task, make)


LOSS = {
    "MeanSquaredError": _loss(REGRESSION, lambda k: k.losses.MeanSquaredError()),
    "MeanAbsoluteError": _loss(REGRESSION, lambda k: k.losses.MeanAbsoluteError()),
    "MeanAbsolutePercentageError": _loss(POSITIVE, lambda k: k.losses.MeanAbsolutePercentageError()),
    "MeanSquaredLogarithmicError": _loss(POSITIVE, lambda k: k.losses.MeanSquaredLogarithmicError()),
    "LogCosh": _loss(REGRESSION, lambda k: k.losses.LogCosh()),
    "Huber": _loss(REGRESSION, lambda k: k.losses.Huber()),  # Keras 3 does not save delta
    "CosineSimilarity": _loss(REGRESSION, lambda k: k.losses.CosineSimilarity()),
    "Poisson": _loss(POSITIVE, lambda k: k.losses.Poisson()),
    "KLDivergence": _loss(CATEGORICAL, lambda k: k.losses.KLDivergence()),
    "BinaryCrossentropy": _loss(BINARY, lambda k: k.losses.BinaryCrossentropy(label_smoothing=0.1)),
    "BinaryFocalCrossentropy": _loss(BINARY, lambda k: k.losses.BinaryFocalCrossentropy(gamma=2.0)),
    "CategoricalCrossentropy": _loss(CATEGORICAL, lambda k: k.losses.CategoricalCrossentropy()),
    "CategoricalFocalCrossentropy": _loss(CATEGORICAL, lambda k: k.losses.CategoricalFocalCrossentropy()),
    "CategoricalGeneralizedCrossEntropy": _loss(SPARSE, lambda k: k.losses.CategoricalGeneralizedCrossEntropy(q=0.7)),
    "SparseCategoricalCrossentropy": _loss(SPARSE, lambda k: k.losses.SparseCategoricalCrossentropy()),
    "CategoricalHinge": _loss(CATEGORICAL, lambda k: k.losses.CategoricalHinge()),
    "Hinge": _loss(SIGNED, lambda k: k.losses.Hinge()),
    "SquaredHinge": _loss(SIGNED, lambda k: k.losses.SquaredHinge()),
    "Dice": _loss(BINARY, lambda k: k.losses.Dice()),
    "Tversky": _loss(BINARY, lambda k: k.losses.Tversky(alpha=0.3, beta=0.7)),
    "Circle": _loss((3, None, _labels(2)), lambda k: k.losses.Circle()),
    "CTC": _compiled_case((4, "softmax", _labels(3, 2)), lambda k: k.losses.CTC(), shape=(6, 3)),
}


def _metric(task, make):
    loss = {REGRESSION: "mse", POSITIVE: "mse", BINARY: "binary_crossentropy", SIGNED: "hinge"}
    loss.update({CATEGORICAL: "categorical_crossentropy", SPARSE: "sparse_categorical_crossentropy"})
    return _compiled_case(task, lambda k: loss[task], [make])


_METRICS = {
    REGRESSION: "MeanSquaredError MeanAbsoluteError RootMeanSquaredError LogCoshError CosineSimilarity R2Score "
    "PearsonCorrelation ConcordanceCorrelation",
    POSITIVE: "MeanAbsolutePercentageError MeanSquaredLogarithmicError Poisson",
    BINARY: "BinaryAccuracy BinaryCrossentropy AUC Precision Recall TruePositives TrueNegatives FalsePositives "
    "FalseNegatives BinaryIoU F1Score FBetaScore Accuracy",
    SIGNED: "Hinge SquaredHinge",
    CATEGORICAL: "CategoricalAccuracy CategoricalCrossentropy CategoricalHinge KLDivergence OneHotMeanIoU",
    SPARSE: "SparseCategoricalAccuracy SparseCategoricalCrossentropy",
}
MET = {
    name: _metric(task, lambda k, n=name: getattr(k.metrics, n)())
    for task, names in _METRICS.items()
    for name in names.split()
}
MET.update(
    {
        "OneHotMeanIoU": _metric(CATEGORICAL, lambda k: k.metrics.OneHotMeanIoU(num_classes=3)),
        "OneHotIoU": _metric(CATEGORICAL, lambda k: k.metrics.OneHotIoU(num_classes=3, target_class_ids=[0, 2])),
        "TopKCategoricalAccuracy": _metric(CATEGORICAL, lambda k: k.metrics.TopKCategoricalAccuracy(k=2)),
        "SparseTopKCategoricalAccuracy": _metric(SPARSE, lambda k: k.metrics.SparseTopKCategoricalAccuracy(k=2)),
        "IoU": _metric(SPARSE, lambda k: k.metrics.IoU(3, target_class_ids=[0, 2], sparse_y_pred=False)),
        "MeanIoU": _metric(SPARSE, lambda k: k.metrics.MeanIoU(3, sparse_y_pred=False)),
        "F1Score": _metric(BINARY, lambda k: k.metrics.F1Score(threshold=0.5)),
        "FBetaScore": _metric(BINARY, lambda k: k.metrics.FBetaScore(beta=2.0, threshold=0.5)),
        "PrecisionAtRecall": _metric(BINARY, lambda k: k.metrics.PrecisionAtRecall(0.5)),
        "RecallAtPrecision": _metric(BINARY, lambda k: k.metrics.RecallAtPrecision(0.5)),
        "SensitivityAtSpecificity": _metric(BINARY, lambda k: k.metrics.SensitivityAtSpecificity(0.5)),
        "SpecificityAtSensitivity": _metric(BINARY, lambda k: k.metrics.SpecificityAtSensitivity(0.5)),
        "MeanMetricWrapper": _metric(
            REGRESSION, lambda k: k.metrics.MeanMetricWrapper(k.losses.mean_absolute_error, name="wrapped_mae")
        ),
    }
)

CASES = {"layers": L, "optimizers": OPT, "losses": LOSS, "metrics": MET}
