"""The training engine on JAX: each step is a pure function of the variables' values, compiled with
``jax.jit``; gradients come from ``jax.value_and_grad`` and the optimisers update the values inside a
``keras.StatelessScope``, as Keras' own ``stateless_apply`` does. See :mod:`adlib.detectors._engine` for
what each function does.

The models write their steps statefully (``engine.descend`` applies an update; a metric's
``update_state`` changes the metric), as keras.io's TensorFlow and PyTorch guides write them. JAX
compiles pure functions, so :class:`StepFunctions` runs such a step inside a ``StatelessScope`` that
maps every variable the step may read or write (the model's weights, every optimiser's slots, the loss
trackers, the seed generators) to its current value, and collects the values the step assigned: the
step becomes ``(values, batch) -> (logs, new values)``, which ``jax.jit`` compiles once. :func:`descend`
differentiates ``loss_fn`` by mapping the variables it updates to the values ``jax.value_and_grad`` traces,
in a scope nested in the step's.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import jax
import keras
import numpy as np
from keras import ops
from keras.src.backend.common.stateless_scope import StatelessScope, get_stateless_scope, in_stateless_scope

from .common import build_recorded_optimizers, loss_of, numpy_batches

# JAX's linear algebra does not raise on a matrix that is not positive definite inside a compiled step:
# it returns NaN, which TerminateOnNaN and the callers' finiteness checks turn into a NumericalError
NUMERICAL_ERRORS: tuple[type[Exception], ...] = (np.linalg.LinAlgError,)


class _Scope(StatelessScope):
    """A ``StatelessScope`` that starts from the values of the scope it is nested in (an inner scope
    otherwise reads the variables it does not map from their stored values, stale under ``jax.jit``)
    and records which variables the code inside it assigned."""

    def __init__(self, mapping: Sequence = ()):
        super().__init__(list(mapping))
        outer = get_stateless_scope() if in_stateless_scope() else None
        self.state_mapping = {**(outer.state_mapping if outer is not None else {}), **self.state_mapping}
        self.assigned: dict[int, keras.Variable] = {}

    def add_update(self, update):
        super().add_update(update)
        self.assigned[id(update[0])] = update[0]

    def updates(self, skip: Sequence = ()) -> list:
        """``(variable, new value)`` for every variable assigned in the scope, except those in ``skip``."""
        skipped = {id(v) for v in skip}
        return [(v, self.state_mapping[key]) for key, v in self.assigned.items() if key not in skipped]


_RECORDING: list | None = None  # while StepFunctions traces a step to build the optimisers: (optimiser, variables)


def descend(optimizer: keras.optimizers.Optimizer, variables: Sequence, loss_fn: Callable):
    """As on the other backends, except that a variable the loss does not reach gets a zero gradient
    (JAX's gradients are dense), not none, which the optimiser still applies: Adam's momentum from
    earlier steps and weight decay move it. (Every model here reaches the same variables at every step.)"""
    variables = list(variables)
    if _RECORDING is not None:  # a trace that only finds which optimiser updates which variables
        _RECORDING.append((optimizer, variables))
        return loss_fn()
    found: dict = {}  # what JAX cannot carry out of a differentiated function, found while it traces

    def loss_and_updates(values):
        with _Scope(zip(variables, values)) as scope:
            out = loss_fn()
        # what the forward pass assigned (BatchNorm statistics, a seed generator's state, a weight that
        # a layer normalises in place) leaves the differentiated function as data, and is assigned in
        # the enclosing scope below, before the update, as the other backends see it
        updates = scope.updates()
        found["assigned"] = [variable for variable, _ in updates]
        # the tensors of what loss_fn returned leave as data too; anything else (a name) is kept aside
        leaves, found["structure"] = jax.tree_util.tree_flatten(out)
        found["keys"] = list(out) if isinstance(out, dict) else None
        found["kept"] = [None if _is_array(leaf) else leaf for leaf in leaves]
        return loss_of(out), ([leaf for leaf in leaves if _is_array(leaf)], [value for _, value in updates])

    (_, (arrays, new_values)), grads = jax.value_and_grad(loss_and_updates, has_aux=True)(
        [variable.value for variable in variables])
    for variable, value in zip(found["assigned"], new_values):
        variable.assign(value)
    optimizer.apply(grads, variables)
    arrays = iter(arrays)
    out = jax.tree_util.tree_unflatten(found["structure"],
                                       [next(arrays) if leaf is None else leaf for leaf in found["kept"]])
    # JAX rebuilds a dict in sorted key order; the loss terms keep the order the model wrote them in
    return {key: out[key] for key in found["keys"]} if found["keys"] else out


def _is_array(value) -> bool:
    return isinstance(value, (jax.Array, np.ndarray, np.generic, float, int)) and not isinstance(value, bool)


def value_and_gradients(fn: Callable, tensors: Sequence, differentiable: bool = False):
    tensors = [ops.convert_to_tensor(t) for t in tensors]
    value, vjp = jax.vjp(lambda *args: fn(*args), *tensors)
    grads = vjp(jax.numpy.ones_like(value))
    if not differentiable:
        value, grads = jax.lax.stop_gradient(value), [jax.lax.stop_gradient(g) for g in grads]
    return value, list(grads)


def compiled(fn: Callable, variables: Callable[[], Sequence] | None = None, **options) -> Callable:
    """``fn`` compiled with ``jax.jit`` as a function of the values of ``variables()`` (the weights it
    reads), passed at every call, so that it always sees their current values, and its loops as
    ``jax.lax.while_loop`` (ADGAN's search). Without ``variables``, ``fn`` as it is: compiled, a
    function that reads weights would keep the values it was traced with, so it runs op by op, its
    loops as Python loops (AnoGAN's search; slower than TensorFlow's compiled one). ``options``
    (TensorFlow's ``jit_compile``) are not needed: JAX always compiles with XLA."""
    return fn if variables is None else _reading(fn, variables)


def inference(fn: Callable, variables: Callable[[], Sequence] | None = None) -> Callable:
    """``fn`` compiled with ``jax.jit`` as a function of the values of ``variables()`` (the variables it
    reads, e.g. a model's), passed at every call, so that it always sees their current values; without
    ``variables``, ``fn`` as it is (eager JAX records no gradients). What ``fn`` assigns (a seed
    generator's state) is assigned after the call."""
    return fn if variables is None else _reading(fn, variables)


def _reading(fn: Callable, variables: Callable[[], Sequence]) -> Callable:
    """``fn`` compiled as a function of the values of the variables it reads (see :func:`inference`)."""
    assigned: list = []

    def pure(values, *args):
        with _Scope(zip(variables(), values)) as scope:
            out = fn(*args)
        updates = scope.updates()
        assigned[:] = [variable for variable, _ in updates]
        return out, [value for _, value in updates]

    jitted = jax.jit(pure)

    def run(*args):
        out, new_values = jitted([v.value for v in variables()], *args)
        for variable, value in zip(assigned, new_values):
            variable.assign(value)
        return out
    return run


def constant(value):
    return jax.numpy.asarray(value)


def _traced(*values) -> bool:
    return any(isinstance(v, jax.core.Tracer) for v in jax.tree_util.tree_leaves(values))


def while_loop(cond: Callable, body: Callable, state: tuple) -> tuple:
    """A Python loop on concrete values; ``jax.lax.while_loop`` inside a compiled step."""
    state = tuple(state)
    if _traced(state):
        return jax.lax.while_loop(lambda s: cond(*s), lambda s: tuple(body(*s)), state)
    while bool(cond(*state)):
        state = tuple(body(*state))
    return state


def cond(predicate, true_fn: Callable, false_fn: Callable):
    """A Python branch on a concrete predicate; ``jax.lax.cond`` inside a compiled step."""
    if _traced(predicate):
        return jax.lax.cond(predicate, true_fn, false_fn)
    return true_fn() if bool(predicate) else false_fn()


def repeated_batches(x: np.ndarray, batch_size: int, shuffle: bool, seed: int | None):
    return numpy_batches(x, batch_size, shuffle, seed)


def no_gradients():
    """Nothing to switch off: JAX computes gradients only when asked (``jax.grad``)."""
    return contextlib.nullcontext()


def set_op_determinism() -> None:
    """Nothing to ask: XLA's CPU kernels are deterministic."""


class StepFunctions:
    """Mixin for ``keras.Model`` subclasses with a stateful ``train_step(data)`` and ``test_step(data)``
    (the form keras.io's TensorFlow and PyTorch guides use): under JAX, ``fit`` and ``evaluate`` run them as
    pure compiled functions of every variable's value (see the module docstring).

    Before the first training step, one abstract trace of it finds which optimiser updates which
    variables, so that every optimiser creates its slots before the step is compiled.
    """

    def _optimizers(self) -> list:
        """The optimisers of the model other than ``self.optimizer`` (adversarial models keep one per side):
        its attributes, and any other that a step was seen to use."""
        seen, found = {id(self.optimizer)}, []
        for value in [*vars(self).values(), *getattr(self, "_recorded_optimizers", [])]:
            if isinstance(value, keras.optimizers.Optimizer) and id(value) not in seen:
                seen.add(id(value))
                found.append(value)
        return found

    def _state_lists(self, with_optimizer: bool) -> list[list]:
        """The variables of the state ``fit`` (with the optimiser) or ``evaluate`` (without) hands the step."""
        lists = [self.trainable_variables, self.non_trainable_variables]
        if with_optimizer:
            lists.append(self.optimizer.variables)
        return [*lists, self.metrics_variables]

    def _pure(self, step: Callable, with_optimizer: bool) -> Callable:
        """``step(data)`` as ``(state, extra values, data) -> (logs, new state, new extra values)``."""
        def pure(state, extra_values, data):
            lists = self._state_lists(with_optimizer)
            extra = self._extra_variables()
            mapping = [pair for variables, values in zip(lists, state) for pair in zip(variables, values)]
            with _Scope([*mapping, *zip(extra, extra_values)]) as scope:
                logs = step(data)
            current = scope.get_current_value
            new_state = tuple([current(v) for v in variables] for variables in lists)
            return logs, new_state, [current(v) for v in extra]
        return pure

    def _extra_variables(self) -> list:
        return [v for optimizer in self._optimizers() for v in optimizer.variables]

    def _build_optimizers(self, pure: Callable, state, data) -> None:
        """Trace one step abstractly (``jax.eval_shape``: nothing runs, nothing changes) to learn which
        optimiser updates which variables, and build every optimiser that is not built yet for them,
        so that the compiled step maps their slots too (a Keras optimiser creates its slots on its
        first update, which a compiled function cannot do)."""
        global _RECORDING
        _RECORDING = []
        try:
            # a function of its own: JAX caches traces per function, and the compiled step must not reuse this one
            jax.eval_shape(lambda *args: pure(*args), state, [v.value for v in self._extra_variables()], data)
            pairs = _RECORDING
        finally:
            _RECORDING = None
        object.__setattr__(self, "_recorded_optimizers", build_recorded_optimizers(pairs))  # not tracked by Keras

    def _step_function(self, step: Callable, with_optimizer: bool) -> Callable:
        pure = self._pure(step, with_optimizer)
        compiled_step = jax.jit(pure, donate_argnums=0)  # the state is replaced, as Keras' own step does
        built = not with_optimizer

        def function(state, iterator):
            nonlocal built
            data = jax.tree_util.tree_map(jax.numpy.asarray, next(iterator))  # NumPy batches become arrays
            if not built:
                self._build_optimizers(pure, state, data)
                built = True
            extra = self._extra_variables()
            logs, state, extra_values = compiled_step(state, [v.value for v in extra], data)
            for variable, value in zip(extra, extra_values):
                variable.assign(value)
            return logs, state
        return function

    def make_train_function(self, force: bool = False):
        if self.train_function is not None and not force:
            return self.train_function
        self.train_function = self._step_function(self.train_step, with_optimizer=True)
        return self.train_function

    def make_test_function(self, force: bool = False):
        if self.test_function is not None and not force:
            return self.test_function
        self.test_function = self._step_function(self.test_step, with_optimizer=False)
        return self.test_function
