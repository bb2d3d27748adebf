"""Dense prediction: logits or probabilities in one compiled pass over X.

Used for C-contiguous float32/float64 arrays, the layout every fit and most pipelines
produce; other input goes through numpy/scipy products in the estimator.
"""

import numpy as np
from joblib import effective_n_jobs

from sgdlogit import _kernels as kernels
from sgdlogit._training import _read_only, parallel_section

# Threads pay off from about this many multiply-adds (a parallel section costs a few
# microseconds; below this a thread would not get enough rows to hide it).
MIN_PARALLEL_WORK = 1_000_000


def kernel_applies(X):
    """Whether :func:`dense_scores` takes ``X`` as it is (no copy)."""
    return (
        isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64) and X.flags.c_contiguous
    )


def dense_scores(X, coef, intercept, *, proba, n_jobs):
    """Logits or probabilities of the rows of ``X`` (see :func:`kernels.dense_scores`).

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs), or (n_samples, 2) for binary ``proba``
        In the dtype ``X @ coef.T`` would have.
    all_finite : bool
        False if a logit is NaN or infinite.
    """
    dtype = np.result_type(X.dtype, coef.dtype)
    coef = _read_only(np.ascontiguousarray(coef, dtype=dtype))
    intercept = _read_only(np.ascontiguousarray(intercept, dtype=dtype))
    n_outputs = coef.shape[0]
    n_columns = 2 if proba and n_outputs == 1 else n_outputs
    out = np.empty((X.shape[0], n_columns), dtype=dtype)
    X = _read_only(X)
    n_threads = effective_n_jobs(n_jobs) if X.size * n_outputs >= MIN_PARALLEL_WORK else 1
    with parallel_section(n_threads) as parallel:
        score = kernels.dense_scores_parallel if parallel else kernels.dense_scores
        n_bad = score(X, coef, intercept, proba, out)
    return out, n_bad == 0
