"""Keras 2.3.1's `keras.legacy.layers`: the atrous (dilated) convolutions of Keras 1, Highway and MaxoutDense.

Example:
    >>> layer = AtrousConvolution2D(8, 3, 3, atrous_rate=(2, 2), border_mode="same")  # warns
    >>> layer.get_config()["dilation_rate"], layer.get_config()["kernel_size"]
    ([2, 2], [3, 3])
"""

from __future__ import annotations

from lamina import activations, constraints, initializers, ops, regularizers
from lamina.layers.keras1_arguments import warn_caller
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object


def _atrous(class_name: str, args, kwargs):
    from lamina import layers

    kwargs = dict(kwargs)
    kwargs["dilation_rate"] = kwargs.pop("atrous_rate", 1)
    warn_caller(
        f"The `Atrous{class_name.replace('Conv', 'Convolution')}` layer  has been deprecated. Use instead the "
        f"`{class_name}` layer with the `dilation_rate` argument."
    )
    return getattr(layers, class_name)(*args, **kwargs)


def AtrousConvolution1D(*args, **kwargs):  # noqa: N802 - Keras 2's name for a layer
    """Keras 1's dilated 1-D convolution: a `Conv1D` with `atrous_rate` as its `dilation_rate`.

    Example:
        >>> AtrousConvolution1D(4, 3, atrous_rate=2).dilation_rate
        (2,)
    """
    return _atrous("Conv1D", args, kwargs)


def AtrousConvolution2D(*args, **kwargs):  # noqa: N802 - Keras 2's name for a layer
    """Keras 1's dilated 2-D convolution: a `Conv2D` with `atrous_rate` as its `dilation_rate`.

    Example:
        >>> AtrousConvolution2D(4, 3, 3, atrous_rate=(2, 2)).dilation_rate
        (2, 2)
    """
    return _atrous("Conv2D", args, kwargs)


class _LegacyDense(Layer):
    """What Highway and MaxoutDense share: Keras 1's argument names for initializer, penalties and constraints."""

    def __init__(
        self,
        init="glorot_uniform",
        W_regularizer=None,  # noqa: N803 - Keras 1's argument names
        b_regularizer=None,  # noqa: N803
        W_constraint=None,  # noqa: N803
        b_constraint=None,  # noqa: N803
        bias=True,
        input_dim=None,
        **kwargs,
    ):
        if input_dim is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_dim,)
        super().__init__(**kwargs)
        warn_caller(
            f"The `{type(self).__name__}` layer is deprecated and will be removed after 06/2017."
        )  # Keras 2's own words
        self.init = initializers.get(init)
        self.W_regularizer, self.b_regularizer = regularizers.get(W_regularizer), regularizers.get(b_regularizer)
        self.W_constraint, self.b_constraint = constraints.get(W_constraint), constraints.get(b_constraint)
        self.bias = bool(bias)
        self.input_dim = input_dim

    def _weight(self, name, shape, initializer, bias=False):
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=initializer,
            regularizer=self.b_regularizer if bias else self.W_regularizer,
            constraint=self.b_constraint if bias else self.W_constraint,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "init": serialize_object(self.init),
            "W_regularizer": serialize_object(self.W_regularizer),
            "b_regularizer": serialize_object(self.b_regularizer),
            "activity_regularizer": serialize_object(self.activity_regularizer),
            "W_constraint": serialize_object(self.W_constraint),
            "b_constraint": serialize_object(self.b_constraint),
            "bias": self.bias,
            "input_dim": self.input_dim,
        }


