"""
===================================================
Train and validation loss per epoch, early stopping
===================================================

With ``early_stopping=True``, ``SGDLogitClassifier`` holds out a stratified
``validation_fraction`` of the training data, records the validation loss and accuracy
every epoch, and stops when the validation loss has not improved by ``tol`` for
``n_iter_no_change`` epochs. :class:`~sgdlogit.LossCurveDisplay` draws the curves.

The problem below has more features than its 400 samples can pin down, so training for
too long overfits: the training loss keeps falling while the validation loss turns up.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sgdlogit import LossCurveDisplay, SGDLogitClassifier

X, y = make_classification(
    n_samples=400, n_features=200, n_informative=10, flip_y=0.1, random_state=0
)
X = StandardScaler().fit_transform(X)
settings = dict(
    alpha=1e-5,
    learning_rate="constant",
    eta0=0.01,
    average=False,
    validation_fraction=0.25,
    early_stopping=True,
    random_state=0,
)

# %%
# Without stopping, then with it
# ------------------------------
# ``tol=None`` runs all ``max_iter`` epochs and still records the validation curves; the
# second model stops after ``n_iter_no_change=10`` epochs without improvement.
full = SGDLogitClassifier(tol=None, max_iter=60, **settings).fit(X, y)
stopped = SGDLogitClassifier(n_iter_no_change=10, **settings).fit(X, y)

fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, clf, title in [(axes[0], full, "tol=None"), (axes[1], stopped, "early stopping")]:
    display = LossCurveDisplay.from_estimator(clf, ax=ax)
    best_epoch = int(np.argmin(clf.validation_loss_curve_)) + 1
    ax.axvline(best_epoch, color="gray", linestyle=":")
    ax.set_title(f"{title}: {clf.n_iter_} epochs, best at epoch {best_epoch} (dotted)")
fig.tight_layout()

# %%
# The stopped model is the one of its last epoch (as for
# :class:`~sklearn.linear_model.SGDClassifier`): ``n_iter_no_change`` epochs past the best
# one. Its validation loss is close to the best, far below the end of the 60-epoch run.
print(f"validation loss, 60 epochs:      {full.validation_loss_curve_[-1]:.3f}")
print(f"validation loss, early stopping: {stopped.validation_loss_curve_[-1]:.3f}")
print(f"best validation loss:            {min(full.validation_loss_curve_):.3f}")

# %%
# Explicit validation data
# ------------------------
# Like :class:`~sklearn.ensemble.HistGradientBoostingClassifier`, ``fit`` also takes the
# validation data itself (``X_val``, ``y_val``); the curves are recorded whether or not
# ``early_stopping`` is on.
X_train, X_val, y_train, y_val = X[:300], X[300:], y[:300], y[300:]
clf = SGDLogitClassifier(tol=None, max_iter=40, **{**settings, "early_stopping": False})
clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
display = LossCurveDisplay.from_estimator(clf, name="X_val, y_val")
