"""Resource use: compiled kernel specializations stay bounded, repeated fits do not leak memory.

Both run in a fresh interpreter, so that what other tests compiled or allocated does not
count: the numba dispatchers of ``dense_epoch``, ``csr_epoch`` and ``dense_epoch_parallel``
list every signature they compiled (or loaded from the cache) in ``.signatures``. The expected
bound is one specialization per dtype (float32 / float64) and kernel: read-only, Fortran,
strided, memory-mapped, integer or boolean inputs are normalized before the call.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

KERNELS = ("dense_epoch", "csr_epoch", "dense_epoch_parallel")

SPECIALIZATIONS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, tempfile, warnings
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp
    from sgdlogit import SGDLogitClassifier
    from sgdlogit import _kernels as kernels

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    # 1100 x 16: a full batch carries enough work for n_jobs=2 to split it over threads
    X = rng.normal(size=(1100, 16))
    y = (X[:, 0] + 0.3 * rng.normal(size=1100) > 0).astype(int)
    y3 = np.digitize(X[:, 1], [-0.5, 0.5])
    tmp = tempfile.mkdtemp()


    def memmap(A, mode):
        path = os.path.join(tmp, f"{len(os.listdir(tmp))}.npy")
        np.save(path, A)
        return np.load(path, mmap_mode=mode)


    def readonly(A):
        A = A.copy()
        A.flags.writeable = False
        return A


    def readonly_csr(A):
        A = sp.csr_matrix(A)
        for array in (A.data, A.indices, A.indptr):
            array.flags.writeable = False
        return A


    def wide_index_csr(A, indptr):
        A = sp.csr_matrix(A)
        A.indices = A.indices.astype(np.int64)
        A.indptr = A.indptr.astype(indptr)
        return A


    def strided(A):
        big = np.zeros((A.shape[0], 2 * A.shape[1]), dtype=A.dtype)
        big[:, ::2] = A
        return big[:, ::2]


    GROUPS = {
        "base": lambda A: [A, sp.csr_matrix(A)],
        "normalized": lambda A: [
            np.asfortranarray(A), strided(A), A[::-1][::-1], memmap(A, "c"), A.tolist(),
            pd.DataFrame(A), sp.csc_matrix(A), sp.coo_matrix(A), sp.csr_array(A),
            (A * 10).astype(np.int64), (A * 10).astype(np.int32), (A * 10).astype(np.int8),
            A > 0, sp.csr_matrix((A * 10).astype(np.int64)),
        ],
        "readonly": lambda A: [readonly(A), memmap(A, "r"), readonly_csr(A)],
        "int64-indices": lambda A: [
            wide_index_csr(A, np.int64), wide_index_csr(A, np.int32), readonly_csr(A)
        ],
    }
    CONFIGS = [
        {}, {"momentum": 0.9}, {"solver": "adam"}, {"penalty": "l1", "average": True},
        {"penalty": "elasticnet", "batch_size": 1}, {"early_stopping": True},
        {"n_jobs": 2, "batch_size": 1100}, {"class_weight": "balanced", "batch_size": 5000},
    ]


    def fit_all(inputs):
        for A in inputs:
            for labels in (y, y3):
                for params in CONFIGS:
                    clf = SGDLogitClassifier(max_iter=2, tol=None, random_state=0, **params)
                    clf.fit(A, labels)
                    clf.partial_fit(A, labels)
                    clf.predict_proba(A)


    def signatures():
        return {name: [str(s) for s in getattr(kernels, name).signatures]
                for name in ("dense_epoch", "csr_epoch", "dense_epoch_parallel")}


    report = {}
    for group in sys.argv[1:]:
        for dtype in (np.float64, np.float32):
            fit_all(GROUPS[group](X.astype(dtype)))
        report[group] = signatures()
    print(json.dumps(report))
    """
)


def run_script(script, *args, timeout=600):
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def describe(signatures):
    return "\n".join(
        f"{name}: {len(sigs)}\n  " + "\n  ".join(sigs) for name, sigs in signatures.items()
    )


def assert_bounded(signatures):
    counts = {name: len(signatures[name]) for name in KERNELS}
    print("compiled specializations:", counts)
    # one per dtype: float32 / float64 x dense / CSR
    assert counts["dense_epoch"] <= 2, describe(signatures)
    assert counts["csr_epoch"] <= 2, describe(signatures)
    assert counts["dense_epoch"] + counts["csr_epoch"] <= 4, describe(signatures)
    assert counts["dense_epoch_parallel"] <= 2, describe(signatures)


def test_specializations_stay_bounded_for_normalized_inputs(record_property):
    """Fortran, strided, negative-stride, copy-on-write memory maps, lists, frames, CSC,
    COO, csr_array, int and bool inputs, 8 configurations x binary / 3 classes x fit /
    partial_fit, float32 and float64: at most 2 specializations of each kernel."""
    report = run_script(SPECIALIZATIONS_SCRIPT, "base", "normalized")
    base = report["base"]
    # both dtypes and both layouts were compiled by the base inputs
    assert len(base["dense_epoch"]) == 2, describe(base)
    assert len(base["csr_epoch"]) == 2, describe(base)
    for name in KERNELS:
        record_property(f"{name}_signatures", len(report["normalized"][name]))
    assert_bounded(report["normalized"])
    assert report["normalized"]["dense_epoch"] == base["dense_epoch"]
    assert report["normalized"]["csr_epoch"] == base["csr_epoch"]


