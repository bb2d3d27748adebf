"""SGDLogitClassifier side by side with its peers, on the same data, in one run.

    python benchmarks/run.py [--quick] [--only NAME ...] [--out DIR] [--no-torch]

For every dataset (see ``datasets.py``) the optimum of the objective is computed once with
``LogisticRegression(C=1 / (alpha * n_train), tol=1e-10)`` (cached on disk), then every method
is fitted at the same objective and reported with: default-fit time (median), time to target
(test log-loss within 1% of the optimum's, from fits with a growing ``max_iter``), epochs or
iterations, test log-loss and accuracy, relative objective gap, and peak memory of the fit
(tracemalloc) relative to the training data. Ratios compare sgdlogit's defaults with every peer.
Further sections time one epoch against a streaming read of the same data, compile and import
costs in fresh processes, ``predict_proba`` against a plain matrix product, and a GridSearchCV
on breast_cancer. Results go to ``DIR/results.md``, ``DIR/results.json`` and
``DIR/loss_vs_time.png``. ``--quick`` shrinks every dataset for CI (its timings mean nothing).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, log_loss

sys.path.insert(0, str(Path(__file__).parent))
import datasets

from sgdlogit import SGDLogitClassifier
from sgdlogit._objective import mean_log_loss, penalty_value

HERE = Path(__file__).parent
CACHE = HERE / ".cache"
SWEEP = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
TARGET = 1.01  # time to target: test log-loss within 1% of the optimum's
# Fits of a few milliseconds (breast_cancer, digits) vary by 2-3x between calls on a
# shared machine: their medians take this many runs, not --reps.
SHORT_FIT_S = 0.1
SHORT_FIT_RUNS = 21
# The epoch and predict sections time each thing once per round, alternating, and take
# the median of the rounds' ratios: 11 rounds of 21 calls per predict_proba.
ROUNDS = 11
CALLS_PER_ROUND = 21
# Seconds for OpenBLAS's threads to stop spinning after a product (their timeout is 2^28
# cycles, about 0.1 s here).
BLAS_IDLE_S = 0.3
# Some speeds hold within a process but move between processes: the two-thread BLAS
# product on D2's test rows took 1.0 ms in one process and 1.9 ms in another, and the
# first fit with a warm cache 0.45 s in one and 0.55 s in the next. The predict section
# runs in this many fresh processes, and the start-up costs are measured in as many
# processes with a warm cache; both report the median over the processes.
PROCESSES = 5
# The speed-ups against the peers are also timed in pairs: our fit and the peer's fit one
# after the other, in rounds, with the ratio taken in each round. The medians of separate
# timings lie minutes apart, and the host's speed moved D1's ratio by 10% between runs.
# Each peer gets this many seconds of paired fits (3 to ROUNDS rounds); peers whose fit
# takes longer than PAIRED_MAX_FIT_S keep only the unpaired ratio.
PAIRED_BUDGET_S = 20.0
PAIRED_MAX_FIT_S = 5.0


# ----------------------------------------------------------------------------- methods


def sgdlogit(**params):
    def make(alpha, n_train, max_iter=None):
        extra = {} if max_iter is None else {"max_iter": max_iter, "tol": None}
        return SGDLogitClassifier(alpha=alpha, random_state=0, **params, **extra)

    return make


def logistic(solver):
    def make(alpha, n_train, max_iter=None):
        extra = {"max_iter": 10_000} if max_iter is None else {"max_iter": max_iter, "tol": 0}
        return LogisticRegression(C=1.0 / (alpha * n_train), solver=solver, **extra)

    return make


def sgd_classifier(average):
    def make(alpha, n_train, max_iter=None):
        extra = {} if max_iter is None else {"max_iter": max_iter, "tol": None}
        return SGDClassifier(
            loss="log_loss", alpha=alpha, average=average, random_state=0, **extra
        )

    return make


def methods(data, quick, with_torch=True):
    """(name, factory, kind) of every method that runs on ``data``.

    The PyTorch loop joins when ``with_torch`` is set and torch is importable (never with
    ``quick``).
    """
    multiclass = np.unique(data["y_train"]).shape[0] > 2
    sparse = sp.issparse(data["X_train"])
    rows = [
        ("sgdlogit defaults", sgdlogit(), "ours"),
        ("sgdlogit n_jobs=2", sgdlogit(n_jobs=2), "ours"),
        ("sgdlogit batch=1", sgdlogit(batch_size=1), "ours"),
        ("sgdlogit batch=32", sgdlogit(batch_size=32), "ours"),
        ("sgdlogit batch=1024", sgdlogit(batch_size=1024), "ours"),
        ("LR lbfgs", logistic("lbfgs"), "peer"),
        ("LR newton-cholesky", logistic("newton-cholesky"), "peer"),
        ("LR saga", logistic("saga"), "peer"),
        ("SGDClassifier" + (" (OvR)" if multiclass else ""), sgd_classifier(False), "peer"),
        ("SGDClassifier avg" + (" (OvR)" if multiclass else ""), sgd_classifier(True), "peer"),
    ]
    if sparse:  # newton-cholesky densifies X.T @ X: 2^18 features do not fit
        rows = [r for r in rows if r[0] != "LR newton-cholesky"]
    if with_torch and not quick and not sparse and torch_available():
        rows.append(("torch loop (notebook)", torch_loop, "peer"))
    return rows


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


class TorchLoop:
    """A course-notebook training loop: DataLoader, nn.Linear, cross-entropy, SGD + L2."""

    def __init__(self, alpha, max_iter, lr=0.01, batch_size=256):
        self.alpha, self.max_iter, self.lr, self.batch_size = alpha, max_iter, lr, batch_size

    def fit(self, X, y):
        import torch

        torch.manual_seed(0)
        self.classes_ = np.unique(y)
        X_t = torch.as_tensor(np.asarray(X, dtype=np.float32))
        y_t = torch.as_tensor(np.searchsorted(self.classes_, y))
        model = torch.nn.Linear(X.shape[1], self.classes_.shape[0])
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(X_t, y_t), batch_size=self.batch_size, shuffle=True
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=self.lr, weight_decay=self.alpha)
        for _ in range(self.max_iter):
            for xb, yb in loader:
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(xb), yb).backward()
                optimizer.step()
        self.n_iter_ = self.max_iter
        self.coef_ = model.weight.detach().numpy().astype(np.float64)
        self.intercept_ = model.bias.detach().numpy().astype(np.float64)
        return self

    def predict_proba(self, X):
        z = np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


def torch_loop(alpha, n_train, max_iter=None):
    return TorchLoop(alpha, 5 if max_iter is None else max_iter)


# ----------------------------------------------------------------------------- measuring


def fit_timed(model, X, y):
    """Fit and return (model, seconds, peak traced bytes)."""
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return model, seconds, peak


def fit_untraced(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, time.perf_counter() - start


def coefficients(model):
    """(coef, intercept) in LogisticRegression's layout; None for one-vs-rest models."""
    if isinstance(model, SGDClassifier) and model.coef_.shape[0] > 1:
        return None
    return np.asarray(model.coef_, dtype=np.float64), np.asarray(model.intercept_, np.float64)


