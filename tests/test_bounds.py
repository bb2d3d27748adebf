"""The compiled kernels, run with numba's bounds checks on: no index outside an array.

The kernels are compiled without bounds checks, so an index past the end of an array
reads or writes whatever memory is there, and a result can come out right all the same
(the slow binary ``predict_proba`` that read a second, nonexistent row of ``coef`` did).
A fresh process compiles every kernel again with the checks, into an empty cache.
"""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import warnings

    import numpy as np
    import scipy.sparse as sp
    from sklearn.datasets import make_classification

    from sgdlogit import SGDLogitClassifier, _prediction

    warnings.simplefilter("ignore")
    _prediction.MIN_PARALLEL_WORK = 0  # the threaded prediction kernel on small data too
    configs = [
        {},
        {"n_jobs": 2, "batch_size": 64},
        {"penalty": "l1", "average": True, "batch_size": 7},
        {"solver": "adam", "early_stopping": True},
        {"momentum": 0.9, "penalty": "elasticnet", "batch_size": 1},
    ]
    for n_classes in (2, 3, 6):
        X, y = make_classification(
            n_samples=301, n_features=13, n_informative=6, n_classes=n_classes,
            random_state=0,
        )
        for data in (X, X.astype(np.float32), sp.csr_matrix(X)):
            for params in configs:
                clf = SGDLogitClassifier(max_iter=3, tol=None, random_state=0, **params)
                clf.fit(data, y).partial_fit(data[:51], y[:51])
                for n_jobs in (None, 2):
                    clf.set_params(n_jobs=n_jobs)
                    clf.predict_proba(data[:101])
                    clf.decision_function(data[:101])
    print("checked")
    """
)


def test_kernels_stay_within_their_arrays(tmp_path):
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path))
    command = [sys.executable, "-c", SCRIPT]
    result = subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.split() == ["checked"]
