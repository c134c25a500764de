"""Keras 2's `multi_gpu_model`: one model trained on several devices, each taking a slice of every batch.

The returned model calls the template model, so the two share every weight: train the parallel model, save the
template (the FAQ's advice). Its steps are the template's steps run data-parallel (`lamina.distribution`): the
weights replicated on each device, each batch split by sample, the gradients reduced inside the compiled step, so a
`fit` gives the numbers one device gives on the same global batch.

Example:
    >>> parallel_model = multi_gpu_model(model, gpus=8)
    >>> parallel_model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    >>> parallel_model.fit(x, y, epochs=20, batch_size=256)  # 32 samples per device per step
    >>> model.save("template.h5")
"""

from __future__ import annotations

__all__ = ["multi_gpu_model"]


def _device_names(gpus) -> list:
    """The device names `gpus` asks for (a count, or ids), checked against this machine's accelerator devices."""
    from lamina import distribution

    available = distribution.list_devices()
    kind = available[0].split(":")[0] if available else "gpu"
    if isinstance(gpus, bool) or not isinstance(gpus, (int, list, tuple)) and gpus is not None:
        raise TypeError(f"multi_gpu_model: `gpus` must be an integer >= 2 or a list of device ids, got {gpus!r}.")
    if gpus is None:
        ids = list(range(len(available)))
    elif isinstance(gpus, int):
        ids = list(range(gpus))
    else:
        ids = list(gpus)
        if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids) or len(set(ids)) != len(ids):
            raise ValueError(f"multi_gpu_model: `gpus` as a list must hold distinct device ids (>= 0), got {gpus!r}.")
    if len(ids) <= 1:
        raise ValueError(
            "For multi-gpu usage to be effective, call `multi_gpu_model` with `gpus >= 2`. "
            f"Received: `gpus={gpus!r}` (this machine has: {', '.join(available) or 'no devices'})."
        )
    wanted = [f"{kind}:{i}" for i in ids]
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ValueError(
            f"To call `multi_gpu_model` with `gpus={gpus!r}`, we expect the following devices to be available: "
            f"{wanted}. However this machine only has: {available}. Try reducing `gpus`."
        )
    return wanted


def multi_gpu_model(model, gpus=None, cpu_merge: bool = True, cpu_relocation: bool = False):
    """A model that runs `model` data-parallel on several devices, sharing its weights (Keras 2's signature).

    `fit`, `evaluate` and `predict` split each batch over the devices (a batch the device count does not divide
    runs whole on each device, so nothing is dropped); outputs and metrics cover the whole batch. The devices are
    the GPUs when the machine has them, else the CPU devices the engine sees (JAX can be given several with
    `XLA_FLAGS=--xla_force_host_platform_device_count=8`, torch with `LAMINA_CPU_DEVICES=8`).

    Args:
        model: The template model (built).
        gpus: The device count (>= 2), a list of device ids, or None for every device.
        cpu_merge: Accepted for Keras 2 programs (XLA merges the outputs where it is fastest). Must be a bool.
        cpu_relocation: Accepted for Keras 2 programs (the weights live replicated on each device). Must be a bool.

    Returns:
        A Model with the template's inputs and output names, whose layers are its inputs and the template.

    Example:
        >>> parallel_model = multi_gpu_model(model, gpus=2)
        >>> parallel_model.compile("sgd", "mse")
        >>> parallel_model.fit(x, y, batch_size=64)
    """
    from lamina import distribution, layers
    from lamina.models import Model

    for flag, value in (("cpu_merge", cpu_merge), ("cpu_relocation", cpu_relocation)):
        if not isinstance(value, bool):
            raise TypeError(f"multi_gpu_model: `{flag}` must be True or False, got {value!r}.")
    if not isinstance(model, Model) or not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            "multi_gpu_model: `model` must be a built Keras model with inputs (a Sequential with an input shape, or "
            f"a functional model), got {model!r}."
        )
    strategy = distribution.DataParallel(devices=_device_names(gpus))
    inputs = [layers.Input(batch_shape=tuple(t.shape), dtype=t.dtype, name=_name(t)) for t in model.inputs]
    outputs = model(inputs if len(inputs) > 1 else inputs[0])
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    # Keras 2 merged each output in a layer named as the template's output, so losses keyed by name still apply.
    merged = [layers.Activation("linear", name=name)(out) for name, out in zip(model.output_names, outputs)]
    parallel = Model(inputs, merged if len(merged) > 1 else merged[0], name=f"{model.name}_parallel")
    parallel._data_parallel = strategy
    return parallel


def _name(tensor) -> str:
    """The name of the Input layer behind a template input tensor."""
    history = getattr(tensor, "_keras_history", None)
    layer = history[0] if history is not None else None
    return getattr(layer, "name", None) or getattr(tensor, "name", "input")
