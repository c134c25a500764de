"""BatchNormalization: normalizes with batch statistics in training, moving averages otherwise."""

from __future__ import annotations

from lamina import constraints, initializers, ops, regularizers
from lamina.backend.common.replicas import replicas_in_step
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object

# Keras 2 options that only pick an implementation (no effect on the numbers) and are accepted with any value.
_IGNORED = ("fused",)
# Keras 2/3 options lamina does not implement: accepted only at the value that turns them off.
_UNSUPPORTED_UNLESS_OFF = {"virtual_batch_size": None, "adjustment": None}
_RENORM_CLIPPING_KEYS = ("rmax", "rmin", "dmax")
_MASK_EPSILON = 1e-7  # keeps an all-masked batch from dividing by zero (Keras's backend epsilon)


def _normalize_axes(layer_name: str, axis) -> tuple | int:
    """`axis` as Keras 2 and 3 write it (an int, or a list of ints) -> an int or a tuple of several ints."""
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
        raise TypeError(f'Layer "{layer_name}": axis must be an int or a list of ints, got {axis!r}.')
    if len(set(axes)) != len(axes):
        raise ValueError(f'Layer "{layer_name}": axis has repeated entries: {axis!r}.')
    return axes[0] if len(axes) == 1 else tuple(axes)


