"""The data-parallel steps, run alike by every replica: the main process, its workers, or a job's processes.

Each replica runs the single-device forward pass on its slice of the batch; the gradients, losses and
BatchNormalization statistics go through all-reduces (flat buckets, one per dtype; or DistributedDataParallel-style
buckets started during backward on NCCL) and every replica applies the same optimizer update. The outputs are
gathered for the metrics and for `predict`: on the main process of one machine, or on every process of a
multi-process job. A private module of the torch engine (no twin on JAX): backend/torch/distribute.py drives it.
"""

from __future__ import annotations

import functools

import torch
import torch.distributed as dist

from lamina.backend.torch import random as torch_random
from lamina.backend.torch.trainer import _index
from lamina.utils import nest

# The multi-process job `initialize` joined (backend/torch/distribute.py), if any. In a job every process is a
# replica and gets the gathered outputs; with one machine's worker pool only the main process (rank 0) does. A
# process is never in both: each starts its own default process group.
_job = {"joined": False}


def _state_variables(model, tv, predict_only: bool) -> list:
    """The trainable, non-trainable and optimizer variables, in an order every replica computes alike."""
    ids = {id(v) for v in tv}
    state, seen = list(tv), set(ids)
    for variable in model.weights + model.non_trainable_variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            state.append(variable)
    if not predict_only:
        state.extend(model.optimizer.variables)
    return state


def _fingerprint(state: list) -> list:
    return [(v._value, v._value._version) for v in state]


def _unchanged(fingerprint, state: list) -> bool:
    """Whether no variable was replaced or written in place since `fingerprint` was taken."""
    if fingerprint is None or len(fingerprint) != len(state):
        return False
    return all(v._value is t and v._value._version == n for v, (t, n) in zip(state, fingerprint))


# ------------------------------------------------------------------------- the steps, run alike on every replica
def _flat_mean(tensors: list, group, count: int) -> list:
    """`tensors` averaged over the replicas: one all-reduce per dtype over a flat bucket."""
    out = list(tensors)
    by_dtype = {}
    for i, tensor in enumerate(tensors):
        by_dtype.setdefault(tensor.dtype, []).append(i)
    for members in by_dtype.values():
        flat = _wire(torch.cat([tensors[i].reshape(-1) for i in members]))
        dist.all_reduce(flat, group=group)
        flat = (flat / count).to(tensors[members[0]].device)
        offset = 0
        for i in members:
            size = tensors[i].numel()
            out[i] = flat[offset : offset + size].view(tensors[i].shape)
            offset += size
    return out


def _flat_broadcast(tensors: list, group) -> None:
    """Overwrites `tensors` with the main process's values: one broadcast per dtype over a flat bucket."""
    by_dtype = {}
    for i, tensor in enumerate(tensors):
        by_dtype.setdefault(tensor.dtype, []).append(i)
    with torch.no_grad():
        for dtype, members in by_dtype.items():
            flat = torch.cat([tensors[i].reshape(-1) for i in members])
            wire = _wire(flat.to(torch.uint8) if dtype == torch.bool else flat)
            dist.broadcast(wire, src=0, group=group)
            flat = wire.to(device=flat.device, dtype=dtype)
            offset = 0
            for i in members:
                size = tensors[i].numel()
                tensors[i].copy_(flat[offset : offset + size].view(tensors[i].shape))
                offset += size


def _gather(stacked: list, group, ranks: tuple) -> list | None:
    """Each (steps, slice, ...) tensor gathered in replica order as (steps, batch, ...).

    The gathered tensors come back on the main process (rank 0), or on every process of a job; a worker gets None.
    """
    everywhere = _job["joined"]
    main = everywhere or dist.get_rank() == 0
    order = sorted(ranks)  # the group's own order; replica r's part comes from rank ranks[r]
    out = []
    for tensor in stacked:
        wire = _wire(tensor.to(torch.uint8) if tensor.dtype == torch.bool else tensor.contiguous())
        parts = [torch.empty_like(wire) for _ in ranks] if main else None
        if everywhere:
            dist.all_gather(parts, wire, group=group)
        else:
            dist.gather(wire, parts, dst=0, group=group)
        if main:
            merged = torch.cat([parts[order.index(rank)] for rank in ranks], dim=1)
            out.append(merged.to(device=tensor.device, dtype=tensor.dtype))
    return out if main else None


def _wire(tensor):
    """`tensor` where the process group's backend can send it: NCCL sends only CUDA tensors."""
    if dist.get_backend() == "nccl" and tensor.device.type != "cuda":
        return tensor.to(torch.device("cuda", torch.cuda.current_device()))
    return tensor


