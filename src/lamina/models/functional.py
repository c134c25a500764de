"""Functional models: a graph of layer calls from `Input`s to outputs (DESIGN rule 7)."""

from __future__ import annotations

import numpy as np

from lamina.backend import KerasTensor, engine
from lamina.backend.common import is_float_dtype, standardize_dtype
from lamina.layers.core.input_layer import InputLayer
from lamina.layers.layer import _call_context
from lamina.layers.masking_flow import call_with_mask, makes_masks, masks_for_outputs, no_mask
from lamina.models import inference_folding
from lamina.models.host_stage import host_stage_for
from lamina.models.model import Model
from lamina.utils import nest


def _producer(tensor: KerasTensor):
    if tensor._keras_history is None:
        raise ValueError(f"{tensor!r} was not made by lamina.Input() or a layer, so it cannot be part of a model.")
    layer, node_index, _ = tensor._keras_history
    return layer._inbound_nodes[node_index]


def _sorted_nodes(outputs: list) -> tuple:
    """(nodes, first visits): every node that leads to `outputs`, each after the nodes it depends on.

    The walk goes from the outputs back to the inputs; `first visits` maps each layer's id to the
    order in which the walk first reached it, the tie-break of Keras's layer order.
    """
    order, done, active, first_visit = [], set(), set(), {}

    def visit(node):
        if id(node) in done:
            return
        if id(node) in active:
            raise ValueError(f'The model graph has a cycle through layer "{node.layer.name}".')
        first_visit.setdefault(id(node.layer), len(first_visit))
        active.add(id(node))
        for tensor in node.input_tensors:
            visit(_producer(tensor))
        active.discard(id(node))
        done.add(id(node))
        order.append(node)

    for tensor in outputs:
        visit(_producer(tensor))
    return order, first_visit


def _keras_layer_order(nodes: list, first_visit: dict, input_layers: list) -> list:
    """The layers in Keras's `model.layers` order: deepest first, ties in the order the walk first reached them.

    A node's depth is the longest path from it to an output; a layer called more than once takes the
    greatest depth of its calls. Inputs that no output needs come first among depth 0, as in Keras.
    """
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(nodes):  # outputs first: a node's depth is final before its parents are raised
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        node_depth[id(node)] = layer_depth[id(node.layer)] = depth
        layers[id(node.layer)] = node.layer
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for layer in input_layers:
        if id(layer) not in layers:
            layers[id(layer)] = layer
            layer_depth[id(layer)] = 0
            first_visit[id(layer)] = -1
    return sorted(layers.values(), key=lambda layer: (-layer_depth[id(layer)], first_visit[id(layer)]))


