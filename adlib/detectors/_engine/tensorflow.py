"""The training engine on TensorFlow: gradients from ``tf.GradientTape``, divided by the number of
replicas under ``tf.distribute`` (``MirroredStrategy``); compiled functions are ``tf.function`` graphs
and the step pipeline is ``tf.data``. See :mod:`adlib.detectors._engine` for what each function does."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from .common import build_recorded_optimizers, loss_of

# errors that a backend raises when a numerical routine fails on its input (e.g. a Cholesky
# factorisation of a matrix that is not positive definite)
NUMERICAL_ERRORS: tuple[type[Exception], ...] = (tf.errors.InvalidArgumentError,)


def replica_gradients(tape, loss, variables):
    """Gradients of one replica's mean ``loss`` under ``tf.distribute``: Keras sums the replicas' gradients,
    so each is divided by the number of replicas, as Keras' built-in losses are (one device: unchanged)."""
    grads = tape.gradient(loss, variables)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return grads if replicas == 1 else [None if g is None else g / replicas for g in grads]


_RECORDING: list | None = None  # while StepFunctions traces a step to build the optimisers: (optimiser, variables)


def descend(optimizer: keras.optimizers.Optimizer, variables: Sequence, loss_fn: Callable):
    """One step of ``optimizer`` on ``variables`` down the gradient of ``loss_fn()``.

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer
        The optimiser that owns ``variables``.
    variables : sequence of keras.Variable
        The weights to update (the trainable variables of the networks this loss trains).
    loss_fn : callable
        Computes the loss in training mode: returns a scalar, a tuple whose first item is the
        scalar to minimise and whose other items (other loss terms, intermediate tensors) are
        handed back unchanged, or a dict of named terms whose ``"loss"`` is minimised.

    Returns
    -------
    object
        What ``loss_fn`` returned.
    """
    if _RECORDING is not None:  # a trace that only finds which optimiser updates which variables
        _RECORDING.append((optimizer, list(variables)))
        return loss_fn()
    with tf.GradientTape() as tape:
        out = loss_fn()
    optimizer.apply_gradients(zip(replica_gradients(tape, loss_of(out), variables), variables))
    return out


def value_and_gradients(fn: Callable, tensors: Sequence, differentiable: bool = False):
    """``fn(*tensors)`` and the gradients of its sum with respect to ``tensors`` (inputs, not weights).

    Parameters
    ----------
    fn : callable
        Computes a tensor from ``tensors``, its arguments; a non-scalar value is summed, so that every
        sample of a batch gets the gradient of its own term.
    tensors : sequence of tensors
        What to differentiate with respect to.
    differentiable : bool, default False
        Whether the gradients are differentiated later (a gradient penalty); a tape nested in an
        outer one records them either way, so TensorFlow ignores it.

    Returns
    -------
    tuple
        ``(value, [gradient of each tensor])``.
    """
    tensors = list(tensors)
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value = fn(*tensors)
    return value, tape.gradient(value, tensors)


def compiled(fn: Callable, variables: Callable | None = None, **options) -> Callable:
    """``fn`` compiled into one graph (``tf.function``; ``options`` such as ``jit_compile`` are passed on),
    retraced for new shapes as rarely as possible. ``variables``, what ``fn`` reads, matters only to the
    JAX engine."""
    return tf.function(fn, reduce_retracing=True, **options)


def inference(fn: Callable, variables: Callable | None = None) -> Callable:
    """``fn`` compiled for inference (a ``tf.function``; a function without a tape records no gradients).
    ``variables``, what ``fn`` reads, matters only to the JAX engine."""
    return tf.function(fn, reduce_retracing=True)


def constant(value):
    """A backend tensor holding ``value`` (an array or number), for the compiled functions' inputs."""
    return tf.constant(value)


def while_loop(cond: Callable, body: Callable, state: tuple) -> tuple:
    """``state = body(*state)`` while ``cond(*state)``, as one loop in the compiled graph."""
    return tf.while_loop(cond, body, state)


def cond(predicate, true_fn: Callable, false_fn: Callable):
    """``true_fn()`` if ``predicate`` (a scalar tensor) holds, else ``false_fn()``, inside a compiled step."""
    return tf.cond(predicate, true_fn, false_fn)


def repeated_batches(x: np.ndarray, batch_size: int, shuffle: bool, seed: int | None):
    """An endless stream of batches of ``x`` for ``keras.Model.fit`` under a budget of steps: reshuffled
    every pass (a shuffle buffer of up to 20,000 samples, seeded), only full batches."""
    data = tf.data.Dataset.from_tensor_slices(x)
    if shuffle:
        data = data.shuffle(min(len(x), 20_000), seed=seed, reshuffle_each_iteration=True)
    return data.repeat().batch(batch_size, drop_remainder=True).prefetch(2)


def no_gradients():
    """A context in which nothing records gradients: outside a tape, TensorFlow records none anyway."""
    return contextlib.nullcontext()


def set_op_determinism() -> None:
    """Ask the backend for deterministic kernels (same inputs, same results), at some cost in speed."""
    tf.config.experimental.enable_op_determinism()


class StepFunctions:
    """Keras runs the models' stateful ``train_step`` and ``test_step`` as they are (the JAX engine turns
    them into pure compiled functions). One thing is added: the optimisers a training step uses are built
    before its first compiled call. A Keras optimiser otherwise creates its slots (Adam's moments) in its
    first update, inside the ``tf.function``, and TensorFlow traces a function that creates variables
    twice: for a short fit of a model with two or three optimisers, a third of its time."""

    def make_train_function(self, force: bool = False):
        if self.train_function is not None and not force:
            return self.train_function
        super().make_train_function(force=force)
        keras_function = self.train_function
        built = False

        def function(iterator):
            nonlocal built
            if not built:
                _build_optimizers(self, iterator)
                built = True
            return keras_function(iterator)

        self.train_function = function
        return function


def _build_optimizers(model: keras.Model, iterator) -> None:
    """Trace ``model.train_step`` once for the batches of ``iterator`` (a graph is built; nothing runs, no
    variable or seed changes) while :func:`descend` only records which optimiser updates which
    variables, and build each optimiser that is not built yet for them. Skipped where every optimiser is
    built, where the step runs eagerly, inside a ``tf.distribute`` strategy's scope (the step runs per
    replica there), and where the batches' structure is not known in advance (a Python iterator): there
    the optimisers build themselves in their first update, at the cost of the second trace."""
    optimizers = [value for value in vars(model).values() if isinstance(value, keras.optimizers.Optimizer)]
    spec = getattr(iterator, "element_spec", None)
    if (all(optimizer.built for optimizer in optimizers) or model.run_eagerly or tf.distribute.has_strategy()
            or spec is None or not all(isinstance(s, tf.TensorSpec) for s in tf.nest.flatten(spec))):
        return
    global _RECORDING
    _RECORDING = []
    try:
        # without AutoGraph, as Keras traces the step itself
        tf.function(model.train_step, autograph=False).get_concrete_function(spec)
        pairs = _RECORDING
    finally:
        _RECORDING = None
    build_recorded_optimizers(pairs)