def test_int64_indices_add_one_csr_specialization_per_dtype(record_property):
    """CSR matrices with int64 index arrays (or one int64 and one int32 array) are read
    as they are: one more CSR kernel per dtype, whatever the read-only flags."""
    report = run_script(SPECIALIZATIONS_SCRIPT, "base", "int64-indices")
    base, wide = report["base"], report["int64-indices"]
    record_property("csr_epoch_signatures", len(wide["csr_epoch"]))
    assert wide["dense_epoch"] == base["dense_epoch"]
    assert set(base["csr_epoch"]) < set(wide["csr_epoch"])
    added = sorted(set(wide["csr_epoch"]) - set(base["csr_epoch"]))
    assert len(added) == 2, describe(wide)
    # the two new ones take read-only int64 indices and indptr (the row order already was)
    read_only_int64 = "Array(int64, 1, 'C', True"
    expected = {sig.count(read_only_int64) + 2 for sig in base["csr_epoch"]}
    assert {sig.count(read_only_int64) for sig in added} == expected, added


def test_specializations_stay_bounded_for_readonly_inputs(record_property):
    report = run_script(SPECIALIZATIONS_SCRIPT, "base", "readonly")
    for name in KERNELS:
        record_property(f"{name}_signatures", len(report["readonly"][name]))
    assert_bounded(report["readonly"])


RSS_SCRIPT = textwrap.dedent(
    """
    import gc, json, os, sys, warnings
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp
    from sgdlogit import SGDLogitClassifier
    from sgdlogit import _kernels as kernels

    warnings.simplefilter("ignore")


    def rss():
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            import psutil

            return psutil.Process().memory_info().rss


    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10))
    y = (X[:, 0] > 0).astype(int)
    y4 = np.digitize(X[:, 1], [-1.0, 0.0, 1.0])
    X_csr = sp.csr_matrix(np.where(rng.random(X.shape) < 0.3, X, 0.0))
    X32 = X.astype(np.float32)
    frame = pd.DataFrame(X)


    def one(i):
        kind = i % 8
        if kind == 0:
            clf = SGDLogitClassifier(max_iter=5, tol=None, random_state=i).fit(X, y)
        elif kind == 1:
            clf = SGDLogitClassifier(max_iter=5, tol=None, solver="adam").fit(X32, y4)
        elif kind == 2:
            clf = SGDLogitClassifier(max_iter=5, tol=None, penalty="l1").fit(X_csr, y)
        elif kind == 3:
            clf = SGDLogitClassifier(max_iter=5, tol=None, early_stopping=True).fit(frame, y4)
        elif kind == 4:
            clf = SGDLogitClassifier(momentum=0.9, average=True, random_state=i)
            for chunk in np.array_split(np.arange(200), 4):
                clf.partial_fit(X[chunk], y4[chunk], classes=np.arange(4))
        elif kind == 5:
            n_features = 1 + i % 13  # new shapes must not compile anything new
            clf = SGDLogitClassifier(max_iter=3, tol=None).fit(X[:, :n_features], y)
            X_pred = X[:, :n_features]
        elif kind == 6:
            clf = SGDLogitClassifier(max_iter=3, tol=None, class_weight="balanced")
            clf.fit(X_csr.astype(np.float32), y4)
        else:
            clf = SGDLogitClassifier(max_iter=1000, random_state=i).fit(X, y)
        if kind != 5:
            X_pred = {1: X32, 2: X_csr, 3: frame, 6: X_csr}.get(kind, X)
        clf.predict_proba(X_pred)
        clf.score(X_pred, clf.predict(X_pred))


    def n_signatures():
        return sum(len(getattr(kernels, name).signatures)
                   for name in ("dense_epoch", "csr_epoch", "dense_epoch_parallel"))


    n_fits = int(sys.argv[1])
    for i in range(200):  # warm-up: compile / load every kernel, fill allocator pools
        one(i)
    gc.collect()
    start, signatures_start = rss(), n_signatures()
    trace = []
    for i in range(n_fits):
        one(i)
        if (i + 1) % (n_fits // 10) == 0:
            gc.collect()
            trace.append(rss() - start)
    gc.collect()
    print(json.dumps({
        "start_mb": start / 2**20,
        "drift_mb": (rss() - start) / 2**20,
        "trace_mb": [t / 2**20 for t in trace],
        "signatures": [signatures_start, n_signatures()],
    }))
    """
)


@pytest.mark.skipif(
    not os.path.exists("/proc/self/statm") and importlib.util.find_spec("psutil") is None,
    reason="needs /proc or psutil to read the resident set size",
)
def test_thousand_consecutive_fits_do_not_grow_memory(record_property):
    """1,000 fits (dense, float32, CSR, DataFrame, partial_fit streams, early stopping,
    varying shapes, converged default fits), each followed by predictions: the resident set
    size drifts by less than 20 MB after a warm-up, and nothing new is compiled."""
    report = run_script(RSS_SCRIPT, "1000")
    print(
        f"RSS {report['start_mb']:.1f} MB after warm-up, drift over 1000 fits "
        f"{report['drift_mb']:+.2f} MB, every 100 fits: "
        + ", ".join(f"{t:+.1f}" for t in report["trace_mb"])
    )
    record_property("rss_drift_mb", round(report["drift_mb"], 3))
    assert report["drift_mb"] < 20, report
    # flat over the last 500 fits: a leak of 10 kB per fit would add 5 MB
    trace = report["trace_mb"]
    assert trace[-1] - trace[len(trace) // 2 - 1] < 5, report
    assert report["signatures"][0] == report["signatures"][1], report
