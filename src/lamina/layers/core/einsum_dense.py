"""EinsumDense: a dense layer whose contraction is an einsum equation (`"ab,bc->ac"`, `"...b,bc->...c"`)."""

from __future__ import annotations

import re

from lamina import activations, constraints, initializers, ops, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_object

_FORMS = (
    (r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
    (r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),  # "...ab,bc->...ac": leading axes elided
    (r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False),  # "ab...,bc->ac...": trailing axes elided
)


def _split(layer_name: str, equation: str):
    plain = equation.replace("...", "0")
    for pattern, left_elided in _FORMS:
        match = re.fullmatch(pattern, plain)
        if match:
            return match.group(1), match.group(2), match.group(3), left_elided
    raise ValueError(
        f'Layer "{layer_name}": equation must look like "ab,bc->ac", "...b,bc->...c" or "ab...,bc->ac...", '
        f"got {equation!r}."
    )


def analyze_equation(layer_name, equation, bias_axes, input_shape, output_shape):
    """`(kernel_shape, bias_shape or None, full_output_shape)` for `equation` on inputs of `input_shape`.

    Example:
        >>> analyze_equation("e", "ab,bc->ac", None, (None, 4), 8)
        ([4, 8], None, [None, 8])
    """
    input_spec, weight_spec, output_spec, left_elided = _split(layer_name, equation)
    input_shape = list(input_shape)
    elided = len(input_shape) - len(input_spec)
    full = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    full.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            full.insert(1, input_shape[i])  # the elided leading axes, batch excluded, in front of the output's
    elif elided > 0:
        full.extend(input_shape[len(input_shape) - elided :])
    offset = elided if left_elided else 0
    input_axis = {d: (i + elided - len(input_shape)) if left_elided else i for i, d in enumerate(input_spec)}
    output_axis = {d: i + offset for i, d in enumerate(output_spec)}
    for dim in input_spec:
        if dim in output_axis and full[output_axis[dim]] not in (None, input_shape[input_axis[dim]]):
            raise ValueError(
                f'Layer "{layer_name}": input and output shapes differ on the shared axis {dim!r}: '
                f"input {input_shape[input_axis[dim]]}, output {full[output_axis[dim]]}."
            )
    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise ValueError(f'Layer "{layer_name}": output axis {dim!r} is in neither the input nor the weight spec.')
    kernel_shape = []
    for dim in weight_spec:
        if dim in output_axis:
            kernel_shape.append(full[output_axis[dim]])
        elif dim in input_axis:
            kernel_shape.append(input_shape[input_axis[dim]])
        else:
            raise ValueError(f'Layer "{layer_name}": weight axis {dim!r} is in neither the input nor the output spec.')
    bias_shape = None
    if bias_axes is not None:
        for char in bias_axes:
            if char not in output_spec:
                raise ValueError(f'Layer "{layer_name}": bias axis {char!r} is not in the output spec {output_spec!r}.')
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [full[output_spec.find(c) + offset] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias_shape.extend([1] * max(elided, 0))
    return kernel_shape, bias_shape, full


class EinsumDense(Layer):
    """A dense layer of any rank: `activation(einsum(equation, inputs, kernel) + bias)`.

    Args:
        equation: the einsum of the input (first) and the kernel (second), e.g. "abc,cde->abde".
        output_shape: the output's shape without the batch axis (None for axes the input gives).
        activation: an activation name or function.
        bias_axes: the output axes (letters) that have a bias, or None for no bias.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: as in Dense.

    Example:
        >>> layer = EinsumDense("abc,cd->abd", output_shape=(None, 8), bias_axes="d")
        >>> layer(np.ones((2, 5, 4))).shape
        (2, 5, 8)
    """

    def __init__(
        self,
        equation,
        output_shape,
        activation=None,
        bias_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if lora_rank:
            raise ValueError(f'Layer "{self.name}": LoRA (lora_rank={lora_rank}) is not supported by lamina.')
        _split(self.name, equation)
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        kernel_shape, bias_shape, full = analyze_equation(
            self.name, self.equation, self.bias_axes, input_shape, self.partial_output_shape
        )
        self.full_output_shape = tuple(full)
        self.input_spec = InputSpec(ndim=len(input_shape))
        self.kernel = self.add_weight(
            name="kernel", shape=tuple(kernel_shape), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )  # fmt: skip
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(
                name="bias", shape=tuple(bias_shape), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
            )  # fmt: skip
        self.built = True

    def call(self, inputs):
        outputs = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        _, _, full = analyze_equation(self.name, self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        return tuple(full)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "output_shape": list(self.partial_output_shape),
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": serialize_object(self.kernel_initializer),
            "bias_initializer": serialize_object(self.bias_initializer),
            "kernel_regularizer": serialize_object(self.kernel_regularizer),
            "bias_regularizer": serialize_object(self.bias_regularizer),
            "activity_regularizer": serialize_object(self.activity_regularizer),
            "kernel_constraint": serialize_object(self.kernel_constraint),
            "bias_constraint": serialize_object(self.bias_constraint),
        }
