"""The training engine: everything in adlib that depends on which Keras backend runs it.

Each model states its losses as functions written in ``keras.ops`` (its chapter's equations) and says
which optimiser follows which loss over which networks::

    d_loss = engine.descend(self.d_optimizer, self.discriminator.trainable_variables,
                            lambda: self.discriminator_loss(x, x_hat, training=True))

The engine computes the gradients and applies them. The other backend-specific pieces live here
too: gradients with respect to inputs rather than weights (OCGAN's mining, f-AnoGAN's gradient
penalty, AnoGAN's and ADGAN's latent searches), compiled functions and loops, and the pipeline
that feeds a budget of steps to ``keras.Model.fit``.

One module per backend implements the same functions:

- :mod:`~adlib.detectors._engine.tensorflow`: ``tf.GradientTape``, gradients divided by the number
  of replicas under ``tf.distribute`` (``MirroredStrategy``), ``tf.function`` graphs, ``tf.data``.
- :mod:`~adlib.detectors._engine.torch`: ``torch.autograd.grad`` of each loss with respect to the
  variables it updates, then ``optimizer.apply``; eager loops; a NumPy batch stream.
- :mod:`~adlib.detectors._engine.jax`: ``jax.value_and_grad`` of each loss with respect to the values
  of the variables it updates, then ``optimizer.apply``, all inside a ``keras.StatelessScope`` that
  :class:`StepFunctions` opens so that each training step compiles (``jax.jit``) as a pure function
  of every variable's value; a NumPy batch stream.

The functions:

``descend(optimizer, variables, loss_fn)``
    One step of ``optimizer`` on ``variables`` down the gradient of ``loss_fn()``. ``loss_fn``
    returns a scalar, a tuple whose first item is the scalar to minimise (the other items, loss
    terms or intermediate tensors, are handed back), or a dict whose ``"loss"`` is minimised.
    Returns what ``loss_fn`` returned.
``value_and_gradients(fn, tensors, differentiable=False)``
    ``fn(*tensors)`` and the gradients of its sum with respect to ``tensors`` (inputs, not
    weights); ``differentiable=True`` when that gradient is itself differentiated later (a gradient
    penalty).
``compiled(fn, variables=None, **options)``
    ``fn`` compiled where the backend compiles (TensorFlow: ``tf.function``; JAX: ``jax.jit``, when
    ``variables()`` lists the weights ``fn`` reads, which are then passed in at every call); usable as a
    decorator.
``inference(fn, variables=None)``
    ``fn`` for inference, recording no gradients: compiled on TensorFlow, eager under ``torch.no_grad``
    on PyTorch, and on JAX compiled as a function of the values of ``variables()`` (the variables ``fn``
    reads) when given (one-pass scoring; the latent searches use ``compiled`` and ``value_and_gradients``).
``constant(value)``, ``while_loop(cond, body, state)``, ``cond(predicate, true_fn, false_fn)``
    A tensor, a loop and a branch that also work inside compiled functions.
``StepFunctions``
    The mixin through which Keras runs every model's stateful ``train_step``/``test_step`` (on JAX it
    compiles them as pure functions; on TensorFlow it builds the step's optimisers before its first
    compiled call, so that the step is traced once; on PyTorch it adds nothing).
``repeated_batches(x, batch_size, shuffle, seed)``
    An endless stream of full batches of ``x``, reshuffled every pass, for a budget of steps (passes
    follow each other in one stream, so a batch may span two).
``no_gradients()``
    A context in which nothing records a graph: scoring, and the statistics computed after training.
``set_op_determinism()``
    Ask the backend for deterministic kernels.
``inputs(data)``
    The input batch of what ``fit`` hands a step (shared by every backend).
``NUMERICAL_ERRORS``
    The exceptions a backend raises when a numerical routine fails (a Cholesky factorisation of a
    matrix that is not positive definite).
"""
from __future__ import annotations

import keras

from .common import inputs

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    from . import tensorflow as _backend
elif BACKEND == "torch":
    from . import torch as _backend
elif BACKEND == "jax":
    from . import jax as _backend
else:  # pragma: no cover - depends on KERAS_BACKEND
    raise ImportError(f"adlib's training engine runs on the TensorFlow, JAX and PyTorch backends; KERAS_BACKEND is "
                      f"{BACKEND!r}. Set KERAS_BACKEND to 'tensorflow' (the default), 'jax' or 'torch'.")

NUMERICAL_ERRORS = _backend.NUMERICAL_ERRORS
descend, value_and_gradients = _backend.descend, _backend.value_and_gradients
compiled, inference, constant = _backend.compiled, _backend.inference, _backend.constant
while_loop, cond = _backend.while_loop, _backend.cond
repeated_batches, set_op_determinism = _backend.repeated_batches, _backend.set_op_determinism
no_gradients = _backend.no_gradients
StepFunctions = _backend.StepFunctions

__all__ = ["BACKEND", "NUMERICAL_ERRORS", "StepFunctions", "compiled", "cond", "constant", "descend", "inference",
           "inputs", "no_gradients", "repeated_batches", "set_op_determinism", "value_and_gradients", "while_loop"]