def objective(coef, intercept, X, y_index, alpha):
    decision = np.asarray(X @ coef.T) + intercept
    decision = decision.ravel() if coef.shape[0] == 1 else decision
    return mean_log_loss(decision, y_index) + penalty_value(coef, "l2", alpha, 0.0)


def evaluate(model, data, optimum_objective):
    proba = model.predict_proba(data["X_test"])
    classes = model.classes_
    row = {
        "test_log_loss": log_loss(data["y_test"], proba, labels=classes),
        "accuracy": accuracy_score(data["y_test"], classes[proba.argmax(axis=1)]),
        "gap": None,
    }
    coef = coefficients(model)
    if coef is not None:
        y_index = np.searchsorted(classes, data["y_train"])
        value = objective(*coef, data["X_train"], y_index, data["alpha"])
        row["gap"] = (value - optimum_objective) / optimum_objective
    return row


def optimum(data, quick):
    """Coefficients of LogisticRegression at tol=1e-10, cached per dataset and size."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{data['name']}{'-quick' if quick else ''}-optimum.npz"
    if path.exists():
        saved = np.load(path)
        return saved["coef"], saved["intercept"], float(saved["seconds"])
    X = data["X_train"]
    C = 1.0 / (data["alpha"] * X.shape[0])
    solver = "lbfgs" if sp.issparse(X) else "newton-cholesky"
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr = LogisticRegression(C=C, tol=1e-10, max_iter=10_000, solver=solver)
        lr.fit(X.astype(np.float64), data["y_train"])
    seconds = time.perf_counter() - start
    np.savez(path, coef=lr.coef_, intercept=lr.intercept_, seconds=seconds)
    return lr.coef_, lr.intercept_, seconds


def runs_for(seconds, reps):
    """How many runs a timing of a fit that took ``seconds`` takes its median over."""
    return max(reps, SHORT_FIT_RUNS) if seconds < SHORT_FIT_S and reps > 1 else reps


def time_to_target(factory, data, target, reps, budget):
    """First max_iter of SWEEP whose fresh fit reaches ``target``; (seconds, max_iter, curve)."""
    X, y, n = data["X_train"], data["y_train"], data["X_train"].shape[0]
    curve, spent = [], 0.0
    for k in SWEEP:
        model, seconds = fit_untraced(factory(data["alpha"], n, max_iter=k), X, y)
        spent += seconds
        loss = log_loss(data["y_test"], model.predict_proba(data["X_test"]), labels=model.classes_)
        curve.append((seconds, loss))
        if loss <= target:
            times = [seconds] + [
                fit_untraced(factory(data["alpha"], n, max_iter=k), X, y)[1]
                for _ in range(runs_for(seconds, reps) - 1)
            ]
            return float(np.median(times)), k, curve
        if spent > budget:
            break
    return None, None, curve


def run_dataset(name, quick, reps, budget, with_torch=True):
    data = datasets.load(name, quick)
    X, y = data["X_train"], data["y_train"]
    n = X.shape[0]
    coef, intercept, optimum_seconds = optimum(data, quick)
    y_index = np.searchsorted(np.unique(y), y)
    f_opt = objective(coef, intercept, X, y_index, data["alpha"])
    classes = np.unique(y)
    proba = _proba(coef, intercept, data["X_test"])
    opt_loss = log_loss(data["y_test"], proba, labels=classes)
    target = TARGET * opt_loss
    print(f"\n== {name}: {data['what']} (optimum test log-loss {opt_loss:.5f})", flush=True)
    # warm-up: compile (or load from cache) every kernel this data needs, timed apart
    start = time.perf_counter()
    SGDLogitClassifier(max_iter=1, tol=None).fit(X[:2000], y[:2000])
    SGDLogitClassifier(max_iter=1, tol=None, n_jobs=2, batch_size=1024).fit(X[:4000], y[:4000])
    warmup = time.perf_counter() - start
    rows, factories = [], {}
    for label, factory, kind in methods(data, quick, with_torch):
        factories[label] = factory
        # the traced fit gives the peak memory; the timings come from untraced fits, as
        # the times to target do (tracing allocations cost D1's fit 3-7 ms)
        model, seconds, peak = fit_timed(factory(data["alpha"], n), X, y)
        times = [seconds]
        if seconds < 10 and reps > 1:
            times = [
                fit_untraced(factory(data["alpha"], n), X, y)[1]
                for _ in range(runs_for(seconds, reps))
            ]
        row = {
            "method": label,
            "kind": kind,
            "fit_s": float(np.median(times)),
            "fit_min_s": float(np.min(times)),
            "fit_max_s": float(np.max(times)),
            "epochs": int(np.max(getattr(model, "n_iter_", 0))),
            "peak_mb": peak / 2**20,
            "peak_vs_X": peak / datasets.nbytes(X),
            **evaluate(model, data, f_opt),
        }
        ttt, k, curve = time_to_target(factory, data, target, reps, budget)
        row.update(ttt_s=ttt, ttt_iter=k, curve=curve)
        rows.append(row)
        ttt_text = f"{ttt:.3f} s @ {k}" if ttt is not None else "not reached"
        print(
            f"  {label:28s} fit {row['fit_s']:8.3f} s  epochs {row['epochs']:4d}  "
            f"log-loss {row['test_log_loss']:.5f}  to target {ttt_text}",
            flush=True,
        )
    paired_speedups(rows, factories, data, quick)
    return {
        "name": name,
        "what": data["what"],
        "n_train": n,
        "alpha": data["alpha"],
        "optimum_test_log_loss": opt_loss,
        "optimum_seconds": optimum_seconds,
        "warmup_s": warmup,
        "rows": rows,
        "X_bytes": datasets.nbytes(X),
    }


def paired_speedups(rows, factories, data, quick):
    """Time our fits and each peer's in alternation; add the ratios to the peers' rows.

    A round fits the peer as its speed-up is defined (at its time-to-target iteration, or
    its default fit if it never reaches the target), our default fit, and our fit at our
    own time-to-target iteration, each once, each after a pause for BLAS's threads to stop.
    ``row["paired"]`` gets the medians of the rounds' ratios (peer / our default fit, peer
    / our time to target) with their quartiles.
    """
    ours = next(r for r in rows if r["method"] == "sgdlogit defaults")
    X, y, n, alpha = data["X_train"], data["y_train"], data["X_train"].shape[0], data["alpha"]
    make_ours = factories[ours["method"]]
    for row in rows:
        reference = row["ttt_s"] if row["ttt_s"] is not None else row["fit_s"]
        if row["kind"] != "peer" or reference > PAIRED_MAX_FIT_S:
            continue
        # (factory, max_iter) of each fit of a round
        calls = {"peer": (factories[row["method"]], row["ttt_iter"]), "default": (make_ours, None)}
        if ours["ttt_iter"] is not None and row["ttt_s"] is not None:
            calls["ttt"] = (make_ours, ours["ttt_iter"])
        per_round = reference + ours["fit_s"] + (ours["ttt_s"] or 0.0)
        n_rounds = 2 if quick else int(np.clip(PAIRED_BUDGET_S // per_round, 3, ROUNDS))
        times = {key: [] for key in calls}
        for _ in range(n_rounds):
            for key, (make, max_iter) in calls.items():
                # BLAS's threads spin on after a peer's products: a float32 fit of ours
                # right after lbfgs on D1 took 83 ms instead of 74 (its compute shares the
                # cores with them; float64, bound by memory, lost nothing)
                time.sleep(0 if quick else BLAS_IDLE_S)
                times[key].append(fit_untraced(make(alpha, n, max_iter=max_iter), X, y)[1])
        peer = np.array(times["peer"])
        paired = {"rounds": n_rounds}
        for key in calls.keys() - {"peer"}:
            paired[f"vs_{key}"], paired[f"vs_{key}_quartiles"] = _median_and_quartiles(
                peer / np.array(times[key])
            )
        row["paired"] = paired
        ttt_text = f", to target {paired['vs_ttt']:.2f}x" if "vs_ttt" in paired else ""
        print(
            f"  paired with {row['method']}: default fit {paired['vs_default']:.2f}x"
            f"{ttt_text} ({n_rounds} rounds)",
            flush=True,
        )


def _paired_text(row):
    """The paired speed-ups of a peer's row for the table, or a dash."""
    paired = row.get("paired")
    if paired is None:
        return "—"
    text = ""
    for key, label in (("vs_default", ""), ("vs_ttt", "to target ")):
        if key in paired:
            low, high = paired[f"{key}_quartiles"]
            text += f"{'; ' if text else ''}{label}{paired[key]:.1f}× ({low:.1f}–{high:.1f})"
    return text


