"""Benchmark datasets, generated in code from fixed seeds.

Each dataset is a dict with ``X_train, X_test, y_train, y_test`` (dense sets standardized on
the training split), the regularization ``alpha`` of the objective and a description.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler, normalize

# name -> (full size, quick size, alpha)
SIZES = {
    "D1": (1_000_000, 20_000, 1e-5),
    "D1f32": (1_000_000, 20_000, 1e-5),
    "D2": (200_000, 10_000, 1e-5),
    "D3": (500_000, 20_000, 1e-6),
    "D4bc": (None, None, 1e-3),
    "D4dig": (None, None, 1e-3),
}


def _split_dense(X, y, seed, dtype=np.float64):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    X_train = np.ascontiguousarray(scaler.transform(X_train), dtype=dtype)
    X_test = np.ascontiguousarray(scaler.transform(X_test), dtype=dtype)
    return X_train, X_test, y_train, y_test


def dense_binary(n_samples, dtype=np.float64):
    """D1: 100 features, 20 informative, 10 redundant, 5% label noise."""
    X, y = make_classification(
        n_samples, 100, n_informative=20, n_redundant=10, flip_y=0.05, class_sep=0.8,
        random_state=1,
    )  # fmt: skip
    return _split_dense(X, y, 1, dtype)


def dense_multiclass(n_samples):
    """D2: 50 features, 10 classes."""
    X, y = make_classification(
        n_samples, 50, n_informative=25, n_redundant=5, n_classes=10, flip_y=0.02,
        random_state=2,
    )  # fmt: skip
    return _split_dense(X, y, 2)


def text_like(n_samples, n_features=2**18, tokens_per_row=58, vocabulary=2_000_000):
    """D3: CSR like hashed tf-idf text.

    Zipf(1.07) tokens from a large vocabulary hashed into ``n_features`` buckets, Poisson
    token counts per row, (1 + log tf) * idf, L2-normalized rows; labels drawn from a logistic
    teacher, so the problem is not separable.
    """
    rng = np.random.default_rng(3)
    lengths = rng.poisson(tokens_per_row, n_samples) + 1
    tokens = rng.zipf(1.07, lengths.sum())
    tokens = tokens % vocabulary
    columns = (tokens * 2654435761 % n_features).astype(np.int32)  # multiplicative hash
    rows = np.repeat(np.arange(n_samples), lengths)
    counts = sp.csr_matrix(
        (np.ones(rows.shape[0]), (rows, columns)), shape=(n_samples, n_features)
    )
    counts.sum_duplicates()
    document_frequency = np.bincount(counts.indices, minlength=n_features)
    idf = np.log((1 + n_samples) / (1 + document_frequency)) + 1
    counts.data = (1 + np.log(counts.data)) * idf[counts.indices]
    X = normalize(counts).astype(np.float64)
    teacher = rng.normal(size=n_features) * 3.0
    margin = X @ teacher
    y = (rng.random(n_samples) < 1 / (1 + np.exp(-(margin - np.median(margin))))).astype(int)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=3)
    return X_train.tocsr(), X_test.tocsr(), y_train, y_test


def load(name, quick=False):
    """Build dataset ``name`` (full size, or the small ``quick`` size)."""
    full, small, alpha = SIZES[name]
    n = small if quick else full
    if name == "D1":
        parts, what = dense_binary(n), f"dense {n:,} x 100, binary, float64"
    elif name == "D1f32":
        parts, what = dense_binary(n, np.float32), f"dense {n:,} x 100, binary, float32"
    elif name == "D2":
        parts, what = dense_multiclass(n), f"dense {n:,} x 50, 10 classes"
    elif name == "D3":
        n_features = 2**14 if quick else 2**18
        parts = text_like(n, n_features=n_features)
        nnz = parts[0].nnz / parts[0].shape[0]
        what = f"CSR {n:,} x {n_features:,}, {nnz:.0f} nnz/row, binary text-like"
    elif name == "D4bc":
        parts = _split_dense(*load_breast_cancer(return_X_y=True), 0)
        what = "breast_cancer 569 x 30"
    elif name == "D4dig":
        parts = _split_dense(*load_digits(return_X_y=True), 0)
        what = "digits 1,797 x 64, 10 classes"
    else:
        raise ValueError(f"unknown dataset {name!r}")
    X_train, X_test, y_train, y_test = parts
    return dict(
        name=name, what=what, alpha=alpha, X_train=X_train, X_test=X_test,
        y_train=np.asarray(y_train), y_test=np.asarray(y_test),
    )  # fmt: skip


def nbytes(X):
    """Bytes held by a dense array or a CSR matrix."""
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes
