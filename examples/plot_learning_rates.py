"""
======================================================
Learning rates: too small, right, too large, diverging
======================================================

The learning rate is the first knob of a training loop. This example trains the same model
with a constant step ``eta0`` over four orders of magnitude and draws the training loss
per epoch, as one would in a notebook, then shows what ``SGDLogitClassifier`` does when
the weights blow up: it raises an error naming the epoch instead of returning NaN
coefficients.

All fits use ``learning_rate='constant'`` and heavy-ball ``momentum=0.9`` (the setting of
many PyTorch/Keras loops), return the last iterate rather than an average of the iterates
(``average=False``, as a hand-written loop does) and run a fixed number of epochs
(``tol=None``).
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sgdlogit import LossCurveDisplay, SGDLogitClassifier

X, y = make_classification(n_samples=1000, n_features=20, n_informative=5, random_state=0)
X = StandardScaler().fit_transform(X)


def model(eta0):
    """The same training loop, with step ``eta0``."""
    return SGDLogitClassifier(
        learning_rate="constant",
        eta0=eta0,
        momentum=0.9,
        average=False,
        alpha=1e-2,
        batch_size=32,
        max_iter=30,
        tol=None,
        random_state=0,
    )


# %%
# Too small, right, too large
# ---------------------------
# A step that is too small makes steady but slow progress; the right one reaches the
# bottom in a few epochs; one that is too large bounces around at a high loss.
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), sharey=True)
for ax, (verdict, eta0) in zip(
    axes, [("too small", 1e-4), ("right", 1e-2), ("too large", 1.0)], strict=True
):
    clf = model(eta0).fit(X, y)
    LossCurveDisplay.from_estimator(clf, ax=ax, name=f"eta0={eta0:g}")
    ax.set_title(f"{verdict}: accuracy {clf.score(X, y):.3f}")
fig.tight_layout()

# %%
# Diverging
# ---------
# With a step a thousand times too large, momentum amplifies the updates until the
# weights overflow. The fit stops with a :class:`ValueError` that names the epoch and
# suggests a fix, so a diverged model can never be used by mistake.
try:
    model(1e3).fit(X, y)
except ValueError as error:
    print(error)

# %%
# The default needs no tuning
# ---------------------------
# With the defaults (``learning_rate='auto'``, ``eta0='auto'``), the initial step is
# estimated from the curvature of the mini-batch loss, and decays once the L2 term
# dominates. See :ref:`schedules` in the user guide for the formulas.
clf = SGDLogitClassifier(random_state=0).fit(X, y)
display = LossCurveDisplay.from_estimator(clf, name="defaults")
display.ax_.set_title(f"{clf.n_iter_} epochs, accuracy {clf.score(X, y):.3f}")