def _proba(coef, intercept, X):
    z = np.asarray(X @ coef.T) + intercept
    if coef.shape[0] == 1:
        p = 1 / (1 + np.exp(-z.ravel()))
        return np.column_stack([1 - p, p])
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------- sections


def huge_page_share(X):
    """Share of the memory of ``X`` backed by transparent huge pages (None off Linux).

    Shuffled rows cross many 4 KB pages; an epoch over X without huge pages took 5-15%
    longer in fresh processes (see benchmarks/README.md), so the report says how X was
    backed.
    """
    start = X.ctypes.data
    stop = start + X.nbytes
    backed = 0
    try:
        with open("/proc/self/smaps") as smaps:
            overlap = 0
            for line in smaps:
                fields = line.split()
                if "-" in fields[0] and ":" not in fields[0]:
                    low, high = (int(part, 16) for part in fields[0].split("-"))
                    overlap = max(0, min(high, stop) - max(low, start))
                    size = high - low
                elif fields[0] == "AnonHugePages:" and overlap:
                    backed += int(fields[1]) * 1024 * overlap / size
    except OSError:
        return None
    return min(backed / X.nbytes, 1.0)


def _rounds(quick, reps):
    """Rounds of the interleaved timings: a ratio is taken in each round, then the median."""
    return 2 if quick else max(reps, ROUNDS)


