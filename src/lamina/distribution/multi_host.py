"""Many processes, one training run: `initialize()` joins this process to the job, on either engine.

Every process runs the same program. The job's shape comes from the arguments, else from the environment: Keras 3's
`KERAS_DISTRIBUTION_JOB_ADDRESSES` / `KERAS_DISTRIBUTION_NUM_PROCESSES` / `KERAS_DISTRIBUTION_PROCESS_ID`, torchrun's
`MASTER_ADDR` + `MASTER_PORT` / `WORLD_SIZE` / `RANK`, or JAX's `JAX_COORDINATOR_ADDRESS` (+ `JAX_COORDINATOR_PORT`)
/ `JAX_NUM_PROCESSES` / `JAX_PROCESS_ID`, in that order. The engine then joins the job with its own runtime
(`jax.distributed.initialize`, gloo collectives on CPU; `torch.distributed.init_process_group`, NCCL on GPUs and
gloo on CPU).

After it, `DataParallel()` spans every device of every process on JAX; on torch each process is one replica, on
its own device (`cuda:LOCAL_RANK`, else the CPU), and so is each under `multi_gpu_model` (the device list it
names is not used in a job). Each process passes the same arrays to
`fit` (or the same Sequence / generator, yielding the same batches) and puts only its own devices' share of each
batch on them; `fit` shuffles with a seed taken from process 0. Only process 0 writes files and progress bars
(`is_chief()`), and a model it saves loads on one device.

A process that dies stops the others with a RuntimeError rather than a hang: at once on torch; on JAX's CPU
collectives once LAMINA_DISTRIBUTED_TIMEOUT (seconds, default 600) has passed, naming the process that stopped.
Start every process again and `BackupAndRestore` resumes the fit from its last backup.

Example:
    >>> # on each machine: KERAS_DISTRIBUTION_JOB_ADDRESSES=10.0.0.1:1234 KERAS_DISTRIBUTION_NUM_PROCESSES=2
    >>> # and KERAS_DISTRIBUTION_PROCESS_ID=0 or 1, then:
    >>> lamina.distribution.initialize()
    >>> lamina.distribution.set_distribution(lamina.distribution.DataParallel())
    >>> model.fit(x, y, batch_size=256)  # 256 samples per step over every device of both machines
"""

from __future__ import annotations

import os

from lamina.backend import engine

__all__ = ["initialize", "is_chief", "num_processes", "process_index"]

# Each setting, where it is looked for after the argument: (variable, ...) in order of preference.
_ADDRESS_SOURCES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "MASTER_ADDR", "JAX_COORDINATOR_ADDRESS")
_COUNT_SOURCES = ("KERAS_DISTRIBUTION_NUM_PROCESSES", "WORLD_SIZE", "JAX_NUM_PROCESSES")
_ID_SOURCES = ("KERAS_DISTRIBUTION_PROCESS_ID", "RANK", "JAX_PROCESS_ID")
_PORTS = {"MASTER_ADDR": "MASTER_PORT", "JAX_COORDINATOR_ADDRESS": "JAX_COORDINATOR_PORT"}


def initialize(job_addresses: str | None = None, num_processes: int | None = None, process_id: int | None = None):
    """Joins this process to a multi-process job (Keras 3's signature); call it first, on every process.

    Args:
        job_addresses: "host:port" of process 0 (the coordinator), or a comma-separated list whose first entry is;
            None for the environment (see the module's docstring).
        num_processes: How many processes the job has; None for the environment.
        process_id: This process's index, 0 to `num_processes - 1`; None for the environment.

    Raises:
        ValueError: a setting is neither given nor in the environment, or is not valid; the message names both.

    Example:
        >>> lamina.distribution.initialize("10.0.0.1:1234", num_processes=2, process_id=0)
    """
    address = _coordinator(job_addresses)
    count = _integer("num_processes", num_processes, _COUNT_SOURCES, minimum=1)
    index = _integer("process_id", process_id, _ID_SOURCES, minimum=0)
    if index >= count:
        raise ValueError(f"initialize: `process_id` must be below `num_processes` ({count}), got {index}.")
    engine.distribute.initialize(address, count, index)


def process_index() -> int:
    """This process's index in the job: 0 for the chief, and for a program run as one process.

    Example:
        >>> lamina.distribution.process_index()
        0
    """
    return engine.distribute.process_index()


def num_processes() -> int:
    """How many processes the job has (1 unless `initialize` joined a larger job).

    Example:
        >>> lamina.distribution.num_processes()
        1
    """
    return engine.distribute.process_count()


def is_chief() -> bool:
    """Whether this process writes the files and progress bars (process 0; always, with one process).

    Example:
        >>> if lamina.distribution.is_chief():
        ...     model.save("final.keras")
    """
    return process_index() == 0


def _coordinator(job_addresses) -> str:
    if job_addresses is not None and (not isinstance(job_addresses, str) or not job_addresses.strip()):
        raise ValueError(f'initialize: `job_addresses` must be a "host:port" string, got {job_addresses!r}.')
    source = "`job_addresses`"
    value = job_addresses
    if value is None:
        source, value = _from_environment(_ADDRESS_SOURCES)
    if value is None:
        raise ValueError(
            "initialize: no coordinator address. Pass `job_addresses` or set KERAS_DISTRIBUTION_JOB_ADDRESSES "
            '("host:port" of process 0), MASTER_ADDR and MASTER_PORT (as torchrun does) or JAX_COORDINATOR_ADDRESS.'
        )
    address = value.split(",")[0].strip()
    port_variable = _PORTS.get(source)
    if port_variable is not None and ":" not in address:
        port = os.environ.get(port_variable)
        if not port:
            raise ValueError(f"initialize: {source}={address!r} has no port and {port_variable} is not set.")
        address = f"{address}:{port}"
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f'initialize: {source} must be "host:port" (the coordinator, process 0), got {value!r}.')
    return address


def _integer(name: str, value, sources: tuple, minimum: int) -> int:
    source = f"`{name}`"
    if value is None:
        source, value = _from_environment(sources)
    if value is None:
        raise ValueError(f"initialize: `{name}` was not given and none of {', '.join(sources)} is set.")
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    number = int(text) if text.lstrip("-").isdigit() else None
    if number is None or number < minimum:
        raise ValueError(f"initialize: {source} must be an integer >= {minimum}, got {value!r}.")
    return number


def _from_environment(names: tuple):
    """(name, value) of the first of `names` set in the environment, else (None, None)."""
    for variable in names:
        value = os.environ.get(variable)
        if value:
            return variable, value
    return None, None
