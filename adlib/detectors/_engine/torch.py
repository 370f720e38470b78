"""The training engine on PyTorch: ``torch.autograd.grad`` of each loss with respect to the variables it
updates (nothing accumulates in other networks' ``.grad``), then ``optimizer.apply``; scoring records
no graph (``no_gradients``);
loops and branches run eagerly and the step pipeline is a NumPy batch stream. See
:mod:`adlib.detectors._engine` for what each function does."""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import keras
import numpy as np
import torch
from keras import ops

from .common import loss_of, numpy_batches

NUMERICAL_ERRORS: tuple[type[Exception], ...] = (torch.linalg.LinAlgError,)


def descend(optimizer: keras.optimizers.Optimizer, variables: Sequence, loss_fn: Callable):
    variables = list(variables)
    with torch.enable_grad():
        out = loss_fn()
        # gradients of these variables only: nothing is accumulated in other networks' weights, and
        # the backward pass skips the paths that lead only to them
        grads = torch.autograd.grad(loss_of(out), [variable.value for variable in variables], allow_unused=True)
    # a variable the loss does not reach is left alone, as TensorFlow's apply_gradients leaves it (a zero
    # gradient would still move it through Adam's moments and weight decay)
    reached = [(g, v) for g, v in zip(grads, variables) if g is not None]
    if reached:
        with torch.no_grad():
            optimizer.apply([g for g, _ in reached], [v for _, v in reached])
    return out


def value_and_gradients(fn: Callable, tensors: Sequence, differentiable: bool = False):
    with torch.enable_grad():
        # fresh leaves, cut from whatever graph the inputs carry (a search step must not keep the previous
        # steps' graphs alive); a differentiable gradient keeps an input that is already part of a graph
        leaves = [t if differentiable and isinstance(t, torch.Tensor) and t.requires_grad
                  else ops.convert_to_tensor(t).detach().requires_grad_(True) for t in tensors]
        value = fn(*leaves)
        grads = torch.autograd.grad(ops.sum(value), leaves, create_graph=differentiable, allow_unused=True)
    grads = [ops.zeros_like(t) if g is None else g for t, g in zip(leaves, grads)]
    if not differentiable:
        value, grads = value.detach(), [g.detach() for g in grads]
    return value, grads


def compiled(fn: Callable, variables: Callable | None = None, **options) -> Callable:
    """Eager PyTorch: ``fn`` as it is (``torch.compile`` is not used; ``variables`` matters only to the JAX
    engine)."""
    return fn


def inference(fn: Callable, variables: Callable | None = None) -> Callable:
    """``fn`` run without recording gradients (``torch.no_grad``). ``variables``, what ``fn`` reads, matters
    only to the JAX engine."""
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


def no_gradients():
    """A context in which nothing records a graph (``torch.no_grad``); the input gradients of
    :func:`value_and_gradients` switch recording back on inside it."""
    return torch.no_grad()


def set_op_determinism() -> None:
    """Deterministic kernels (``torch.use_deterministic_algorithms``; on a GPU, cuDNN without
    autotuning and a fixed cuBLAS workspace), with a warning where an op has none."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


class StepFunctions:
    """Nothing to add on this backend: Keras runs the models' stateful ``train_step`` and ``test_step``
    as they are (the JAX engine turns them into pure compiled functions)."""