def _median_and_quartiles(values):
    """The median of per-round values and their quartiles (one slow round moves neither)."""
    low, median, high = np.percentile(values, [25, 50, 75])
    return float(median), [float(low), float(high)]


def epoch_vs_bandwidth(quick, reps):
    """One epoch of the default fit against a streaming read of X (numba, 1 and 2 threads).

    Both dtypes of D1 stay loaded and are timed in the same rounds (reads, then an epoch of
    each fit), so that every ratio, epoch against read and float32 against float64, compares
    timings taken seconds apart: the host's speed drifts over minutes.
    """
    import numba
    from numba import njit, prange

    @njit(nogil=True, fastmath={"reassoc"})
    def read_serial(X):
        total = 0.0
        for i in range(X.shape[0]):
            for j in range(X.shape[1]):
                total += X[i, j]
        return total

    @njit(nogil=True, parallel=True, fastmath={"reassoc"})
    def read_parallel(X):
        total = 0.0
        for i in prange(X.shape[0]):
            row = 0.0
            for j in range(X.shape[1]):
                row += X[i, j]
            total += row
        return total

    names = ("D1", "D1f32")
    fits = (("defaults", {}), ("n_jobs=2", {"n_jobs": 2}))
    data = {name: datasets.load(name, quick) for name in names}
    for name in names:
        read_serial(data[name]["X_train"])
        read_parallel(data[name]["X_train"])
    timings = {}  # (name, what) -> one timing per round
    for _ in range(_rounds(quick, reps)):
        for name in names:
            X, y = data[name]["X_train"], data[name]["y_train"]
            for label, function in (("read 1t", read_serial), ("read 2t", read_parallel)):
                start = time.perf_counter()
                function(X)
                timings.setdefault((name, label), []).append(time.perf_counter() - start)
            for label, params in fits:
                one = fit_untraced(
                    SGDLogitClassifier(max_iter=1, tol=None, random_state=0, **params), X, y
                )[1]
                three = fit_untraced(
                    SGDLogitClassifier(max_iter=3, tol=None, random_state=0, **params), X, y
                )[1]
                timings.setdefault((name, label), []).append((three - one) / 2)

    results = []
    for name in names:
        X = data[name]["X_train"]
        read_2t = np.array(timings[(name, "read 2t")])
        for label, _ in fits:
            epochs = np.array(timings[(name, label)])
            vs_read, vs_read_quartiles = _median_and_quartiles(epochs / read_2t)
            row = {
                "data": name,
                "fit": label,
                "huge_pages": huge_page_share(X),
                "epoch_s": float(np.median(epochs)),
                "read_1t_s": float(np.median(timings[(name, "read 1t")])),
                "read_2t_s": float(np.median(read_2t)),
                "vs_read_2t": vs_read,
                "vs_read_2t_quartiles": vs_read_quartiles,
                "GBps_read_2t": datasets.nbytes(X) / float(np.median(read_2t)) / 1e9,
                "rounds": len(epochs),
            }
            if name == "D1f32":
                per_round = epochs / np.array(timings[("D1", label)])
                row["vs_float64"], row["vs_float64_quartiles"] = _median_and_quartiles(per_round)
            results.append(row)
            share = row["huge_pages"]
            print(
                f"  {name} {label}: epoch {row['epoch_s'] * 1e3:.1f} ms, read "
                f"{row['read_2t_s'] * 1e3:.1f} ms (2 thr) / {row['read_1t_s'] * 1e3:.1f} ms"
                + ("" if share is None else f" (X in huge pages: {share:.0%})")
                + f"; × read {vs_read:.2f} ({vs_read_quartiles[0]:.2f}–{vs_read_quartiles[1]:.2f})"
                + (
                    f"; × float64 {row['vs_float64']:.2f} "
                    f"({row['vs_float64_quartiles'][0]:.2f}–{row['vs_float64_quartiles'][1]:.2f})"
                    if "vs_float64" in row
                    else ""
                ),
                flush=True,
            )
    del numba
    return results