def _scalars(total, per_output) -> list:
    values = [total] + [value for value in per_output if value is not None]
    return [torch.as_tensor(v).detach().reshape(1).to(torch.float32) for v in values]


def _unflatten_scalars(per_output, reduced: list):
    """(total, per_output losses) from the reduced scalars, None where an output has no loss."""
    rest = iter(reduced[1:])
    return reduced[0].reshape(()), [None if value is None else next(rest).reshape(()) for value in per_output]


def _collect(y_pred_steps: list, mask_steps: list, group, ranks: tuple):
    """The step outputs (and metric masks) stacked and gathered as `_gather` does."""
    outputs = _gather([torch.stack(parts) for parts in zip(*y_pred_steps)], group, ranks)
    masks = None
    if mask_steps[0] is not None:
        present = [m is not None for m in mask_steps[0]]
        gathered = iter(
            _gather([torch.stack([s[j] for s in mask_steps]) for j, p in enumerate(present) if p], group, ranks) or []
        )
        masks = [next(gathered) if p else None for p in present] if outputs is not None else None
    return outputs, masks


def _averaged_gradients(runner, group, count: int, total, per_output, bucket_bytes: int):
    """This step's gradients and losses averaged over the replicas.

    With `bucket_bytes` (NCCL), buckets of that size are all-reduced while backward runs; with 0 (gloo, whose CPU
    replicas share the cores with its communication thread: measured faster so) one all-reduce after backward.
    """
    model = runner.model
    leaves = [v._value for v in runner.tv]
    overlap = bucket_bytes > 0
    buckets = _Buckets.of(runner, leaves, group, bucket_bytes) if overlap else None
    scalars = _scalars(total, per_output)
    if overlap:
        buckets.start()
        scalars = _wire(torch.cat(scalars))
        scalars_sent = dist.all_reduce(scalars, group=group, async_op=True)
    if leaves and isinstance(total, torch.Tensor) and total.requires_grad:
        grads = torch.autograd.grad(model.optimizer.scale_loss(total), leaves, allow_unused=True)
        grads = [torch.zeros_like(leaf) if g is None else g for g, leaf in zip(grads, leaves)]
    else:
        grads = [torch.zeros_like(leaf) for leaf in leaves]
    if not overlap:
        reduced = _flat_mean(grads + scalars, group, count)
        return reduced[: len(grads)], reduced[len(grads) :]
    grads = buckets.finish(count)
    scalars_sent.wait()
    return grads, list((scalars / count).cpu().reshape(-1, 1))


class _Buckets:
    """The gradient all-reduces of a step, started during the backward pass as DistributedDataParallel does.

    The trainable tensors are grouped, last layers first (backward reaches them first), into buckets of one dtype
    and at most `bucket_bytes`; a hook on each tensor notes its gradient, and a bucket whose gradients are all
    there is flattened and all-reduced asynchronously while backward goes on. Buckets start in a fixed order on
    every replica, so the collectives match; `finish` waits and returns the averaged gradients.
    """

    def __init__(self, leaves: list, group, bucket_bytes: int):
        self.leaves, self.group, self.active, self.bucket_bytes = leaves, group, False, bucket_bytes
        self.members, size = [[]], 0
        for i in reversed(range(len(leaves))):
            nbytes = leaves[i].numel() * leaves[i].element_size()
            current = self.members[-1]
            if current and (size + nbytes > bucket_bytes or leaves[current[0]].dtype != leaves[i].dtype):
                self.members.append([])
                size = 0
            self.members[-1].append(i)
            size += nbytes
        self.bucket = {i: b for b, members in enumerate(self.members) for i in members}
        self.hooks = [leaf.register_hook(functools.partial(self._noted, i)) for i, leaf in enumerate(leaves)]

    @classmethod
    def of(cls, runner, leaves: list, group, bucket_bytes: int) -> _Buckets:
        """The runner's buckets for these very tensors and size (made again if a variable got a new tensor)."""
        buckets = getattr(runner, "_gradient_buckets", None)
        same = buckets is not None and buckets.bucket_bytes == bucket_bytes and len(buckets.leaves) == len(leaves)
        if not same or any(a is not b for a, b in zip(buckets.leaves, leaves)):
            if buckets is not None:
                for hook in buckets.hooks:
                    hook.remove()
            buckets = runner._gradient_buckets = cls(leaves, group, bucket_bytes)
        return buckets

    def start(self) -> None:
        self.grads = [None] * len(self.leaves)
        self.waiting = [len(members) for members in self.members]
        self.sent = []
        self.active = True

    def _noted(self, i: int, grad):
        if self.active and self.grads[i] is None:
            self.grads[i] = grad.detach()
            self.waiting[self.bucket[i]] -= 1
            while len(self.sent) < len(self.members) and self.waiting[len(self.sent)] == 0:
                self._send(len(self.sent))
        return grad

    def _send(self, b: int) -> None:
        parts = [self.leaves[i] if self.grads[i] is None else self.grads[i] for i in self.members[b]]
        zero = [self.grads[i] is None for i in self.members[b]]  # unused tensors: a zero gradient
        flat = _wire(torch.cat([torch.zeros_like(p).reshape(-1) if z else p.reshape(-1) for p, z in zip(parts, zero)]))
        self.sent.append((flat, dist.all_reduce(flat, group=self.group, async_op=True)))

    def finish(self, count: int) -> list:
        """The gradients averaged over the replicas, in the tensors' order (zeros for unused tensors)."""
        self.active = False
        while len(self.sent) < len(self.members):
            self._send(len(self.sent))
        out = [None] * len(self.leaves)
        for members, (flat, work) in zip(self.members, self.sent):
            work.wait()
            flat = (flat / count).to(self.leaves[members[0]].device)
            offset = 0
            for i in members:
                size = self.leaves[i].numel()
                out[i] = flat[offset : offset + size].view(self.leaves[i].shape)
                offset += size
        self.grads = None
        return out


