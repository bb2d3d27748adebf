"""
=====================================================
Out-of-core training on a memory-mapped file
=====================================================

A NumPy file opened with ``mmap_mode="r"`` is not read into memory: slicing it gives a
view whose pages the operating system reads from disk on demand, and can drop again.
Training with ``partial_fit`` over slices of such a file keeps the memory the program
allocates bounded by the size of a slice, whatever the size of the file. This example
writes a file 20 times larger than a chunk, trains several passes over it, and measures
the peak memory allocated while training with :mod:`tracemalloc`.
"""

# %%
# A data set on disk
# ------------------
# ``np.lib.format.open_memmap`` writes a ``.npy`` file block by block, so the full array
# never needs to be in memory (here it is generated in one go for brevity). Storing
# float32 features makes every slice a valid input as it is: ``partial_fit`` keeps float32
# end to end and does not copy a C-ordered slice.
import tempfile
import tracemalloc
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss

from sgdlogit import SGDLogitClassifier

n_samples, n_features, chunk = 200_000, 20, 10_000
X, y = make_classification(
    n_samples=n_samples + 20_000, n_features=n_features, n_informative=10, random_state=0
)
X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
X_test, y_test = X[n_samples:], y[n_samples:]

directory = tempfile.TemporaryDirectory()
X_path, y_path = Path(directory.name) / "X.npy", Path(directory.name) / "y.npy"
X_file = np.lib.format.open_memmap(
    X_path, mode="w+", dtype=np.float32, shape=(n_samples, n_features)
)
for start in range(0, n_samples, chunk):
    X_file[start : start + chunk] = X[start : start + chunk]
X_file.flush()
del X_file
np.save(y_path, y[:n_samples])
chunk_bytes = chunk * n_features * 4
print(f"file: {X_path.stat().st_size / 1e6:.1f} MB, chunk: {chunk_bytes / 1e6:.2f} MB")

# %%
# Passes over the file
# --------------------
# Each pass visits the chunks in a new random order (``partial_fit`` shuffles the rows
# within a chunk). The first call loads the compiled kernels, a one-time cost that is not
# counted as training memory: a tiny warm-up fit takes care of it before measuring.
X_disk = np.load(X_path, mmap_mode="r")
y_disk = np.load(y_path, mmap_mode="r")
SGDLogitClassifier().partial_fit(X_test[:4], [0, 1, 0, 1], classes=[0, 1])

clf = SGDLogitClassifier(random_state=0)
rng = np.random.default_rng(0)
test_loss, peaks = [], []
tracemalloc.start()
for _ in range(3):
    peak = 0
    for start in rng.permutation(np.arange(0, n_samples, chunk)):
        rows = slice(start, start + chunk)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        clf.partial_fit(X_disk[rows], y_disk[rows], classes=[0, 1])
        peak = max(peak, tracemalloc.get_traced_memory()[1] - before)
        test_loss.append(log_loss(y_test, clf.predict_proba(X_test)))
    peaks.append(peak)
tracemalloc.stop()

in_memory = SGDLogitClassifier(random_state=0).fit(X[:n_samples], y[:n_samples])
print(
    "peak memory allocated by partial_fit, per pass:",
    ", ".join(f"{peak / 1e6:.2f} MB" for peak in peaks),
)
print(
    f"test accuracy: partial_fit {clf.score(X_test, y_test):.4f}, "
    f"fit in memory {in_memory.score(X_test, y_test):.4f}"
)

# %%
# The first call also samples up to 2,000 rows to estimate the initial step, which is
# why the first pass peaks higher; later passes allocate only per-sample vectors (the
# shuffled order, the weights, the class indices), a fraction of a chunk. Features stored
# in another dtype, or transformed per chunk (e.g. by a ``StandardScaler`` fitted with its
# own ``partial_fit``), add one copy of the chunk.
fig, (ax_loss, ax_memory) = plt.subplots(1, 2, figsize=(9, 3.5))
ax_loss.plot(np.arange(1, len(test_loss) + 1), test_loss, marker=".", label="partial_fit")
in_memory_loss = log_loss(y_test, in_memory.predict_proba(X_test))
ax_loss.axhline(in_memory_loss, color="black", linestyle="--", label="fit in memory")
ax_loss.set_xlabel(f"chunks seen ({n_samples // chunk} per pass)")
ax_loss.set_ylabel("test log-loss")
ax_loss.legend()
ax_memory.bar([f"pass {i + 1}" for i in range(len(peaks))], np.array(peaks) / 1e6)
ax_memory.axhline(chunk_bytes / 1e6, color="black", linestyle="--", label="one chunk")
ax_memory.set_ylabel("peak memory allocated (MB)")
ax_memory.set_title(f"file: {X_path.stat().st_size / 1e6:.0f} MB", fontsize="medium")
ax_memory.legend()
fig.tight_layout()
del X_disk, y_disk
directory.cleanup()