STARTUP = r"""
import sys, time, json
t0 = time.perf_counter()
import sgdlogit
t1 = time.perf_counter()
import numpy as np
from sklearn.datasets import make_classification
X, y = make_classification(2000, 20, random_state=0)
Xs = __import__("scipy.sparse", fromlist=["csr_matrix"]).csr_matrix(X)
t2 = time.perf_counter()
sgdlogit.SGDLogitClassifier(max_iter=5, tol=None).fit(X, y)
sgdlogit.SGDLogitClassifier(max_iter=5, tol=None).fit(Xs, y)
t3 = time.perf_counter()
sgdlogit.SGDLogitClassifier(max_iter=5, tol=None).fit(X, y)
sgdlogit.SGDLogitClassifier(max_iter=5, tol=None).fit(Xs, y)
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_fit_s": t3 - t2, "steady_fit_s": t4 - t3}))
"""


def startup_costs(quick):
    """Import time, cold compile, and first fit with a warm cache, in fresh processes.

    The first process compiles into an empty cache; the warm figures are the medians of
    the next ``PROCESSES`` (one with ``quick``), which load it.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = []
        for _ in range(1 + (1 if quick else PROCESSES)):
            out = subprocess.run(
                [sys.executable, "-c", STARTUP], env=env, capture_output=True, text=True,
                check=True,
            )  # fmt: skip
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    cold, warm = runs[0], runs[1:]
    for run in warm:
        run["overhead_s"] = run["first_fit_s"] - run["steady_fit_s"]
    values = {key: [run[key] for run in warm] for key in warm[0]}
    result = {
        "import_s": float(np.median(values["import_s"])),
        "cold_first_fit_s": cold["first_fit_s"],
        "warm_first_fit_s": float(np.median(values["first_fit_s"])),
        "steady_fit_s": float(np.median(values["steady_fit_s"])),
        "warm_overhead_s": float(np.median(values["overhead_s"])),
        "warm_overhead_range_s": [min(values["overhead_s"]), max(values["overhead_s"])],
        "import_range_s": [min(values["import_s"]), max(values["import_s"])],
        "warm_processes": len(warm),
    }
    print(
        f"  import {result['import_s']:.3f} s; first fit cold {result['cold_first_fit_s']:.2f} s,"
        f" warm {result['warm_first_fit_s']:.3f} s, steady {result['steady_fit_s']:.3f} s",
        flush=True,
    )
    return result


def predict_speed(quick, reps):
    """predict_proba against numpy's ``X @ coef_.T``: binary (D1) and 10 classes (D2).

    Each of ``PROCESSES`` fresh processes (this one with ``quick``) times both in rounds
    (:func:`predict_speed_on`); every figure is the median over the processes, and
    ``processes`` keeps each process's figures.
    """
    if quick:
        runs = [predict_speed_here(quick, reps)]
    else:
        runs = []
        for _ in range(PROCESSES):
            out = subprocess.run(
                [sys.executable, __file__, "--predict-worker", "--reps", str(reps)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    result = {}
    for name in runs[0]:
        per_process = [run[name] for run in runs]
        summary = {
            key: float(np.median([p[key] for p in per_process]))
            for key in ("predict_proba", "predict_proba n_jobs=2", "X @ coef_.T", "ratio",
                        "ratio_2_threads")
        }  # fmt: skip
        summary["processes"] = per_process
        result[name] = summary
        ratios = ", ".join(f"{p['ratio_2_threads']:.2f}" for p in per_process)
        print(
            f"  {name}: n_jobs=2 median over {len(runs)} processes "
            f"{summary['ratio_2_threads']:.2f} ({ratios})",
            flush=True,
        )
    return result


def predict_speed_here(quick, reps):
    """:func:`predict_speed_on` D1 and D2 in this process."""
    return {name: predict_speed_on(name, quick, reps) for name in ("D1", "D2")}


def predict_speed_on(name, quick, reps):
    """predict_proba on one thread (the default) and on two, against numpy's ``X @ coef_.T``.

    numpy's product runs on every core BLAS has (two here); ``n_jobs=2`` gives
    predict_proba as many threads. The three are timed in rounds, each a block of calls
    of each (a few ms per call), and the ratios are the medians of the rounds' ratios.
    Every round ends with a pause: OpenBLAS's threads keep spinning for a while after a
    product, and took the cores of the next round's calls (ratios of 2 to 8 without it).
    """
    data = datasets.load(name, quick)
    X = data["X_test"]
    models = {}
    for n_jobs in (None, 2):
        clf = SGDLogitClassifier(max_iter=1, tol=None, random_state=0, n_jobs=n_jobs)
        models[n_jobs] = clf.fit(data["X_train"], data["y_train"])
    coef = models[None].coef_
    calls = {
        "predict_proba": lambda: models[None].predict_proba(X),
        "predict_proba n_jobs=2": lambda: models[2].predict_proba(X),
        "X @ coef_.T": lambda: X @ coef.T,
    }
    timings = {key: [] for key in calls}  # the median of each round's block
    for _ in range(_rounds(quick, reps)):
        for key, call in calls.items():
            call()
            block = []
            for _ in range(3 if quick else CALLS_PER_ROUND):
                start = time.perf_counter()
                call()
                block.append(time.perf_counter() - start)
            timings[key].append(np.median(block))
        time.sleep(0 if quick else BLAS_IDLE_S)
    blas = np.array(timings["X @ coef_.T"])
    result = {key: float(np.median(value)) for key, value in timings.items()}
    result["ratio"], result["ratio_quartiles"] = _median_and_quartiles(
        np.array(timings["predict_proba"]) / blas
    )
    result["ratio_2_threads"], result["ratio_2_threads_quartiles"] = _median_and_quartiles(
        np.array(timings["predict_proba n_jobs=2"]) / blas
    )
    result["rounds"] = len(blas)
    low, high = result["ratio_2_threads_quartiles"]
    print(
        f"  {name}: predict_proba / (X @ coef_.T) = {result['ratio']:.2f} (1 thread), "
        f"{result['ratio_2_threads']:.2f} (n_jobs=2; rounds' quartiles {low:.2f}–{high:.2f})",
        flush=True,
    )
    return result


def grid_search_speed(reps):
    """5-fold x 24-candidate GridSearchCV on breast_cancer, ours against LogisticRegression."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    grids = {
        "sgdlogit": (
            make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0)),
            {
                "sgdlogitclassifier__alpha": np.logspace(-5, 0, 6),
                "sgdlogitclassifier__batch_size": [8, 16, 32, 64],
            },
        ),
        "LogisticRegression": (
            make_pipeline(StandardScaler(), LogisticRegression()),
            {"logisticregression__C": np.logspace(-4, 4, 24)},
        ),
    }
    result = {}
    for name, (pipeline, grid) in grids.items():
        timings = []
        for _ in range(max(reps, 3)):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                search = GridSearchCV(pipeline, grid, cv=5).fit(X, y)
            timings.append(time.perf_counter() - start)
        result[name] = {"seconds": float(np.median(timings)), "best_cv": search.best_score_}
    result["ratio"] = result["sgdlogit"]["seconds"] / result["LogisticRegression"]["seconds"]
    print(
        f"  GridSearchCV: sgdlogit {result['sgdlogit']['seconds']:.2f} s, "
        f"LogisticRegression {result['LogisticRegression']['seconds']:.2f} s",
        flush=True,
    )
    return result


