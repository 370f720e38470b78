"""The training engine: everything in adlib that depends on which Keras backend runs it.

Each model states its losses as functions written in ``keras.ops`` (its chapter's equations) and says
which optimiser follows which loss over which networks::

    d_loss = engine.descend(self.d_optimizer, self.discriminator.trainable_variables,
                            lambda: self.discriminator_loss(x, x_hat, training=True))

The engine computes the gradients and applies them. The other backend-specific pieces live here
too: gradients with respect to inputs rather than weights (OCGAN's mining, f-AnoGAN's gradient
penalty, AnoGAN's and ADGAN's latent searches), compiled functions and loops, and the pipeline
that feeds a budget of steps to ``keras.Model.fit``.

Only TensorFlow is implemented so far: it computes gradients with ``tf.GradientTape`` and divides
them by the number of replicas under ``tf.distribute`` (``MirroredStrategy``). The detector modules
import no backend; a PyTorch and a JAX implementation of these functions are what running the
detectors on those backends needs.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np

BACKEND = keras.backend.backend()
if BACKEND != "tensorflow":  # pragma: no cover - depends on KERAS_BACKEND
    raise ImportError(f"adlib's training engine runs on the TensorFlow backend only so far; KERAS_BACKEND is "
                      f"{BACKEND!r}. Unset KERAS_BACKEND or set it to 'tensorflow'.")

import tensorflow as tf  # noqa: E402

# errors that a backend raises when a numerical routine fails on its input (e.g. a Cholesky
# factorisation of a matrix that is not positive definite)
NUMERICAL_ERRORS: tuple[type[Exception], ...] = (tf.errors.InvalidArgumentError,)


def replica_gradients(tape, loss, variables):
    """Gradients of one replica's mean ``loss`` under ``tf.distribute``: Keras sums the replicas' gradients,
    so each is divided by the number of replicas, as Keras' built-in losses are (one device: unchanged)."""
    grads = tape.gradient(loss, variables)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return grads if replicas == 1 else [None if g is None else g / replicas for g in grads]


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
    with tf.GradientTape() as tape:
        out = loss_fn()
    loss = out[0] if isinstance(out, tuple) else out["loss"] if isinstance(out, dict) else out
    optimizer.apply_gradients(zip(replica_gradients(tape, loss, variables), variables))
    return out


def value_and_gradients(fn: Callable, tensors: Sequence):
    """``fn(*tensors)`` and the gradients of its sum with respect to ``tensors`` (inputs, not weights).

    Parameters
    ----------
    fn : callable
        Computes a tensor from ``tensors``, its arguments; a non-scalar value is summed, so that every
        sample of a batch gets the gradient of its own term.
    tensors : sequence of tensors
        What to differentiate with respect to.

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


def compiled(fn: Callable, **options) -> Callable:
    """``fn`` compiled into one graph (``tf.function``; ``options`` such as ``jit_compile`` are passed on),
    retraced for new shapes as rarely as possible."""
    return tf.function(fn, reduce_retracing=True, **options)


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


def set_op_determinism() -> None:
    """Ask the backend for deterministic kernels (same inputs, same results), at some cost in speed."""
    tf.config.experimental.enable_op_determinism()
