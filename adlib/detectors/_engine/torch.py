"""The training engine on PyTorch: autograd into the variables being updated (their gradients cleared
first, so that an earlier loss's ``backward`` does not leak into this step), then ``optimizer.apply``;
loops and branches run eagerly and the step pipeline is a NumPy batch stream. See
:mod:`adlib.detectors._engine` for what each function does."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import torch
from keras import ops

from .common import loss_of, numpy_batches

NUMERICAL_ERRORS: tuple[type[Exception], ...] = (torch.linalg.LinAlgError,)


def descend(optimizer: keras.optimizers.Optimizer, variables: Sequence, loss_fn: Callable):
    variables = list(variables)
    for variable in variables:
        variable.value.grad = None
    with torch.enable_grad():
        out = loss_fn()
        loss_of(out).backward()
    with torch.no_grad():
        optimizer.apply([variable.value.grad for variable in variables], variables)
    return out


def value_and_gradients(fn: Callable, tensors: Sequence, differentiable: bool = False):
    with torch.enable_grad():
        leaves = [t if isinstance(t, torch.Tensor) and t.requires_grad
                  else ops.convert_to_tensor(t).detach().requires_grad_(True) for t in tensors]
        value = fn(*leaves)
        grads = torch.autograd.grad(ops.sum(value), leaves, create_graph=differentiable, allow_unused=True)
    grads = [ops.zeros_like(t) if g is None else g for t, g in zip(leaves, grads)]
    if not differentiable:
        value, grads = value.detach(), [g.detach() for g in grads]
    return value, grads


def compiled(fn: Callable, **options) -> Callable:
    """Eager PyTorch: ``fn`` as it is (``torch.compile`` is not used)."""
    return fn


def inference(fn: Callable) -> Callable:
    """``fn`` run without recording gradients (``torch.no_grad``)."""
    return torch.no_grad()(fn)


def constant(value):
    return ops.convert_to_tensor(value)


def while_loop(cond: Callable, body: Callable, state: tuple) -> tuple:
    while bool(cond(*state)):
        state = body(*state)
    return state


def cond(predicate, true_fn: Callable, false_fn: Callable):
    return true_fn() if bool(predicate) else false_fn()


def repeated_batches(x: np.ndarray, batch_size: int, shuffle: bool, seed: int | None):
    return numpy_batches(x, batch_size, shuffle, seed)


def set_op_determinism() -> None:
    """PyTorch's CPU kernels used here are deterministic already; nothing to switch."""