# ----------------------------------------------------------------------------- report


def fmt(value, digits=3):
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 else f"{value:.{digits}f}"
    return str(value)


def markdown(report):
    lines = ["# Benchmark results", ""]
    lines += [f"- machine: {report['machine']}", f"- command: `{report['command']}`"]
    lines += [f"- versions: {report['versions']}", ""]
    for result in report["datasets"]:
        rows = result["rows"]
        ours = next(r for r in rows if r["method"] == "sgdlogit defaults")
        lines += [
            f"## {result['name']}: {result['what']}",
            "",
            f"alpha = {result['alpha']:g}; optimum test log-loss "
            f"{result['optimum_test_log_loss']:.5f}, target "
            f"{TARGET * result['optimum_test_log_loss']:.5f};"
            f" compile/warm-up {result['warmup_s']:.2f} s (excluded).",
            "",
            "| method | fit s (median, min–max) | epochs/iter | test log-loss | accuracy | "
            "objective gap | time to target s (iter) | peak MB (× X) | defaults' speed-up "
            "| paired speed-up (quartiles) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            reference = r["ttt_s"] if r["ttt_s"] is not None else r["fit_s"]
            speedup = reference / ours["fit_s"] if r is not ours else None
            ttt = "not reached" if r["ttt_s"] is None else f"{r['ttt_s']:.3f} ({r['ttt_iter']})"
            lines.append(
                f"| {r['method']} | {r['fit_s']:.3f} ({r['fit_min_s']:.3f}–{r['fit_max_s']:.3f}) "
                f"| {r['epochs']} | {r['test_log_loss']:.5f} | {r['accuracy']:.4f} | "
                f"{fmt(r['gap'])} | {ttt} | {r['peak_mb']:.1f} ({r['peak_vs_X']:.2f}) | "
                f"{'—' if speedup is None else f'{speedup:.1f}×'} | {_paired_text(r)} |"
            )
        lines += [
            "",
            "*defaults' speed-up*: the peer's time to target (or its fit time when it never "
            "reaches the target) divided by sgdlogit's default fit time. *paired speed-up*: "
            "the same ratio, and the peer's time to target over ours, timed in rounds that "
            "fit the peer and us one after the other: medians of the rounds' ratios, with "
            "their quartiles (peers that take more than "
            f"{PAIRED_MAX_FIT_S:g} s are not paired).",
            "",
        ]
    if report.get("epochs"):
        lines += ["## Epoch time against a streaming read of X_train", ""]
        lines += [
            "| data | fit | epoch ms | read ms, 2 threads | read ms, 1 thread | × read (2 thr) "
            "| × float64 | X in huge pages |"
        ]
        lines += ["|---|---|---|---|---|---|---|---|"]
        for e in report["epochs"]:
            share = e.get("huge_pages")
            low, high = e["vs_read_2t_quartiles"]
            vs64 = "—"
            if "vs_float64" in e:
                vs64 = f"{e['vs_float64']:.2f} ({e['vs_float64_quartiles'][0]:.2f}–"
                vs64 += f"{e['vs_float64_quartiles'][1]:.2f})"
            lines.append(
                f"| {e['data']} | {e['fit']} | {e['epoch_s'] * 1e3:.1f} | "
                f"{e['read_2t_s'] * 1e3:.1f} | {e['read_1t_s'] * 1e3:.1f} | "
                f"{e['vs_read_2t']:.2f} ({low:.2f}–{high:.2f}) | {vs64} | "
                f"{'n/a' if share is None else f'{share:.0%}'} |"
            )
        lines += [
            "",
            f"Medians of {report['epochs'][0]['rounds']} rounds (in brackets: the quartiles of "
            "the rounds); the ratios are taken in each round.",
            "",
        ]
    if report.get("startup"):
        s = report["startup"]
        low, high = s["warm_overhead_range_s"]
        lines += [
            "## Start-up costs (fresh processes)",
            "",
            f"Warm-cache figures: medians of {s['warm_processes']} processes.",
            "",
            f"- `import sgdlogit`: {s['import_s']:.3f} s ({s['import_range_s'][0]:.3f}–"
            f"{s['import_range_s'][1]:.3f} s)",
            f"- first dense + CSR fit, empty numba cache (compile): {s['cold_first_fit_s']:.2f} s",
            f"- first fit with a warm cache: {s['warm_first_fit_s']:.3f} s; steady state "
            f"{s['steady_fit_s']:.3f} s; overhead {s['warm_overhead_s']:.3f} s "
            f"({low:.3f}–{high:.3f} s)",
            "",
        ]
    if report.get("predict"):
        lines += ["## predict_proba", ""]
        for name, p in report["predict"].items():
            per_process = p["processes"]
            ratios = ", ".join(
                f"{q['ratio_2_threads']:.2f} ({q['ratio_2_threads_quartiles'][0]:.2f}–"
                f"{q['ratio_2_threads_quartiles'][1]:.2f})"
                for q in per_process
            )
            lines.append(
                f"- {name} test set: X @ coef_.T (BLAS, 2 threads) "
                f"{p['X @ coef_.T'] * 1e3:.1f} ms; predict_proba "
                f"{p['predict_proba'] * 1e3:.1f} ms on 1 thread (ratio {p['ratio']:.2f}), "
                f"{p['predict_proba n_jobs=2'] * 1e3:.1f} ms with n_jobs=2 "
                f"(ratio {p['ratio_2_threads']:.2f}); medians over {len(per_process)} "
                f"processes, each the median of {per_process[0]['rounds']} rounds. "
                f"n_jobs=2 ratio by process (quartiles of its rounds): {ratios}"
            )
        lines.append("")
    if report.get("grid"):
        g = report["grid"]
        lines += [
            "## GridSearchCV on breast_cancer (5 folds × 24 candidates)",
            "",
            f"- sgdlogit: {g['sgdlogit']['seconds']:.2f} s "
            f"(best CV {g['sgdlogit']['best_cv']:.4f});"
            f" LogisticRegression: {g['LogisticRegression']['seconds']:.2f} s (best CV "
            f"{g['LogisticRegression']['best_cv']:.4f}); ratio {g['ratio']:.2f}",
            "",
        ]
    return "\n".join(lines)


def plot(report, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    results = report["datasets"]
    if not results:
        return
    n_cols = min(3, len(results))
    n_rows = -(-len(results) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(5 * n_cols, 4 * n_rows), squeeze=False)
    for ax in axes.ravel()[len(results) :]:
        ax.set_visible(False)
    for ax, result in zip(axes.ravel(), results, strict=False):
        for r in result["rows"]:
            if r["curve"]:
                seconds, losses = zip(*r["curve"], strict=True)
                style = "-o" if r["kind"] == "ours" else "--s"
                ax.plot(seconds, losses, style, label=r["method"], markersize=3)
        target = TARGET * result["optimum_test_log_loss"]
        ax.axhline(target, color="k", lw=0.8, ls=":", label="target (+1%)")
        ax.set_xscale("log")
        best = result["optimum_test_log_loss"]
        ax.set_ylim(best * 0.995, best * 1.15)
        ax.set_xlabel("fit time (s)")
        ax.set_ylabel("test log-loss")
        ax.set_title(result["name"])
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine():
    import numba
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = (
        f"Python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, numba {numba.__version__}"
    )
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}", versions


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, for CI")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME",
        help=f"datasets or sections to run (of {', '.join(datasets.SIZES)}, epoch, startup, "
        "predict, grid)",
    )  # fmt: skip
    parser.add_argument(
        "--out",
        default=None,
        help="output folder (default: benchmarks/results, or benchmarks/results/partial "
        "with --only or --quick, so a partial run never overwrites the full results)",
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions per timing")
    parser.add_argument(
        "--budget", type=float, default=90.0, help="seconds per time-to-target sweep"
    )
    parser.add_argument(
        "--no-torch", action="store_true", help="leave out the PyTorch loop even if installed"
    )
    parser.add_argument("--predict-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    reps = args.reps or (1 if args.quick else 3)
    if args.predict_worker:  # one process of the predict section: its figures as JSON
        figures = predict_speed_here(False, reps)
        print(json.dumps(figures, default=float))
        return 0
    budget = 0.3 if args.quick else args.budget
    wanted = set(args.only or [*datasets.SIZES, "epoch", "startup", "predict", "grid"])
    cpu, versions = machine()
    report = {
        "machine": cpu,
        "versions": versions,
        "command": "python benchmarks/run.py " + " ".join(argv or sys.argv[1:]),
        "datasets": [],
    }
    for name in datasets.SIZES:
        if name in wanted:
            report["datasets"].append(
                run_dataset(name, args.quick, reps, budget, with_torch=not args.no_torch)
            )
    if "epoch" in wanted:
        print("\n== epoch time against streaming read", flush=True)
        report["epochs"] = epoch_vs_bandwidth(args.quick, reps)
    if "startup" in wanted:
        print("\n== start-up costs", flush=True)
        report["startup"] = startup_costs(args.quick)
    if "predict" in wanted:
        print("\n== predict_proba", flush=True)
        report["predict"] = predict_speed(args.quick, reps)
    if "grid" in wanted:
        print("\n== GridSearchCV", flush=True)
        report["grid"] = grid_search_speed(reps)
    partial = args.only or args.quick
    out = Path(args.out or HERE / "results" / ("partial" if partial else ""))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=1, default=float))
    (out / "results.md").write_text(markdown(report))
    plot(report, out / "loss_vs_time.png")
    print(f"\nwrote {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