class Functional(Model):
    """A model defined by its input and output tensors.

    Args:
        inputs: a KerasTensor from `Input()`, or a list/dict of them.
        outputs: a KerasTensor made from the inputs by layer calls, or a list/dict of them.
        name: the model's name (default `model`, `model_1`, ...).

    Example:
        >>> a = Input(shape=(3,), name="a")
        >>> b = Input(shape=(3,), name="b")
        >>> shared = Dense(4)
        >>> merged = Concatenate()([shared(a), shared(b)])
        >>> model = Model(inputs=[a, b], outputs=Dense(1)(merged))
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name or _default_name(), trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._input_tensors = nest.flatten(inputs)
        self._output_tensors = nest.flatten(outputs)
        self._loss_tensors = []  # tensors given to add_loss (Keras 2's symbolic losses)
        for tensor in self._input_tensors + self._output_tensors:
            if not isinstance(tensor, KerasTensor):
                raise TypeError(
                    f"Model inputs and outputs must be symbolic tensors from lamina.Input() and layer calls, "
                    f"got {type(tensor).__name__}."
                )
        for tensor in self._input_tensors:
            if not isinstance(_producer(tensor).layer, InputLayer):
                raise ValueError(
                    f"Model inputs must come straight from lamina.Input(); {tensor.name!r} was made by layer "
                    f'"{_producer(tensor).layer.name}".'
                )
        self._build_graph()
        self.built = True

    def _build_graph(self) -> None:
        nodes, first_visit = _sorted_nodes(self._output_tensors)
        input_layers = [_producer(t).layer for t in self._input_tensors]
        layers = _keras_layer_order(nodes, first_visit, input_layers)
        if self._loss_tensors:
            # As tf.keras inserts them: the layers only the added losses need come after the model's own,
            # in Keras's order of the losses' graph (weight files list them so).
            loss_nodes, loss_visit = _sorted_nodes(self._loss_tensors)
            seen_nodes, seen_layers = {id(n) for n in nodes}, {id(layer) for layer in layers}
            nodes = nodes + [n for n in loss_nodes if id(n) not in seen_nodes]
            layers += [x for x in _keras_layer_order(loss_nodes, loss_visit, []) if id(x) not in seen_layers]
        known = {id(t) for t in self._input_tensors}
        for node in nodes:
            if isinstance(node.layer, InputLayer):
                if id(node.outputs) not in known:
                    raise ValueError(
                        f'Graph disconnected: the model needs input "{node.layer.name}", which is not among its '
                        f"inputs {[t.name for t in self._input_tensors]}."
                    )
            for tensor in node.output_tensors:
                known.add(id(tensor))
        object.__setattr__(self, "_layers", layers)
        self._nodes = [n for n in nodes if not isinstance(n.layer, InputLayer)]
        stage = host_stage_for(self.name, self._input_tensors, self.input_names, self._nodes)
        object.__setattr__(self, "_host_stage", stage)
        # Layers that may start a mask (Embedding(mask_zero=True), Masking): with none, the graph runs mask-free.
        self._mask_makers = {id(n.layer) for n in self._nodes if makes_masks(n.layer)}

    def add_loss(self, loss) -> None:
        """Adds a loss. A symbolic tensor computed from the model's inputs (Keras 2's VAE loss) becomes part of
        the graph and is added to the training loss on every call; a value is added once, as `Layer.add_loss`.

        Example:
            >>> kl = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
            >>> vae.add_loss(K.mean(reconstruction_loss + kl))
        """
        symbolic = [t for t in nest.flatten(loss) if isinstance(t, KerasTensor)]
        if not symbolic:
            return super().add_loss(loss)
        if len(symbolic) != len(nest.flatten(loss)):
            raise TypeError(f'Model "{self.name}".add_loss: a list of losses must be all symbolic or all values.')
        previous = list(self._loss_tensors)
        self._loss_tensors.extend(symbolic)
        try:
            self._build_graph()
        except ValueError as error:
            self._loss_tensors[:] = previous
            self._build_graph()
            raise ValueError(
                f'Model "{self.name}".add_loss: the loss must be computed from the model\'s inputs; {error}'
            ) from error

    # ------------------------------------------------------------- structure
    @property
    def inputs(self) -> list:
        return list(self._input_tensors)

    @property
    def outputs(self) -> list:
        return list(self._output_tensors)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self) -> list:
        return [_producer(t).layer.name for t in self._input_tensors]

    @property
    def output_names(self) -> list:
        return [_producer(t).layer.name for t in self._output_tensors]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._output_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    # ---------------------------------------------------------------- calling
    def _flat_inputs(self, inputs) -> list:
        """The inputs in `self.inputs` order; dicts are matched by input name."""
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ValueError(
                    f'Model "{self.name}" expects inputs named {self.input_names}; missing {missing} '
                    f"(got keys {sorted(inputs)})."
                )
            return [inputs[n] for n in self.input_names]
        flat = nest.flatten(inputs)
        if len(flat) != len(self._input_tensors):
            raise ValueError(
                f'Model "{self.name}" expects {len(self._input_tensors)} input(s) {self.input_names}, got {len(flat)}.'
            )
        return flat

    def __call__(self, *args, **kwargs):
        if args and not any(isinstance(t, KerasTensor) for t in nest.flatten(args[0])):
            if self._host_stage is not None:
                return self._call_host_staged(args, kwargs)
            flat = [self._convert_model_input(v, t) for v, t in zip(self._flat_inputs(args[0]), self._input_tensors)]
            self._check_input_shapes(flat)
            return self._run_call(flat, *args[1:], **kwargs)
        return super().__call__(*args, **kwargs)

    def _convert_model_input(self, value, tensor: KerasTensor):
        if not engine.core.is_tensor(value):
            value = np.asarray(value)
        dtype = standardize_dtype(value.dtype)
        if dtype != tensor.dtype and (is_float_dtype(dtype) or is_float_dtype(tensor.dtype)):
            return engine.core.convert_to_tensor(value, dtype=tensor.dtype)
        return engine.core.convert_to_tensor(value)

    def _check_input_shapes(self, flat) -> None:
        for i, (value, tensor) in enumerate(zip(flat, self._input_tensors)):
            shape = tuple(value.shape)
            ok = len(shape) == len(tensor.shape) and all(
                want is None or want == got for want, got in zip(tensor.shape, shape)
            )
            if not ok:
                raise ValueError(f'Input {i} of layer "{self.name}" expects shape {tensor.shape}, got {shape}.')

    def _check_inputs(self, inputs) -> None:
        if self._host_stage is not None and self._host_stage.is_feed(inputs):
            return self._host_stage.check(inputs)
        flat = self._flat_inputs(inputs)
        self._check_input_shapes(flat)

    def call(self, inputs, training=None, mask=None):
        outputs, output_masks = self._run_graph(inputs, mask, add_losses=True)
        nested = _call_context().depth > 1
        if nested and not no_mask(output_masks):
            # A layer of another model: compute_mask reads this back at once, so the graph runs once.
            object.__setattr__(self, "_pending_output_masks", output_masks)
        elif not nested:  # the model itself: the loss of this step reads the masks back
            masks = None if no_mask(output_masks) else nest.flatten(output_masks)
            object.__setattr__(self, "_output_masks_for_loss", masks)
        return outputs

    def _run_graph(self, inputs, input_masks=None, add_losses=False):
        """(outputs, output masks): every node in order, masks carried beside the tensors.

        With `add_losses`, the values of the tensors given to `add_loss` are added to the model's losses.
        """
        values, masks, nodes = {}, {}, self._nodes
        stage = self._host_stage
        if stage is not None and stage.is_feed(inputs):  # the host stage has run: start from its outputs
            values.update({id(tensor): inputs[key] for key, tensor in zip(stage.keys, stage.feed_tensors)})
            nodes, input_masks = stage.numeric_nodes, None
        else:
            for tensor, value in zip(self._input_tensors, self._flat_inputs(inputs)):
                values[id(tensor)] = value
        if not no_mask(input_masks):
            for tensor, value in zip(self._input_tensors, nest.flatten(input_masks)):
                if value is not None:
                    masks[id(tensor)] = value

        if not masks and not self._mask_makers and inference_folding.may_fold(_call_context().training):
            nodes = self._folded(nodes)
        run_nodes(nodes, values, masks, self._mask_makers, releases=self._release_plan(nodes))
        if self._loss_tensors and add_losses:
            for tensor in self._loss_tensors:  # Keras 2's `model.add_loss(symbolic tensor)`
                self.add_loss(values[id(tensor)])

        def mask_of(item):
            return masks.get(id(item)) if isinstance(item, KerasTensor) else None

        output_masks = nest.map_structure(mask_of, self._outputs_struct) if masks else None
        return nest.map_structure(lambda t: values[id(t)], self._outputs_struct), output_masks

    def _keep(self) -> set:
        """Ids of the tensors read after the graph has run: the outputs and the tensors given to `add_loss`."""
        return {id(t) for t in nest.flatten(self._outputs_struct)} | {id(t) for t in self._loss_tensors}

    def _folded(self, nodes) -> list:
        """`nodes` as an inference call runs them (models/inference_folding.py), made once per list."""
        cache = self.__dict__.setdefault("_folded_nodes", {})
        if id(nodes) not in cache:
            cache[id(nodes)] = (nodes, inference_folding.inference_nodes(nodes, self._keep()))
        return cache[id(nodes)][1]

    def _release_plan(self, nodes) -> list:
        """`release_plan` of `nodes` (the whole graph, or the host stage's numeric part), made once per list."""
        plans = self.__dict__.setdefault("_release_plans", {})
        if id(nodes) not in plans:
            # The list is kept with its plan, so that its id stays its own.
            plans[id(nodes)] = (nodes, release_plan(nodes, self._keep()))
        return plans[id(nodes)][1]

    def compute_mask(self, inputs, mask=None):
        """The masks of the model's outputs (None where an output has none)."""
        pending = self.__dict__.pop("_pending_output_masks", None)
        if pending is not None:
            return pending
        if no_mask(mask) and not self._mask_makers:
            return None
        return self._run_graph(inputs, mask)[1]

    def get_config(self) -> dict:
        """The Keras 2 functional config: layers with their inbound nodes, input and output references.

        Node indices count only the calls that belong to this model, as Keras writes them. A call whose
        tensors all sit in its first argument (`dense(x)`, `concat([a, b])`, `dropout(x, training=False)`)
        is written in Keras 2's `[[name, node, tensor, {kwargs}], ...]` form, which Keras 2 and 3 both read.
        A call with tensors elsewhere (`mha(query, value)`, `lstm(x, initial_state=[h, c])`) is written
        as Keras 3's `{"args": [...], "kwargs": {...}}`, the one form real Keras 3 reads such calls from.
        """
        from lamina.saving.serialization import serialize_layer

        ref = self._tensor_references()
        layer_configs = []
        for layer in self.layers:
            inbound = [node_config(node, ref) for node in self._own_nodes(layer)]
            layer_configs.append({**serialize_layer(layer), "name": layer.name, "inbound_nodes": inbound})
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_configs,
            "input_layers": [ref(t) for t in self._input_tensors],
            "output_layers": [ref(t) for t in self._output_tensors],
        }
        if self._loss_tensors:  # lamina's key for add_loss(symbolic tensor); Keras ignores it
            config["added_losses"] = [ref(t) for t in self._loss_tensors]
        return config

    def _own_nodes(self, layer) -> list:
        """The calls of `layer` that belong to this model's graph, in call order."""
        own = {id(node) for node in self._nodes}
        return [node for node in layer._inbound_nodes if id(node) in own]

    def _tensor_references(self):
        """A function giving a tensor's saved `[layer name, node index, tensor index]` in this model.

        Node indices are renumbered to count only the calls that belong to this model, as Keras does.
        """
        own_nodes = {id(node) for node in self._nodes}
        renumbered = {}
        for layer in self.layers:
            kept = [n for n in layer._inbound_nodes if id(n) in own_nodes or isinstance(layer, InputLayer)]
            renumbered.update({id(node): index for index, node in enumerate(kept)})

        def ref(tensor: KerasTensor) -> list:
            layer, node_index, tensor_index = tensor._keras_history
            return [layer.name, renumbered.get(id(layer._inbound_nodes[node_index]), node_index), tensor_index]

        return ref

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """A functional model from a Keras 2 or Keras 3 functional config (new weights).

        Example:
            >>> clone = Model.from_config(model.get_config())
        """
        from lamina.saving.model_config import functional_from_config

        return functional_from_config(cls, config, custom_objects)


