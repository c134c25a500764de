"""How a model's inference call runs its graph: conv+BatchNormalization pairs folded, ReLU and Add in place.

At inference, a convolution whose only reader is a BatchNormalization runs as one convolution.

BatchNormalization with its moving statistics is `y * inv + offset` per channel, with `inv = gamma /
sqrt(moving_variance + epsilon)` and `offset = beta - moving_mean * inv`. After a convolution `y = conv(x, kernel) +
bias` that is `conv(x, kernel * inv) + (bias * inv + offset)`: the same numbers (up to float rounding, about 1e-6
relative) with one pass over the activations instead of two, and one large array fewer. TensorFlow's graph optimizer
(grappler's remapper) fuses the same pairs into one convolution for CPU inference. ResNet50, MobileNet and most
Keras 2 convnets are made of such pairs.

A pair folds only where nothing else can tell: exactly Conv1D/Conv2D/Conv3D (not a subclass, whose `call` may
differ) with no activation and no activity regularizer, then exactly BatchNormalization on the channels axis with no
activity regularizer; float32 everywhere (mixed precision normalizes in float32 and is left as it is); the
convolution's output read by the BatchNormalization alone and by nothing else (not a model output); both called
with the tensor alone (no `training=`, no mask). Models fold only when the call is not training. A Functional model
makes its plan once, and each folded pair and in-place ReLU checks its layers again when called: one changed since
(`layer.activation = ...`, a new dtype policy) runs its layers' own calls.

Then a ReLU (`Activation("relu")`, a default `ReLU()`) or an `Add` whose input is read by it alone, and was made in
this call by a layer that returns a new array (a convolution, a folded pair, a normalization, an addition), writes
its result over that input (`relu_in_place`, `add_in_place`: torch writes over it where no autograd graph runs
through it, XLA computes as usual). A ResNet's activations are then one array per layer, not three.
"""

from __future__ import annotations

from lamina import activations, ops
from lamina.backend import engine
from lamina.backend.common import KerasTensor, autocast
from lamina.layers.activations.relu import ReLU
from lamina.layers.convolutional.base_conv import Conv1D, Conv2D, Conv3D
from lamina.layers.core.activation import Activation
from lamina.layers.merging.elementwise import Add
from lamina.layers.normalization.batch_normalization import BatchNormalization, SyncBatchNormalization

_CONVOLUTIONS = (Conv1D, Conv2D, Conv3D)
_NORMALIZATIONS = (BatchNormalization, SyncBatchNormalization)
_NEW_ARRAYS = {*_CONVOLUTIONS, *_NORMALIZATIONS, Add}  # layers whose output is an array of its own, never a view


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
        if not foldable(self.conv, self.norm):  # changed since the plan was made (`conv.activation = relu`, say)
            return self.norm(self.conv(inputs))
        return call_folded(self.conv, self.norm, inputs)


def _plain_call(node) -> bool:
    """A call on one tensor and nothing else, on the home device."""
    return node.device is None and not node.kwargs and len(node.args) == 1 and isinstance(node.args[0], KerasTensor)


def inference_nodes(nodes: list, keep: set) -> list:
    """`nodes` with every foldable (convolution, BatchNormalization) pair as one `FoldedNode`, and each ReLU or Add
    that may write over an input as an `InPlaceNode`.

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
    folded_norms = {id(node) for node in pairs.values()}
    out = []
    for node in nodes:
        if id(node) in pairs:
            out.append(FoldedNode(node, pairs[id(node)]))
        elif id(node) not in folded_norms:
            out.append(node)
    out = _in_place(out, keep)
    return nodes if all(a is b for a, b in zip(out, nodes)) and len(out) == len(nodes) else out


class InPlaceNode:
    """A ReLU or Add node that writes its result over one of its inputs (`input_index`), which nothing else reads."""

    device = None

    def __init__(self, node, input_index: int):
        self.node, self.input_index = node, input_index
        self.args, self.kwargs = node.args, {}
        self.input_tensors, self.output_tensors = node.input_tensors, node.output_tensors
        self.layer = self

    def __call__(self, inputs):
        if not isinstance(self.node.layer, Add):
            if not _is_relu(self.node.layer):  # changed since the plan was made: the layer's own call
                return self.node.layer(inputs)
            return engine.nn.relu_in_place(inputs)
        out = inputs[self.input_index]
        for index, other in enumerate(inputs):
            if index != self.input_index:
                out = engine.nn.add_in_place(out, other)
        return out


def _is_relu(layer) -> bool:
    if type(layer) is Activation:
        return layer.activation is activations.relu
    return type(layer) is ReLU and layer.max_value is None and layer.negative_slope == 0 and layer.threshold == 0


def _in_place(nodes: list, keep: set) -> list:
    """`nodes` with each ReLU or Add that may write over an input as an `InPlaceNode` (see the module's rules)."""
    readers: dict = {}
    for node in nodes:
        for tensor in node.input_tensors:
            readers[id(tensor)] = readers.get(id(tensor), 0) + 1
    new_arrays = set()  # ids of tensors made in this call as arrays of their own
    out = []
    for node in nodes:
        index = _writable_input(node, readers, new_arrays, keep)
        if index is not None:
            node = InPlaceNode(node, index)
        if isinstance(node, (FoldedNode, InPlaceNode)) or type(node.layer) in _NEW_ARRAYS:
            new_arrays.update(id(t) for t in node.output_tensors)
        out.append(node)
    return out


def _writable_input(node, readers: dict, new_arrays: set, keep: set):
    """The index of the input `node` may write over, or None."""
    if isinstance(node, FoldedNode) or node.device is not None or node.kwargs or len(node.args) != 1:
        return None
    layer = node.layer
    if not (_is_relu(layer) or type(layer) is Add) or layer.compute_dtype != "float32":
        return None
    inputs = node.args[0] if type(layer) is Add else [node.args[0]]
    if not isinstance(inputs, (list, tuple)) or not all(isinstance(t, KerasTensor) for t in inputs):
        return None
    shape = tuple(node.output_tensors[0].shape)
    for index, tensor in enumerate(inputs):
        alone = readers.get(id(tensor)) == 1 and id(tensor) not in keep and id(tensor) in new_arrays
        if alone and tensor.dtype == "float32" and tuple(tensor.shape) == shape:
            return index
    return None


def may_fold(training) -> bool:
    """Whether a model call may run folded pairs: an inference call, outside mixed-precision autocast."""
    return not training and not autocast.ACTIVE[0]