class BatchNormalization(Layer):
    """Normalizes each feature along `axis`: `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    In training, mean and var are the batch's (biased variance), and `moving_mean`/`moving_variance`
    move towards them: `moving = moving * momentum + batch * (1 - momentum)`. In inference, and
    whenever the layer is frozen (`trainable=False`, as when fine-tuning in Keras), the moving
    statistics are used and not updated, whatever `training` says.

    Args:
        axis: the feature axis (-1 for channels_last, 1 for channels_first). Keras 2's list form
            is accepted; a list of several axes normalizes over the others, with weights shaped
            like the input with 1 on the other axes (as tf.keras stores them).
        momentum: how slowly the moving statistics follow the batches.
        epsilon: added to the variance before the square root.
        center, scale: whether to learn `beta` / `gamma`.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer,
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: for the weights.
        synchronized: Keras 3's cross-replica flag; with one replica it changes nothing.
        renorm: tf.keras 2's batch renormalization (Ioffe 2017). In training the batch-normalized
            values are corrected to `x_hat * r + d`, with `r = batch_stddev / renorm_stddev` and
            `d = (batch_mean - renorm_mean) / renorm_stddev` (no gradient through `r`, `d`), where
            `renorm_mean`/`renorm_stddev` are moving averages kept with `renorm_momentum`. The layer
            then also keeps `moving_stddev` (of `sqrt(var + epsilon)`), from which `moving_variance`
            follows. Weights, in tf.keras's order and names: gamma, beta, moving_mean, moving_variance,
            moving_stddev, renorm_mean, renorm_stddev.
        renorm_clipping: a dict with optional keys "rmin", "rmax", "dmax": `r` is clipped to
            [rmin, rmax] and `d` to [-dmax, dmax] (a missing key: no clipping on that side).
        renorm_momentum: how slowly `renorm_mean`/`renorm_stddev` follow the batches.

    `virtual_batch_size` and `adjustment` are not supported and raise a ValueError; their "off"
    values (as Keras 2 configs write them) are accepted.

    Call arguments:
        inputs: the input tensor.
        training: batch statistics (True) or moving statistics (False or None outside `fit`).
        mask: optional boolean `(batch, ...)` mask with one axis less than `inputs`; masked
            positions do not count towards the batch statistics.

    Example:
        >>> bn = BatchNormalization(momentum=0.9)
        >>> bn(np.random.rand(8, 3).astype("float32"), training=True).shape
        (8, 3)
    """

    _normalizes_in_float32 = True  # under mixed precision, as Keras: float32 statistics, output in compute dtype

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        synchronized=False,
        **kwargs,
    ):
        options = {key: kwargs.pop(key) for key in (*_IGNORED, *_UNSUPPORTED_UNLESS_OFF) if key in kwargs}
        renorm = kwargs.pop("renorm", False)
        renorm_clipping = kwargs.pop("renorm_clipping", None)
        renorm_momentum = kwargs.pop("renorm_momentum", 0.99)
        super().__init__(**kwargs)
        for key, off in _UNSUPPORTED_UNLESS_OFF.items():
            if key in options and options[key] != off:
                raise ValueError(
                    f'Layer "{self.name}": {key}={options[key]!r} is not supported by lamina\'s BatchNormalization '
                    f"(only {key}={off!r})."
                )
        self.axis = _normalize_axes(self.name, axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f'Layer "{self.name}": momentum must be in [0, 1], got {momentum!r}.')
        if self.epsilon < 0.0:
            raise ValueError(f'Layer "{self.name}": epsilon must be >= 0, got {epsilon!r}.')
        self.center, self.scale = bool(center), bool(scale)
        self.synchronized = bool(synchronized)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self._set_renorm(renorm, renorm_clipping, renorm_momentum)

    def _set_renorm(self, renorm, clipping, momentum) -> None:
        """Checks and keeps the batch renormalization options (read only when `renorm` is on, as tf.keras does)."""
        self.renorm = bool(renorm)
        self.renorm_clipping, self.renorm_momentum = None, 0.99
        if not self.renorm:
            return
        clipping = dict(clipping or {})
        unknown = sorted(set(clipping) - set(_RENORM_CLIPPING_KEYS))
        if unknown:
            raise ValueError(
                f'Layer "{self.name}": renorm_clipping accepts the keys {list(_RENORM_CLIPPING_KEYS)}, '
                f"got {unknown} in {clipping!r}."
            )
        for key, value in clipping.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise TypeError(f'Layer "{self.name}": renorm_clipping[{key!r}] must be a number, got {value!r}.')
        self.renorm_clipping = {key: None if v is None else float(v) for key, v in clipping.items()}
        rmin, rmax, dmax = (self.renorm_clipping.get(key) for key in ("rmin", "rmax", "dmax"))
        if rmin is not None and rmax is not None and rmax < rmin:
            raise ValueError(f'Layer "{self.name}": renorm_clipping needs rmax >= rmin, got rmax={rmax}, rmin={rmin}.')
        if dmax is not None and dmax < 0:
            raise ValueError(f'Layer "{self.name}": renorm_clipping needs dmax >= 0, got dmax={dmax}.')
        self.renorm_momentum = float(momentum)
        if not 0.0 <= self.renorm_momentum <= 1.0:
            raise ValueError(f'Layer "{self.name}": renorm_momentum must be in [0, 1], got {momentum!r}.')

    def _axes(self, rank: int) -> tuple:
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(f'Layer "{self.name}": axis {a} is out of range for an input of rank {rank}.')
        return tuple(sorted(a % rank for a in axes))

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self._axes(rank)
        sizes = {a: input_shape[a] for a in axes}
        if any(size is None for size in sizes.values()):
            raise ValueError(f'Layer "{self.name}" needs a known size on axis {self.axis}, got shape {input_shape}.')
        # One axis: vectors. Several axes: full-rank weights with 1 elsewhere, as tf.keras stores them.
        shape = (sizes[axes[0]],) if len(axes) == 1 else tuple(sizes.get(i, 1) for i in range(rank))
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                name="gamma", shape=shape, initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
            )  # fmt: skip
        if self.center:
            self.beta = self.add_weight(
                name="beta", shape=shape, initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
            )  # fmt: skip
        self.moving_mean = self.add_weight(
            name="moving_mean", shape=shape, initializer=self.moving_mean_initializer, trainable=False
        )
        self.moving_variance = self.add_weight(
            name="moving_variance", shape=shape, initializer=self.moving_variance_initializer, trainable=False
        )
        if self.renorm:
            self._build_renorm(shape)
        self._reduction_axes = tuple(i for i in range(rank) if i not in axes)
        self._broadcast = tuple(sizes.get(i, 1) for i in range(rank))
        self.input_spec = InputSpec(ndim=rank, axes=sizes)
        self.built = True

    def _build_renorm(self, shape: tuple) -> None:
        """The batch renormalization statistics; stddevs start at the square root of the variance initializer."""

        def stddev_initializer(shape, dtype=None):
            return ops.sqrt(self.moving_variance_initializer(shape, dtype=dtype))

        def add(name, initializer):
            return self.add_weight(name=name, shape=shape, initializer=initializer, trainable=False)

        self.moving_stddev = add("moving_stddev", stddev_initializer)
        self.renorm_mean = add("renorm_mean", self.moving_mean_initializer)
        self.renorm_stddev = add("renorm_stddev", stddev_initializer)

    def _moments(self, inputs, mask):
        """Batch mean and variance over the reduction axes, shaped like the weights."""
        keep = len(self._broadcast) == len(self.moving_mean.shape)  # several axes: full-rank statistics
        if mask is None:
            return ops.moments(inputs, self._reduction_axes, keepdims=keep)
        mask = ops.convert_to_tensor(mask)
        if len(mask.shape) != len(inputs.shape) - 1:
            raise ValueError(
                f'Layer "{self.name}": the mask must have one axis less than the inputs, got mask shape '
                f"{tuple(mask.shape)} for inputs of shape {tuple(inputs.shape)}."
            )
        weights = ops.broadcast_to(ops.expand_dims(ops.cast(mask, inputs.dtype), -1), tuple(inputs.shape))
        count = ops.sum(weights, self._reduction_axes, keepdims=True) + _MASK_EPSILON
        mean = ops.sum(inputs * weights, self._reduction_axes, keepdims=True) / count
        variance = ops.sum(ops.square(inputs - mean) * weights, self._reduction_axes, keepdims=True) / count
        if not keep:
            mean, variance = ops.reshape(mean, (-1,)), ops.reshape(variance, (-1,))
        return mean, variance

    def _renorm_update(self, mean, variance):
        """Batch renormalization's correction `(r, d)` and moving-statistics updates, for a training call."""
        stddev = ops.sqrt(variance + self.epsilon)
        # The correction uses the statistics from before this batch; the floor avoids dividing by zero early on.
        renorm_stddev = ops.maximum(self.renorm_stddev.value, self.epsilon**0.5)
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean.value) / renorm_stddev
        clipping = self.renorm_clipping
        if clipping.get("rmin") is not None:
            r = ops.maximum(r, clipping["rmin"])
        if clipping.get("rmax") is not None:
            r = ops.minimum(r, clipping["rmax"])
        if clipping.get("dmax") is not None:
            d = ops.clip(d, -clipping["dmax"], clipping["dmax"])
        keep, keep_renorm = self.momentum, self.renorm_momentum
        self.renorm_mean.assign(self.renorm_mean * keep_renorm + mean * (1.0 - keep_renorm))
        self.renorm_stddev.assign(self.renorm_stddev * keep_renorm + stddev * (1.0 - keep_renorm))
        self.moving_mean.assign(self.moving_mean * keep + mean * (1.0 - keep))
        moving_stddev = self.moving_stddev * keep + stddev * (1.0 - keep)
        self.moving_stddev.assign(moving_stddev)
        # The variance follows the stddev (which holds epsilon); relu guards against rounding below zero.
        self.moving_variance.assign(ops.relu(moving_stddev * moving_stddev - self.epsilon))
        return ops.stop_gradient(r), ops.stop_gradient(d)

    def _per_replica_training(self, inputs, replicas: int):
        """A training call inside a data-parallel step: each replica's slice normalized with its own statistics.

        Keras's data parallelism (multi_gpu_model, MirroredStrategy) normalizes each replica's slice on its own;
        the moving statistics follow the mean of the replicas' statistics (MirroredStrategy's MEAN aggregation).
        """
        shape = tuple(inputs.shape)
        slices = ops.reshape(inputs, (replicas, shape[0] // replicas, *shape[1:]))
        axes = tuple(axis + 1 for axis in self._reduction_axes)
        mean, variance = ops.moments(slices, axes, keepdims=True)
        outputs = (slices - mean) * ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            outputs = outputs * ops.reshape(self.gamma, (1, *self._broadcast))
        if self.beta is not None:
            outputs = outputs + ops.reshape(self.beta, (1, *self._broadcast))
        m = self.momentum
        for moving, statistic in ((self.moving_mean, mean), (self.moving_variance, variance)):
            statistic = ops.reshape(ops.mean(ops.stop_gradient(statistic), axis=0), tuple(moving.shape))
            moving.assign(moving * m + statistic * (1.0 - m))
        return ops.reshape(outputs, shape)

    def call(self, inputs, training=None, mask=None):
        r = d = None
        one_axis = isinstance(self.axis, int)
        replicas = replicas_in_step()
        if replicas > 1 and training and self.trainable and mask is None and not (self.renorm or self.synchronized):
            if 0 in self._reduction_axes and inputs.shape[0] is not None and inputs.shape[0] % replicas == 0:
                return self._per_replica_training(inputs, replicas)
        if training and self.trainable and one_axis and mask is None and not (self.renorm or self.synchronized):
            # The common case as one engine op (torch: its fused kernel), with Keras's biased batch variance.
            outputs, mean, variance = ops.batch_norm_training(inputs, self.gamma, self.beta, self.axis, self.epsilon)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + ops.stop_gradient(mean) * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + ops.stop_gradient(variance) * (1.0 - m))
            return outputs
        if training and self.trainable:
            mean, variance = self._moments(inputs, mask)
            if self.renorm:
                r, d = self._renorm_update(mean, variance)
            else:
                m = self.momentum
                self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
                self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        # y = (x_hat * r + d) * gamma + beta, with x_hat = (x - mean) / sqrt(variance + epsilon).
        scale, shift = r, d
        if self.gamma is not None:
            scale = self.gamma if scale is None else scale * self.gamma
            shift = None if shift is None else shift * self.gamma
        if self.beta is not None:
            shift = self.beta if shift is None else shift + self.beta
        inv = ops.rsqrt(variance + self.epsilon)
        if scale is not None:
            inv = inv * scale
        offset = -mean * inv
        if shift is not None:
            offset = offset + shift
        return ops.scale_and_shift(inputs, ops.reshape(inv, self._broadcast), ops.reshape(offset, self._broadcast))

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize_object(self.beta_initializer),
            "gamma_initializer": serialize_object(self.gamma_initializer),
            "moving_mean_initializer": serialize_object(self.moving_mean_initializer),
            "moving_variance_initializer": serialize_object(self.moving_variance_initializer),
            "beta_regularizer": serialize_object(self.beta_regularizer),
            "gamma_regularizer": serialize_object(self.gamma_regularizer),
            "beta_constraint": serialize_object(self.beta_constraint),
            "gamma_constraint": serialize_object(self.gamma_constraint),
        }
        if self.renorm:  # written only when on, as tf.keras 2 does
            config.update(renorm=True, renorm_clipping=dict(self.renorm_clipping), renorm_momentum=self.renorm_momentum)
        if self.synchronized:
            config["synchronized"] = True  # written only when on: tf.keras 2 configs do not know the key
        return config


class SyncBatchNormalization(BatchNormalization):
    """tf-keras 2's `layers.experimental.SyncBatchNormalization`: BatchNormalization with `synchronized=True`.

    Its statistics are those of the whole batch across replicas; with one replica it is BatchNormalization.
    Its own class keeps tf-keras's name in saved files (the `.keras` weights group `sync_batch_normalization`).

    Example:
        >>> layer = SyncBatchNormalization(momentum=0.9)
        >>> layer.synchronized
        True
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("synchronized", True)
        super().__init__(**kwargs)
