"""Training under TensorFlow's own data parallelism: ``fit`` inside ``MirroredStrategy.scope()`` on two
logical CPU devices reaches the scores of a one-device run (the custom ``train_step``s divide each
replica's loss by the number of replicas, as Keras' built-in losses do)."""
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


@pytest.mark.parametrize("name", ["AE", "VAE"])
def test_two_replicas_reach_the_scores_of_one(name):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""), "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", SCRIPT, name], cwd=root, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["replicas"] == [1, 2]
    assert min(report["auroc"]) > 0.9, report
    assert report["rho"] >= 0.95, report