def _train_steps(runner, group, ranks: tuple, batch, bucket_bytes: int = 0):
    """One train step per leading index on this replica's slice: gradients and BatchNorm statistics averaged."""
    x, y, sw = batch
    model, count = runner.model, len(ranks)
    index = ranks.index(dist.get_rank())
    floating = [v for v in _state_variables(model, runner.tv, True)[len(runner.tv) :] if v._value.is_floating_point()]
    y_pred_steps, mask_steps, scalar_steps = [], [], []
    for i in range(nest.leading_dim(x)):
        xb, yb, swb = _index(x, i), _index(y, i), _index(sw, i)
        before = _fingerprint(floating)
        torch_random._replica_slice.value = (index, count, nest.leading_dim(xb))
        try:
            y_pred, total, per_output, masks = runner._forward(xb, yb, swb, True)
        finally:
            del torch_random._replica_slice.value
        # The statistics this step wrote (BatchNormalization's moving mean and variance), the same on every replica.
        written = [
            v for v, (value, version) in zip(floating, before) if v._value is not value or v._value._version != version
        ]
        grads, reduced = _averaged_gradients(runner, group, count, total, per_output, bucket_bytes)
        with torch.no_grad():
            model.optimizer.apply(grads, runner.tv)
            if written:  # BatchNormalization's moving statistics follow the replicas' mean
                for variable, mean in zip(written, _flat_mean([v._value for v in written], group, count)):
                    variable._value.copy_(mean)
        y_pred_steps.append([p.detach() for p in y_pred])
        mask_steps.append(None if masks is None else [None if m is None else m.detach() for m in masks])
        scalar_steps.append(_unflatten_scalars(per_output, reduced))
    return _collect(y_pred_steps, mask_steps, group, ranks), scalar_steps


def _test_steps(runner, group, ranks: tuple, batch):
    """One test step per leading index on this replica's slice: losses averaged, outputs gathered."""
    x, y, sw = batch
    y_pred_steps, mask_steps, scalar_steps = [], [], []
    with torch.no_grad():
        for i in range(nest.leading_dim(x)):
            y_pred, total, per_output, masks = runner._forward(_index(x, i), _index(y, i), _index(sw, i), False)
            reduced = _flat_mean(_scalars(total, per_output), group, len(ranks))
            y_pred_steps.append(list(y_pred))
            mask_steps.append(None if masks is None else list(masks))
            scalar_steps.append(_unflatten_scalars(per_output, reduced))
    return _collect(y_pred_steps, mask_steps, group, ranks), scalar_steps


def _predict_steps(runner, group, ranks: tuple, x) -> list | None:
    """The outputs of this replica's slice of each step, gathered on the main process: [(steps, batch, ...)]."""
    with torch.no_grad():
        steps = [nest.flatten(runner.model(_index(x, i), training=False)) for i in range(nest.leading_dim(x))]
    return _gather([torch.stack(parts) for parts in zip(*steps)], group, ranks)
