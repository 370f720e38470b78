"""Benchmark (not a test): AEGMM scoring 5 million KDD-like rows streamed in batches from a generator.

Rows are normal KDD Cup 99 traffic (the 18 continuous features of Alibi Detect's protocol,
standardised), drawn with replacement and jittered, produced chunk by chunk so that the input
never sits in memory as a whole. Prints rows per second and the peak resident memory, for a few
scoring batch sizes. Run: ``ADLIB_DATA=../shared/data .venv/bin/python benchmarks/score_stream.py``.
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import adlib
from adlib import datasets


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def kdd_like_rows(pool: np.ndarray, n: int, chunk: int, seed: int = 0):
    """``n`` rows in chunks of ``chunk``: rows of ``pool`` drawn with replacement plus 1% noise."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        rows = pool[rng.integers(0, len(pool), size=min(chunk, n - start))]
        yield (rows + 0.01 * rng.standard_normal(rows.shape)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--chunk", type=int, default=250_000, help="rows the generator yields at a time")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 8_192, 65_536])
    args = parser.parse_args()

    alibi = datasets.standardize(datasets.kdd_alibi(datasets.load_kddcup99(), seed=0))
    adlib.seed_everything(0)
    detector = adlib.AEGMM(latent_dim=1, n_gmm=2, hidden=(60, 30, 10), distance="relative_min", seed=0)
    detector.fit(alibi.x_train, epochs=2, batch_size=1024, verbose=0)
    print(f"AEGMM fitted on {len(alibi.x_train):,} normal rows; peak memory so far {peak_rss_mb():.0f} MB")
    for batch_size in args.batch_sizes:
        start = time.perf_counter()
        scores = detector.score(kdd_like_rows(alibi.x_train, args.rows, args.chunk), batch_size=batch_size, verbose=0)
        seconds, n = time.perf_counter() - start, len(scores)
        print(f"batch_size {batch_size:>6}: {n:,} rows in {seconds:.1f} s = {n / seconds:,.0f} rows/s; "
              f"peak resident memory {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