def keras_tensor_config(tensor: KerasTensor, ref: list) -> dict:
    """A tensor argument as Keras 3 saves it: `{"class_name": "__keras_tensor__", "config": {...}}`."""
    shape = [None if d is None else int(d) for d in tensor.shape]
    history = {"shape": shape, "dtype": str(tensor.dtype), "keras_history": list(ref[:3])}
    return {"class_name": "__keras_tensor__", "config": history}


def _config_value(value, tensor_config):
    """A call argument as plain config data: tensors through `tensor_config`, tuples as lists."""
    if isinstance(value, KerasTensor):
        return tensor_config(value)
    if isinstance(value, (list, tuple)):
        return [_config_value(item, tensor_config) for item in value]
    if isinstance(value, dict):
        return {str(key): _config_value(item, tensor_config) for key, item in value.items()}
    return value


def keras3_node_config(node, ref) -> dict:
    """One call as Keras 3 saves it: `{"args": [...], "kwargs": {...}}` with `__keras_tensor__` references.

    Example:
        >>> keras3_node_config(mha_node, ref)["kwargs"]
        {'use_causal_mask': True}
    """

    def tensor_config(tensor):
        return keras_tensor_config(tensor, ref(tensor))

    return {
        "args": [_config_value(arg, tensor_config) for arg in node.args],
        "kwargs": {key: _config_value(value, tensor_config) for key, value in node.kwargs.items()},
    }


