"""
=====================================================
Out-of-core training: partial_fit over chunks on disk
=====================================================

When the data does not fit in memory, read it in chunks and call ``partial_fit`` on each:
every call runs one pass of mini-batch SGD over its chunk, and the model, the step-size
schedule and the optimizer state carry over between calls. This example writes a dataset
to disk as CSV chunks, then streams it several times, scaling the features with a
:class:`~sklearn.preprocessing.StandardScaler` that is itself fitted by ``partial_fit``.
"""

# %%
# A dataset in chunks on disk
# ---------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier

X, y = make_classification(
    n_samples=24_000, n_features=20, n_informative=10, n_classes=3, random_state=0
)
X = X * np.linspace(1, 100, 20)  # features on very different scales
X_test, y_test = X[-4000:], y[-4000:]
directory = tempfile.TemporaryDirectory()
for i, rows in enumerate(np.array_split(np.arange(20_000), 10)):
    frame = pd.DataFrame(X[rows], columns=[f"x{j}" for j in range(20)])
    frame.assign(label=y[rows]).to_csv(Path(directory.name) / f"chunk_{i}.csv", index=False)
files = sorted(Path(directory.name).glob("chunk_*.csv"))
print(f"{len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB")


def chunks():
    """Yield (X, y) one file at a time."""
    for path in files:
        frame = pd.read_csv(path)
        yield frame.drop(columns="label").to_numpy(), frame["label"].to_numpy()


# %%
# Stream the chunks
# -----------------
# A first pass fits the scaler; each later pass trains on every chunk in turn. The first
# ``partial_fit`` call needs every class of the problem.
scaler = StandardScaler()
for X_chunk, _ in chunks():
    scaler.partial_fit(X_chunk)

clf = SGDLogitClassifier(random_state=0)
classes = np.unique(y)
accuracy = []
for _ in range(3):
    for X_chunk, y_chunk in chunks():
        clf.partial_fit(scaler.transform(X_chunk), y_chunk, classes=classes)
        accuracy.append(clf.score(scaler.transform(X_test), y_test))
directory.cleanup()

# %%
# Against a fit in memory
# -----------------------
full = SGDLogitClassifier(random_state=0).fit(scaler.transform(X[:20_000]), y[:20_000])
full_accuracy = full.score(scaler.transform(X_test), y_test)

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(np.arange(1, len(accuracy) + 1), accuracy, marker=".", label="partial_fit")
ax.axhline(full_accuracy, color="black", linestyle="--", label="fit in memory")
for n_pass in range(1, 3):
    ax.axvline(10 * n_pass + 0.5, color="gray", linestyle=":")
ax.set_xlabel("chunks seen (10 per pass)")
ax.set_ylabel("test accuracy")
ax.legend()
fig.tight_layout()
print(f"partial_fit: {accuracy[-1]:.3f}, fit: {full_accuracy:.3f}, updates: {clf.t_}")

# %%
# ``n_iter_`` counts the ``partial_fit`` calls and ``loss_curve_`` has one entry per call.
# :class:`dask_ml.wrappers.Incremental` drives the same ``partial_fit`` loop over the
# blocks of a Dask array.
