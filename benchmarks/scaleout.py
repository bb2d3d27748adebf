"""Scale-out: parallel GridSearchCV on threads, and sgdlogit.dask.fit on 1 and 2 workers.

    python benchmarks/scaleout.py [--quick] [--out DIR] [--reps N]

1. ``GridSearchCV`` over 24 candidates (4 ``alpha`` x 6 ``batch_size``, 3-fold) on a
   200,000 x 20 set, under joblib's threading backend with ``n_jobs=1`` and ``n_jobs=2``
   (and the default process backend, loky, with ``n_jobs=2`` for comparison). The kernels
   release the GIL, so two threads run two fits at once. Every fit runs 5 epochs
   (``tol=None``) so that all settings do the same work. The threading backend is timed
   with the default BLAS threads and with BLAS limited to one thread (threadpoolctl): BLAS
   threads of two concurrent fits (scoring, step estimate) compete for the same cores.
2. :func:`sgdlogit.dask.fit` on a 1,000,000 x 100 set generated on the workers of a
   ``distributed.LocalCluster`` (processes, one thread each), with 1 and with 2 workers,
   against ``SGDLogitClassifier.fit`` in one process. Reported: wall time, rounds, and
   the exact objective of each model relative to the single-process fit.

Medians of ``--reps`` runs (default 3 for the grid search, 1 for the Dask fits), after a
warm-up fit so that compiling or loading the kernels is not timed. Results are printed and
written to ``DIR/scaleout.md`` (default ``benchmarks/results``, nothing with ``--quick``
unless ``--out`` is given). ``--quick`` shrinks every
size for CI: it checks that the script runs, its timings mean nothing.
"""

import argparse
import contextlib
import io
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from joblib import parallel_backend
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from sgdlogit import SGDLogitClassifier, __version__

HERE = Path(__file__).parent
ALPHAS = [1e-5, 1e-4, 1e-3, 1e-2]
BATCH_SIZES = [16, 32, 64, 128, 256, 512]
ROUND_ELAPSED = re.compile(r"^Round \d+, .*elapsed: ([0-9.]+) s$", re.MULTILINE)


def median_time(function, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def grid_search(n_samples, n_features, reps, max_iter):
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=10, random_state=0
    )
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    estimator = SGDLogitClassifier(random_state=0, max_iter=max_iter, tol=None)
    estimator.fit(X[:1000], y[:1000])  # warm-up: load the kernels
    grid = {"alpha": ALPHAS, "batch_size": BATCH_SIZES}
    n_candidates = len(ALPHAS) * len(BATCH_SIZES)

    def run(backend, n_jobs, blas_threads):
        def search():
            with threadpool_limits(limits=blas_threads), parallel_backend(backend, n_jobs=n_jobs):
                GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs).fit(X, y)

        return search

    # (label, backend, n_jobs, BLAS threads, row whose time the speed-up divides)
    settings = [
        ("threading, n_jobs=1", "threading", 1, None, 0),
        ("threading, n_jobs=2", "threading", 2, None, 0),
        ("threading, n_jobs=1, BLAS 1 thread", "threading", 1, 1, 2),
        ("threading, n_jobs=2, BLAS 1 thread", "threading", 2, 1, 2),
        # loky limits BLAS to cores // n_jobs threads in each worker process by itself
        ("loky (processes), n_jobs=2", "loky", 2, None, 2),
    ]
    times = [median_time(run(*setting[1:4]), reps) for setting in settings]
    rows = [
        (label, elapsed, times[baseline] / elapsed)
        for (label, *_, baseline), elapsed in zip(settings, times, strict=True)
    ]
    return n_candidates, rows


