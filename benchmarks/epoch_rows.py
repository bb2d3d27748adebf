"""Nanoseconds per row of one dense binary epoch, by shuffle block, dtype and threads.

Calls the epoch kernel directly (no estimator around it) on standard-normal rows, as D1's:
``python benchmarks/epoch_rows.py [--rows 800000] [--features 100] [--blocks 1 8 16 32]``.
Rows of the order are visited in shuffled blocks of that many consecutive rows (``n`` for
rows in storage order), by runs of ``--run-blocks`` blocks, 16 runs side by side
(``BLOCKS_PER_BATCH``), as fits of dense data visit them (``--run-blocks 1``: the blocks
themselves shuffled); the first epoch is a warm-up, the median of the others is printed.
A last line gives, for the same orders, a plain read of the rows with the kernel's
prefetching (``PREFETCH_AHEAD`` rows ahead, into L2) on one thread: the memory floor of
that visiting order, which the one-chunk kernel can at best reach.
"""

import argparse
import time

import numpy as np
from numba import njit

from sgdlogit import _classifier as classifier
from sgdlogit import _kernels as kernels
from sgdlogit import _training as training


@njit(nogil=True, fastmath={"reassoc"})
def _read_in_order(X, order):
    """Sum of the rows of ``X`` visited in ``order``, prefetched as the epoch kernel does."""
    total = 0.0
    n_order = order.shape[0]
    for r in range(n_order):
        if r + kernels.PREFETCH_AHEAD < n_order:
            kernels._prefetch_span(X[order[r + kernels.PREFETCH_AHEAD]], 0, X.shape[1])
        x = X[order[r]]
        for j in range(x.shape[0]):
            total += x[j]
    return total


def _median_ns_per_row(n_rows, block, n_epochs, rng, visit, run_blocks):
    """Median time per row of ``visit(order)`` over ``n_epochs`` orders after a warm-up, in ns.

    Each order visits the ``n_rows`` rows in shuffled blocks of ``block`` rows, by runs of
    ``run_blocks`` blocks, 16 side by side.
    """
    rows = np.arange(n_rows)
    times = []
    for _ in range(n_epochs + 1):
        order = training.epoch_order(
            rows, rng, block, run_blocks=run_blocks, n_streams=classifier.BLOCKS_PER_BATCH
        )
        start = time.perf_counter()
        visit(order)
        times.append(time.perf_counter() - start)
    return np.median(times[1:]) / n_rows * 1e9


def read_ns_per_row(X, block, n_epochs, rng, run_blocks):
    """Median time per row of reading ``X`` in the order of the epochs, in ns."""
    return _median_ns_per_row(
        X.shape[0], block, n_epochs, rng, lambda order: _read_in_order(X, order), run_blocks
    )


def ns_per_row(X, y, block, n_chunks, batch_size, n_epochs, rng, run_blocks):
    """Median time per row of ``n_epochs`` epochs after a warm-up, in nanoseconds."""
    n_rows, n_features = X.shape
    state = training.TrainingState.zeros(
        1, n_features, X.dtype, l1=False, adaptive=False, average=False
    )
    hyper = training.make_hyper(
        alpha=1e-5, penalty="l2", l1_ratio=0.15, momentum=0.0, solver="sgd",
        fit_intercept=True, intercept_scale=1.0,
    )  # fmt: skip
    run = training.make_epoch_runner(
        X, y, np.ones(n_rows, X.dtype), state, hyper, batch_size, n_chunks
    )
    steps = np.full(-(-n_rows // batch_size), 1e-3)
    no_averaging = np.iinfo(np.int64).max
    return _median_ns_per_row(
        n_rows, block, n_epochs, rng, lambda order: run(order, steps, no_averaging), run_blocks
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=800_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--blocks", type=int, nargs="+", default=[1, 8, 16, 32])
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--run-blocks", type=int, default=classifier.RUN_BLOCKS)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    runs = args.run_blocks
    X64 = rng.standard_normal((args.rows, args.features))
    y = (X64 @ rng.standard_normal(args.features) > 0).astype(np.int32)
    for dtype in (np.float64, np.float32):
        X = X64.astype(dtype, copy=False)
        for n_chunks in (1, 2):
            cells = [
                f"block {block}: "
                f"{ns_per_row(X, y, block, n_chunks, args.batch_size, args.epochs, rng, runs):.1f}"
                for block in args.blocks
            ]
            print(f"{np.dtype(dtype).name}, {n_chunks} chunk(s), ns/row:", ", ".join(cells))
        reads = [
            f"block {block}: {read_ns_per_row(X, block, args.epochs, rng, runs):.1f}"
            for block in args.blocks
        ]
        print(f"{np.dtype(dtype).name}, plain read, 1 thread, ns/row:", ", ".join(reads))


if __name__ == "__main__":
    main()
