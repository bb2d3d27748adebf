import os

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, settings
from sklearn.datasets import make_classification
from sklearn.preprocessing import normalize


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make_text_like(n_samples=3000, n_features=5000, nnz_per_row=30, seed=0):
    """A CSR matrix like tf-idf text: Zipf token counts, log tf, L2-normalized rows.

    Labels come from a logistic teacher, so the problem is not separable.
    """
    rng = np.random.default_rng(seed)
    nnz = rng.poisson(nnz_per_row, n_samples) + 1
    rows = np.repeat(np.arange(n_samples), nnz)
    cols = np.minimum(rng.zipf(1.3, nnz.sum()) - 1, n_features - 1)
    X = sp.csr_matrix((np.ones(nnz.sum()), (rows, cols)), shape=(n_samples, n_features))
    X.data = 1.0 + np.log(X.data)
    X = normalize(X)
    teacher = rng.normal(size=n_features) * 3.0
    y = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-(X @ teacher)))).astype(int)
    return X, y


@pytest.fixture
def text_data():
    return make_text_like()


@pytest.fixture
def dense_binary():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, random_state=0)
    return X, y


@pytest.fixture
def dense_multiclass():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    return X, y


# Hypothesis profiles of the property-based tests: SGDLOGIT_HYPOTHESIS_PROFILE picks ``ci``
# (default, derandomized so CI runs the same examples), ``dev`` (fewer examples) or
# ``thorough`` (10x the examples, random seeds).
settings.register_profile(
    "sgdlogit-ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("sgdlogit-dev", settings.get_profile("sgdlogit-ci"), derandomize=False)
settings.register_profile(
    "sgdlogit-thorough", settings.get_profile("sgdlogit-ci"), derandomize=False
)
PROFILE = os.environ.get("SGDLOGIT_HYPOTHESIS_PROFILE", "ci")
EXAMPLES_FACTOR = {"ci": 1.0, "dev": 0.2, "thorough": 10.0}[PROFILE]


def hypothesis_settings(max_examples):
    """The selected profile with ``max_examples`` scaled by the profile's factor."""
    return settings(
        settings.get_profile(f"sgdlogit-{PROFILE}"),
        max_examples=max(1, round(max_examples * EXAMPLES_FACTOR)),
    )