def dask_fits(n_samples, n_features, chunk, max_rounds):
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    import sgdlogit.dask
    from sgdlogit._objective import mean_log_loss, penalty_value

    rng = da.random.default_rng(0)
    X = rng.standard_normal((n_samples, n_features), chunks=(chunk, n_features))
    teacher = np.random.default_rng(1).normal(size=n_features) / np.sqrt(n_features) * 3
    noise = rng.random(n_samples, chunks=chunk)
    y = (noise < 1 / (1 + da.exp(-(X @ teacher)))).astype(np.int64)
    estimator = SGDLogitClassifier(random_state=0)

    def objective(model, X, y):
        decision = (X @ model.coef_.ravel() + model.intercept_[0]).compute()
        loss = mean_log_loss(decision, np.asarray(y))
        return loss + penalty_value(model.coef_, model.penalty, model.alpha, 0.0)

    results = {}
    for n_workers in (1, 2):
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
        with cluster, Client(cluster) as client:
            X_cluster, y_cluster = client.persist([X, y])  # generated on the workers
            wait([X_cluster, y_cluster])
            client.run(_warm_up)
            output = io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(output):  # verbose: one line per round
                model = sgdlogit.dask.fit(
                    estimator.set_params(verbose=1),
                    X_cluster,
                    y_cluster,
                    max_rounds=max_rounds,
                    client=client,
                )
            elapsed = time.perf_counter() - start
            # the rounds' "elapsed" counts from the end of building the shards
            rounds_time = float(ROUND_ELAPSED.findall(output.getvalue())[-1])
            y_local = y_cluster.compute()
            value = objective(model, X_cluster, y_local)
            results[n_workers] = (elapsed, model.n_iter_, value, elapsed - rounds_time)
            if n_workers == 2:
                X_local = X_cluster.compute()
    _warm_up()
    start = time.perf_counter()
    single = SGDLogitClassifier(random_state=0).fit(X_local, y_local)
    elapsed = time.perf_counter() - start
    results["single"] = (
        elapsed,
        single.n_iter_,
        objective(single, da.from_array(X_local), y_local),
        0.0,
    )
    return results


def _warm_up():
    SGDLogitClassifier(max_iter=1, tol=None).fit(np.ones((4, 2)), [0, 1, 0, 1])


def machine_line():
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at start; "
        f"Python {platform.python_version()}, sgdlogit {__version__}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    parser.add_argument(
        "--out", default=None, help="output folder (default benchmarks/results; none in --quick)"
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions per grid search")
    args = parser.parse_args(argv)
    if args.quick:
        grid_size, dask_size, reps, max_iter, max_rounds = (3000, 20), (20_000, 10, 5000), 1, 2, 3
    else:
        grid_size, dask_size, reps, max_iter, max_rounds = (
            (200_000, 20),
            (1_000_000, 100, 125_000),
            3,
            5,
            None,
        )
    reps = args.reps or reps
    header = machine_line()
    print(header, flush=True)

    n_candidates, grid_rows = grid_search(*grid_size, reps=reps, max_iter=max_iter)
    lines = [
        "# Scale-out benchmarks",
        "",
        f"`python benchmarks/scaleout.py{' --quick' if args.quick else ''}` on {header}.",
        "",
        f"## GridSearchCV: {n_candidates} candidates x 3 folds, {grid_size[0]:,} x "
        f"{grid_size[1]}, {max_iter} epochs per fit (median of {reps})",
        "",
        "| backend | time (s) | speed-up vs n_jobs=1 (same BLAS threads) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {t:.2f} | {ratio:.2f}x |" for label, t, ratio in grid_rows]
    print("\n".join(lines[4:]), flush=True)

    results = dask_fits(*dask_size, max_rounds=max_rounds)
    one, two, single = results[1], results[2], results["single"]
    dask_lines = [
        "",
        f"## sgdlogit.dask.fit: {dask_size[0]:,} x {dask_size[1]}, blocks of "
        f"{dask_size[2]:,} rows, LocalCluster (processes, 1 thread per worker)",
        "",
        "| run | wall time (s) | of which before the rounds (s) | rounds / epochs | "
        "objective | vs single process |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, (elapsed, rounds, value, before) in [
        ("SGDLogitClassifier.fit, one process", single),
        ("sgdlogit.dask.fit, 1 worker", one),
        ("sgdlogit.dask.fit, 2 workers", two),
    ]:
        dask_lines.append(
            f"| {label} | {elapsed:.2f} | {before:.2f} | {rounds} | {value:.6f} | "
            f"{(value - single[2]) / single[2]:+.2e} |"
        )
    per_round = [(run[0] - run[3]) / run[1] for run in (one, two)]
    dask_lines += [
        "",
        f"Wall time, 2 workers / 1 worker: **{two[0] / one[0]:.2f}**; time per round, "
        f"2 workers / 1 worker: {per_round[1] / per_round[0]:.2f} ({per_round[0]:.2f} s and "
        f"{per_round[1]:.2f} s). Before the rounds, the blocks of each worker are copied "
        "into one array (its shard) and the classes are found (one pass over y).",
    ]
    print("\n".join(dask_lines), flush=True)

    if args.out is None and args.quick:
        return 0
    out = Path(args.out or HERE / "results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaleout.md").write_text("\n".join(lines + dask_lines) + "\n")
    print(f"written to {out / 'scaleout.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
