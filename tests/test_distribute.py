"""Training under each backend's data parallelism reaches the scores of a one-device run. TensorFlow:
``fit`` inside ``MirroredStrategy.scope()`` on two logical CPU devices (the custom ``train_step``s
divide each replica's loss by the number of replicas, as Keras' built-in losses do). JAX: Keras'
``DataParallel`` distribution on two CPU devices."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from scipy import stats
    import adlib
    from adlib import metrics
    from tests.conftest import manifold

    x_train, x_test, y_test = manifold()
    name = sys.argv[1]

    def run(strategy):
        adlib.seed_everything(0)
        with strategy.scope():
            detector = getattr(adlib, name)(seed=0).fit(x_train, epochs=15, batch_size=64, verbose=0)
        return detector.score(x_test), strategy.num_replicas_in_sync

    one, n1 = run(tf.distribute.OneDeviceStrategy("/cpu:0"))
    two, n2 = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    print(json.dumps({"replicas": [n1, n2], "rho": float(stats.spearmanr(one, two).statistic),
                      "auroc": [metrics.evaluate(y_test, s)["auroc"] for s in (one, two)]}))
""")


def _run(script: str, name: str, **env) -> dict:
    """Run ``script`` for detector ``name`` in a fresh process (the device setup must come before the
    backend starts) with these environment variables, and return the JSON report it prints last."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""), **env}
    out = subprocess.run([sys.executable, "-c", script, name], cwd=root, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


# VAE adds what AE does not have: a loss that draws its own noise in every replica. It trains 15 epochs
# twice (30 s), so CI runs AE only and `make unit-all` (ADLIB_ALL_TESTS) both.
@pytest.mark.parametrize("name", ["AE", pytest.param("VAE", marks=pytest.mark.skipif(
    not os.environ.get("ADLIB_ALL_TESTS"), reason="AE stands for it in CI; `make unit-all` runs it"))])
def test_two_replicas_reach_the_scores_of_one(name):
    report = _run(SCRIPT, name, CUDA_VISIBLE_DEVICES="")
    assert report["replicas"] == [1, 2]
    assert min(report["auroc"]) > 0.9, report
    assert report["rho"] >= 0.95, report


JAX_SCRIPT = textwrap.dedent("""
    import json, sys
    import jax
    import keras
    from scipy import stats
    import adlib
    from adlib import metrics
    from tests.conftest import manifold

    x_train, x_test, y_test = manifold()
    name = sys.argv[1]

    def run(devices):
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        adlib.seed_everything(0)
        detector = getattr(adlib, name)(seed=0).fit(x_train, epochs=15, batch_size=64, verbose=0)
        weight = detector.model_.trainable_variables[0].value
        return detector.score(x_test), len(weight.sharding.device_set)

    one, n1 = run(jax.devices()[:1])
    two, n2 = run(jax.devices()[:2])
    print(json.dumps({"devices": [n1, n2], "rho": float(stats.spearmanr(one, two).statistic),
                      "auroc": [metrics.evaluate(y_test, s)["auroc"] for s in (one, two)]}))
""")


@pytest.mark.parametrize("name", ["AE"])  # the mechanism is the same for every model; one keeps CI short
def test_data_parallel_on_two_jax_devices_reaches_the_scores_of_one(name):
    """Under JAX, Keras' ``DataParallel`` distribution (weights replicated, each batch split across the
    devices, here two CPU devices that XLA is asked for) trains the custom steps as they are."""
    pytest.importorskip("jax")
    report = _run(JAX_SCRIPT, name, KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2",
                  JAX_PLATFORMS="cpu")
    assert report["devices"] == [1, 2]
    assert min(report["auroc"]) > 0.9, report
    assert report["rho"] >= 0.95, report
