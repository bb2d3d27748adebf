"""Out-of-core training: partial_fit over chunks of a memmap file, CSV or Parquet reads."""

import pickle
import tracemalloc

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier

N_SAMPLES, N_FEATURES, CHUNK = 100_000, 20, 10_000


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=N_SAMPLES + 10_000,
        n_features=N_FEATURES,
        n_informative=10,
        n_classes=3,
        random_state=0,
    )
    X = X * np.linspace(1, 50, N_FEATURES)  # features on different scales
    return X[:N_SAMPLES], y[:N_SAMPLES], X[N_SAMPLES:], y[N_SAMPLES:]


@pytest.fixture(scope="module")
def memmap_files(data, tmp_path_factory):
    X, y, _, _ = data
    directory = tmp_path_factory.mktemp("memmap")
    np.save(directory / "X.npy", X)
    np.save(directory / "y.npy", y)
    return directory / "X.npy", directory / "y.npy"


def chunk_starts(n_samples, chunk, rng):
    """Chunk offsets in a new random order for every pass."""
    return rng.permutation(np.arange(0, n_samples, chunk))


def train_on_memmap(X_path, y_path, n_passes, chunk=CHUNK):
    """Scale by a first pass of StandardScaler.partial_fit, then n_passes of partial_fit."""
    X = np.load(X_path, mmap_mode="r")
    y = np.load(y_path, mmap_mode="r")
    scaler = StandardScaler()
    for start in range(0, X.shape[0], chunk):
        scaler.partial_fit(X[start : start + chunk])
    clf = SGDLogitClassifier(random_state=0)
    classes = np.arange(3)
    rng = np.random.default_rng(0)
    for _ in range(n_passes):
        for start in chunk_starts(X.shape[0], chunk, rng):
            rows = slice(start, start + chunk)
            clf.partial_fit(scaler.transform(X[rows]), y[rows], classes=classes)
    return scaler, clf


def test_memmap_training_memory_is_bounded_by_the_chunk(memmap_files):
    X_path, y_path = memmap_files
    chunk_bytes = CHUNK * N_FEATURES * 8
    assert X_path.stat().st_size >= 10 * chunk_bytes
    # load the compiled kernels first: numba's one-time import is not training memory
    SGDLogitClassifier().partial_fit(np.ones((4, N_FEATURES)), [0, 1, 2, 0], classes=[0, 1, 2])

    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        _, clf = train_on_memmap(X_path, y_path, n_passes=2)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    model_bytes = len(pickle.dumps(clf))
    # the scaled copy of the chunk, per-sample vectors, and once the rows sampled for the
    # initial step (at most 2,000)
    assert peak <= 2 * chunk_bytes + model_bytes, (peak, chunk_bytes, model_bytes)


def test_memmap_passes_reach_in_memory_accuracy(memmap_files, data):
    _, _, X_test, y_test = data
    X_train = np.load(memmap_files[0])
    y_train = np.load(memmap_files[1])
    scaler, clf = train_on_memmap(*memmap_files, n_passes=3)
    in_memory = SGDLogitClassifier(random_state=0).fit(scaler.transform(X_train), y_train)
    assert clf.n_iter_ == 3 * N_SAMPLES // CHUNK
    accuracy = clf.score(scaler.transform(X_test), y_test)
    assert accuracy >= in_memory.score(scaler.transform(X_test), y_test) - 0.01


def test_float32_memmap_chunks_are_not_copied(tmp_path, data):
    X, y, _, _ = data
    X32 = np.lib.format.open_memmap(
        tmp_path / "X32.npy", mode="w+", dtype=np.float32, shape=X.shape
    )
    X32[:] = X / X.std(axis=0)
    X32.flush()
    X32 = np.load(tmp_path / "X32.npy", mmap_mode="r")
    clf = SGDLogitClassifier(random_state=0)
    clf.partial_fit(X32[:CHUNK], y[:CHUNK], classes=np.arange(3))
    tracemalloc.start()
    try:
        for start in range(CHUNK, X.shape[0], CHUNK):
            clf.partial_fit(X32[start : start + CHUNK], y[start : start + CHUNK])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert clf.coef_.dtype == np.float32
    # read-only float32 C-ordered slices go to the kernels as they are: no chunk copy,
    # only per-sample vectors (weights, class indices, the shuffled order)
    assert peak < CHUNK * N_FEATURES * 4


def test_chunked_csv_reads_equal_in_memory_chunks(tmp_path, data):
    pd = pytest.importorskip("pandas")
    X, y, _, _ = data
    X, y = X[:12_000], y[:12_000]
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(N_FEATURES)]).assign(label=y)
    frame.to_csv(tmp_path / "data.csv", index=False, float_format="%.17g")

    streamed = SGDLogitClassifier(random_state=0)
    for _ in range(2):
        for part in pd.read_csv(tmp_path / "data.csv", chunksize=CHUNK):
            streamed.partial_fit(part.drop(columns="label"), part["label"], classes=[0, 1, 2])
    in_memory = SGDLogitClassifier(random_state=0)
    for _ in range(2):
        for start in range(0, X.shape[0], CHUNK):
            rows = slice(start, start + CHUNK)
            in_memory.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    np.testing.assert_array_equal(streamed.coef_, in_memory.coef_)
    np.testing.assert_array_equal(streamed.feature_names_in_, frame.columns[:-1])


def test_parquet_record_batches(tmp_path, data):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    X, y, _, _ = data
    X, y = X[:12_000], y[:12_000]
    table = pa.table({**{f"x{j}": X[:, j] for j in range(N_FEATURES)}, "label": y})
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=CHUNK)

    streamed = SGDLogitClassifier(random_state=0)
    for batch in pq.ParquetFile(tmp_path / "data.parquet").iter_batches(batch_size=CHUNK):
        frame = batch.to_pandas()
        streamed.partial_fit(
            frame.drop(columns="label").to_numpy(), frame["label"], classes=[0, 1, 2]
        )
    in_memory = SGDLogitClassifier(random_state=0)
    for start in range(0, X.shape[0], CHUNK):
        in_memory.partial_fit(
            X[start : start + CHUNK], y[start : start + CHUNK], classes=[0, 1, 2]
        )
    np.testing.assert_array_equal(streamed.coef_, in_memory.coef_)