def _keras2_expressible(node) -> bool:
    """Whether Keras 2's node form holds the call exactly: every tensor, and only tensors, in a flat first argument."""
    if len(node.args) != 1:
        return False
    first = node.args[0]
    if isinstance(first, (list, tuple)):
        if len(first) < 2 or not all(isinstance(item, KerasTensor) for item in first):
            return False  # one-item lists would come back unwrapped; constants need Keras 3's form
    elif not isinstance(first, KerasTensor):
        return False
    return not any(isinstance(item, KerasTensor) for item in nest.flatten(node.kwargs))


def node_config(node, ref):
    """One call in the Keras 2 config: `[[name, node, tensor, {kwargs}], ...]`, or Keras 3's form if it must.

    Example:
        >>> node_config(dropout_node, ref)
        [['dense', 0, 0, {'training': False}]]
    """
    if not _keras2_expressible(node):
        return keras3_node_config(node, ref)
    kwargs = {key: _config_value(value, None) for key, value in node.kwargs.items()}
    return [ref(tensor) + [dict(kwargs)] for tensor in nest.flatten(node.args[0])]


def release_plan(nodes, keep: set) -> list:
    """For each node, the ids of the tensors `run_nodes` can drop once it has run: their last use (never `keep`).

    Without it every intermediate value of a call stays referenced until the call ends: a ResNet50 predict at
    batch 32 held 4 GB, every activation on fresh pages, where dropping each after its last use keeps the memory
    of a few layers, reused while it is still in the caches. (In training, autograd keeps what backward needs.)

    Example:
        >>> release_plan([], set())
        []
    """
    last = {}
    for index, node in enumerate(nodes):
        for item in nest.flatten((node.args, node.kwargs)):
            if isinstance(item, KerasTensor):
                last[id(item)] = index
        for tensor in node.output_tensors:  # made and never read (an unused output): dropped at once
            last.setdefault(id(tensor), index)
    plan = [[] for _ in nodes]
    for key, index in last.items():
        if key not in keep:
            plan[index].append(key)
    return plan


def run_nodes(nodes, values: dict, masks: dict, mask_makers, shifts=None, releases=None) -> None:
    """Runs `nodes` in order, filling `values` (and `masks`) by tensor id from the values already there.

    `mask_makers` holds the ids of layers that may start a mask. `shifts` maps tensor ids to values added to
    those tensors as they are made (`K.gradients` differentiates with respect to such zero shifts).
    `releases` (a `release_plan` of `nodes`) says which values to drop after each node.
    Functional models and `K.gradients` run their graphs with it.
    """

    if engine.placement.is_pipelined() and not shifts:
        for device, segment in _segments(nodes):
            _run_segment(device, segment, values, masks, mask_makers)
        return

    def lookup(item):
        return values[id(item)] if isinstance(item, KerasTensor) else item

    def mask_of(item):
        return masks.get(id(item)) if isinstance(item, KerasTensor) else None

    for index, node in enumerate(nodes):
        args = nest.map_structure(lookup, node.args)
        kwargs = nest.map_structure(lookup, node.kwargs)
        with_masks = bool(masks) or id(node.layer) in mask_makers
        in_mask = nest.map_structure(mask_of, node.args[0]) if with_masks and node.args else None
        if node.device is None:
            outputs, out_mask = _call_node(node, args, kwargs, with_masks, in_mask)
        else:
            outputs, out_mask = engine.placement.call_on_device(
                node.device,
                [node],
                lambda a, k, m, node=node, with_masks=with_masks: _call_node(node, a, k, with_masks, m),
                (args, kwargs, in_mask),
                (with_masks, _call_context().training),
            )
        for tensor, value in zip(node.output_tensors, nest.flatten(outputs)):
            values[id(tensor)] = value if not shifts or id(tensor) not in shifts else value + shifts[id(tensor)]
        if out_mask is not None:
            for tensor, value in zip(node.output_tensors, masks_for_outputs(out_mask, len(node.output_tensors))):
                if value is not None:
                    masks[id(tensor)] = value
        if releases is not None:
            for key in releases[index]:
                values.pop(key, None)


def _segments(nodes) -> list:
    """[(device, [nodes])]: runs of consecutive nodes with the same device scope (None: the home device)."""
    segments = []
    for node in nodes:
        if segments and segments[-1][0] == node.device:
            segments[-1][1].append(node)
        else:
            segments.append((node.device, [node]))
    return segments


def _run_segment(device, segment, values: dict, masks: dict, mask_makers) -> None:
    """One segment of a pipelined step as one program on `device` (backend/<engine>/placement.py)."""
    produced = {id(tensor) for node in segment for tensor in node.output_tensors}
    needed = []
    for node in segment:
        for item in nest.flatten((node.args, node.kwargs)):
            if isinstance(item, KerasTensor) and id(item) not in produced and id(item) not in needed:
                needed.append(id(item))
    inputs = {key: values[key] for key in needed}
    in_masks = {key: masks[key] for key in needed if key in masks}

    depth, training = _call_context().depth, _call_context().training

    def run(inputs, in_masks):
        # The call context of this call, also when the engine traces the segment again for its backward pass, in
        # whichever thread traces it (the context is per thread; this function is kept with the compiled segment).
        ctx = _call_context()
        previous = ctx.depth, ctx.training
        ctx.depth, ctx.training = depth, training
        try:
            local_values, local_masks = dict(inputs), dict(in_masks)
            run_nodes(segment, local_values, local_masks, mask_makers)
        finally:
            ctx.depth, ctx.training = previous
        out_masks = {key: local_masks[key] for key in produced if key in local_masks}
        return {key: local_values[key] for key in produced}, out_masks

    key = (tuple(id(node) for node in segment), depth, training)
    out, out_masks = engine.placement.call_on_device(device, segment, run, (inputs, in_masks), key)
    values.update(out)
    masks.update(out_masks)


def _call_node(node, args, kwargs, with_masks: bool, in_mask):
    """(outputs, output mask) of one node's layer call; the mask machinery only where masks may exist."""
    if with_masks:
        return call_with_mask(node.layer, args, kwargs, in_mask)
    return node.layer(*args, **kwargs), None


def _default_name() -> str:
    from lamina.backend.common import unique_name

    return unique_name("model")