class Highway(_LegacyDense):
    """Keras 1's highway layer: `t * activation(x W + b) + (1 - t) * x`, gate `t = sigmoid(x W_carry + b_carry)`.

    Weights in Keras's order: W, W_carry (input_dim, input_dim), then b and b_carry (ones at first).

    Example:
        >>> Highway(activation="relu")(np.ones((2, 4))).shape  # warns that the layer is deprecated
        (2, 4)
    """

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def build(self, input_shape):
        size = input_shape[-1]
        self.W = self._weight("W", (size, size), self.init)
        self.W_carry = self._weight("W_carry", (size, size), self.init)
        if self.bias:
            self.b = self._weight("b", (size,), "zeros", bias=True)
            self.b_carry = self._weight("b_carry", (size,), "ones", bias=True)
        self.built = True

    def call(self, inputs):
        gate = ops.sigmoid(ops.dense(inputs, self.W_carry, self.b_carry if self.bias else None))
        transformed = self.activation(ops.dense(inputs, self.W, self.b if self.bias else None))
        return transformed * gate + (1.0 - gate) * inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class MaxoutDense(_LegacyDense):
    """Keras 1's maxout layer: the maximum over `nb_feature` dense projections, `max_k(x W[k] + b[k])`.

    Weights: W (nb_feature, input_dim, output_dim), b (nb_feature, output_dim).

    Example:
        >>> MaxoutDense(3, nb_feature=2)(np.ones((2, 4))).shape  # warns that the layer is deprecated
        (2, 3)
    """

    def __init__(self, output_dim, nb_feature=4, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(output_dim, int) or output_dim <= 0 or not isinstance(nb_feature, int) or nb_feature <= 0:
            raise ValueError(
                f'Layer "{self.name}": output_dim and nb_feature must be positive integers, got {output_dim!r} and '
                f"{nb_feature!r}."
            )
        self.output_dim, self.nb_feature = output_dim, nb_feature

    def build(self, input_shape):
        self.W = self._weight("W", (self.nb_feature, input_shape[-1], self.output_dim), self.init)
        if self.bias:
            self.b = self._weight("b", (self.nb_feature, self.output_dim), "zeros", bias=True)
        self.built = True

    def call(self, inputs):
        projected = ops.einsum("bi,kio->bko", inputs, self.W)
        if self.bias:
            projected = projected + self.b
        return ops.max(projected, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "output_dim": self.output_dim, "nb_feature": self.nb_feature}


class Recurrent(Layer):
    """Keras 2.0's abstract recurrent layer, which Keras 1-era custom RNNs subclass (`keras.legacy.layers`).

    A subclass builds its weights (and `self.states`, one entry per state), sets `self.units`, and writes
    `step(inputs, states) -> (output, new_states)`; `get_initial_state`, `get_constants` and `preprocess_input`
    may be overridden as in Keras. The loop is `K.rnn`. Stateful use is not supported (a clear error).

    Example:
        >>> class MinimalRNN(Recurrent):
        ...     def build(self, input_shape):
        ...         self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        ...         self.states = [None]
        ...     def step(self, x, states):
        ...         h = K.tanh(K.dot(x, self.kernel) + states[0])
        ...         return h, [h]
    """

    def __init__(
        self,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        implementation=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if stateful:
            raise ValueError(
                f'Layer "{self.name}": the legacy Recurrent base does not support stateful=True in lamina; '
                "write the layer as an RNN cell and use lamina.layers.RNN(cell, stateful=True)."
            )
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), False, bool(unroll)
        self.implementation = implementation
        self.supports_masking = True
        self.states = [None]

    def get_initial_state(self, inputs):
        """Zeros of shape (batch, units), one per entry of `self.states`, as Keras 2.0 made them."""
        zeros = ops.zeros_like(ops.sum(inputs, axis=tuple(range(1, len(inputs.shape)))))  # (batch,)
        state = ops.tile(ops.expand_dims(zeros, -1), (1, self.units))
        return [state for _ in self.states]

    def get_constants(self, inputs, training=None):
        return []

    def preprocess_input(self, inputs, training=None):
        return inputs

    def step(self, inputs, states):
        raise NotImplementedError(f'Layer "{self.name}": a Recurrent subclass must define step(inputs, states).')

    def call(self, inputs, mask=None, training=None, initial_state=None):
        from lamina.backend import k_control

        states = list(initial_state) if initial_state is not None else self.get_initial_state(inputs)
        last, outputs, states = k_control.rnn(
            self.step,
            self.preprocess_input(inputs, training=training),
            states,
            go_backwards=self.go_backwards,
            mask=mask,
            constants=self.get_constants(inputs, training=training),
            unroll=self.unroll,
        )
        output = outputs if self.return_sequences else last
        return [output, *states] if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "implementation": self.implementation,
        }
