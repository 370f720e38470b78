"""Choose chapter 10's training budget on CIFAR-10 *training* images only.

For each class run in the chapter, the class's training images are split 80/20: the detector trains
on the 80%, and is scored on the held-out 20% (normal) against 2,000 training images of the other
classes (anomalous), with the chapter's preprocessing (global contrast normalisation, min-max from
the training part). Each detector, with its defaults, is evaluated after every ``--chunk`` steps up
to ``--max-steps`` (training continues between evaluations). Prints AUROC, seconds and whether the
collapse guard fired; no test image is used.

    python benchmarks/cifar_budget.py --classes 0 2 4 6 8 --chunk 250 --max-steps 750
    python benchmarks/cifar_budget.py --classes 2 6 --detectors OCGAN --max-steps 500 --set learning_rate=1e-3
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import adlib
from adlib import datasets, metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[0, 2, 4, 6, 8])
    parser.add_argument("--detectors", nargs="+", default=["AE", "DeepSVDD", "OCGAN"])
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument("--max-steps", type=int, default=750)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="detector settings other than the defaults, e.g. learning_rate=1e-3 (numbers only)")
    args = parser.parse_args()
    settings = {key: float(value) if "." in value or "e" in value else int(value)
                for key, value in (item.split("=", 1) for item in args.set)}
    (x_all, y_all), _ = datasets.load_cifar10(verbose=0)
    rng = np.random.default_rng(args.seed)
    print(f"settings {settings or 'defaults'}\nclass detector steps auroc train_s collapse", flush=True)
    for cls in args.classes:
        own = x_all[y_all == cls][rng.permutation(int((y_all == cls).sum()))]
        n_fit = int(0.8 * len(own))
        others = x_all[y_all != cls]
        others = others[rng.permutation(len(others))[:2_000]]
        x_fit, x_eval = datasets.contrast_normalize(own[:n_fit], np.concatenate([own[n_fit:], others]))
        y_eval = np.r_[np.zeros(len(own) - n_fit), np.ones(len(others))]
        for name in args.detectors:
            adlib.seed_everything(args.seed)
            detector = getattr(adlib, name)(seed=args.seed, **settings)
            trained, seconds = 0, 0.0
            while trained < args.max_steps:
                start = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", adlib.CollapseWarning)
                    detector.fit(x_fit, steps=args.chunk, verbose=0)
                seconds += time.perf_counter() - start
                trained += args.chunk
                collapsed = any(issubclass(w.category, adlib.CollapseWarning) for w in caught)
                auroc = metrics.evaluate(y_eval, detector.score(x_eval))["auroc"]
                print(f"{cls} {name} {trained} {auroc:.3f} {seconds:.0f} {int(collapsed)}", flush=True)


if __name__ == "__main__":
    main()
