"""At inference, a convolution whose only reader is a BatchNormalization runs as one convolution.

BatchNormalization with its moving statistics is `y * inv + offset` per channel, with
`inv = gamma / sqrt(moving_variance + epsilon)` and `offset = beta - moving_mean * inv`. After a convolution
`y = conv(x, kernel) + bias` that is `conv(x, kernel * inv) + (bias * inv + offset)`: the same numbers (up to
float rounding, about 1e-6 relative) with one pass over the activations instead of two, and one large array fewer.
tf.keras's graph optimizer folds the same pairs for inference. ResNet50, MobileNet and most Keras 2 convnets are
made of such pairs.

A pair folds only where nothing else can tell: exactly Conv1D/Conv2D/Conv3D (not a subclass, whose `call` may
differ) with no activation and no activity regularizer, then exactly BatchNormalization on the channels axis with no
activity regularizer; float32 everywhere (mixed precision normalizes in float32 and is left as it is); the
convolution's output read by the BatchNormalization alone and by nothing else (not a model output); both called
with the tensor alone (no `training=`, no mask). Models fold only when the call is not training.
"""

from __future__ import annotations

from lamina import activations, ops
from lamina.backend.common import KerasTensor, autocast
from lamina.layers.convolutional.base_conv import Conv1D, Conv2D, Conv3D
from lamina.layers.normalization.batch_normalization import BatchNormalization, SyncBatchNormalization

_CONVOLUTIONS = (Conv1D, Conv2D, Conv3D)
_NORMALIZATIONS = (BatchNormalization, SyncBatchNormalization)


def _float32(layer) -> bool:
    return layer.compute_dtype == "float32" and all(w.dtype == "float32" for w in layer.weights)


def foldable(conv, norm) -> bool:
    """Whether `norm(conv(x))` may run as one convolution at inference (see the module's rules).

    Example:
        >>> from lamina import layers
        >>> conv, norm = layers.Conv2D(4, 3), layers.BatchNormalization()
        >>> _ = norm(conv(np.ones((1, 5, 5, 2), "float32")))
        >>> foldable(conv, norm)
        True
    """
    if type(conv) not in _CONVOLUTIONS or type(norm) not in _NORMALIZATIONS:
        return False
    if not (conv.built and norm.built) or conv.activation is not activations.linear:
        return False
    if conv.activity_regularizer is not None or norm.activity_regularizer is not None:
        return False
    if not isinstance(norm.axis, int) or not (_float32(conv) and _float32(norm)):
        return False
    rank = conv.rank + 2
    channels = rank - 1 if conv.data_format == "channels_last" else 1
    return norm.axis % rank == channels


def folded_weights(conv, norm) -> tuple:
    """(kernel, bias) of the one convolution that computes `norm(conv(x))` with `norm`'s moving statistics.

    Example:
        >>> kernel, bias = folded_weights(conv, norm)  # a pair `foldable` accepts
    """
    inv = ops.rsqrt(norm.moving_variance.value + norm.epsilon)
    if norm.gamma is not None:
        inv = inv * norm.gamma.value
    offset = -norm.moving_mean.value * inv
    if norm.beta is not None:
        offset = offset + norm.beta.value
    kernel = conv.kernel.value * inv  # the kernel's last axis is the output channels
    bias = offset if conv.bias is None else conv.bias.value * inv + offset
    return kernel, bias


def call_folded(conv, norm, inputs):
    """`norm(conv(inputs), training=False)` as one convolution (a pair `foldable` accepts).

    Example:
        >>> call_folded(conv, norm, np.ones((1, 5, 5, 2), "float32")).shape
        (1, 3, 3, 4)
    """
    inputs = conv._convert_input(inputs)
    conv._check_inputs(inputs)
    return conv.convolve(inputs, *folded_weights(conv, norm))


class FoldedNode:
    """A (convolution, BatchNormalization) pair of a graph as one node: the first's inputs, the second's outputs.

    It has what `functional.run_nodes` reads of a node; its `layer` is itself, a callable.
    """

    device = None

    def __init__(self, conv_node, norm_node):
        self.conv, self.norm = conv_node.layer, norm_node.layer
        self.args, self.kwargs = conv_node.args, {}
        self.input_tensors = conv_node.input_tensors
        self.output_tensors = norm_node.output_tensors
        self.layer = self

    def __call__(self, inputs):
        return call_folded(self.conv, self.norm, inputs)


def _plain_call(node) -> bool:
    """A call on one tensor and nothing else, on the home device."""
    return node.device is None and not node.kwargs and len(node.args) == 1 and isinstance(node.args[0], KerasTensor)


def inference_nodes(nodes: list, keep: set) -> list:
    """`nodes` with every foldable (convolution, BatchNormalization) pair as one `FoldedNode`.

    `keep` holds the ids of the tensors read from outside the nodes (the model's outputs, added losses): a
    convolution's output among them is not folded away. Returns `nodes` itself when nothing folds.

    Example:
        >>> inference_nodes(model._nodes, set())  # a list the model runs instead at inference
    """
    readers: dict = {}
    for node in nodes:
        for tensor in node.input_tensors:
            readers.setdefault(id(tensor), []).append(node)
    producer = {id(t): node for node in nodes for t in node.output_tensors}
    pairs = {}  # id(conv node) -> norm node
    for node in nodes:
        if not _plain_call(node) or type(node.layer) not in _NORMALIZATIONS:
            continue
        source = node.args[0]
        conv_node = producer.get(id(source))
        if conv_node is None or not _plain_call(conv_node) or len(conv_node.output_tensors) != 1:
            continue
        if id(source) in keep or len(readers.get(id(source), [])) != 1:
            continue
        if foldable(conv_node.layer, node.layer):
            pairs[id(conv_node)] = node
    if not pairs:
        return nodes
    folded_norms = {id(node) for node in pairs.values()}
    out = []
    for node in nodes:
        if id(node) in pairs:
            out.append(FoldedNode(node, pairs[id(node)]))
        elif id(node) not in folded_norms:
            out.append(node)
    return out


def may_fold(training) -> bool:
    """Whether a model call may run folded pairs: an inference call, outside mixed-precision autocast."""
    return not training and not autocast.ACTIVE[0]
