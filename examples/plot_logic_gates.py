"""
===========================================================
Decision boundaries: AND, OR, XOR, moons, and a feature map
===========================================================

Logistic regression draws one straight line (a hyperplane) between two classes. Noisy
AND and OR gates are linearly separable; XOR is not, and no amount of training fixes
that. A feature map does: with the product :math:`x_1 x_2` as an extra feature
(:class:`~sklearn.preprocessing.PolynomialFeatures`), the boundary in the original plane
becomes a curve and XOR is solved. The same trick bends the boundary around
:func:`~sklearn.datasets.make_moons`.
"""

# %%
# Noisy logic-gate data
# ---------------------
# Each gate is 200 points around the four corners of the unit square, labelled by the
# gate's truth table.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from sgdlogit import SGDLogitClassifier

rng = np.random.default_rng(0)


def gate(truth_table, n_samples=200, noise=0.15):
    """Points around the corners (0|1, 0|1), labelled by ``truth_table(a, b)``."""
    corners = rng.integers(0, 2, size=(n_samples, 2))
    X = corners + rng.normal(scale=noise, size=(n_samples, 2))
    return X, truth_table(corners[:, 0], corners[:, 1]).astype(int)


datasets = {
    "AND": gate(np.logical_and),
    "OR": gate(np.logical_or),
    "XOR": gate(np.logical_xor),
    "moons": make_moons(n_samples=200, noise=0.2, random_state=0),
}

# %%
# Linear model, then with a feature map
# -------------------------------------
# Top row: the plain model. Bottom row: the same model after a degree-3 polynomial
# feature map (its degree-2 part holds :math:`x_1 x_2`, all XOR needs).
models = {
    "linear": make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0)),
    "polynomial features": make_pipeline(
        PolynomialFeatures(degree=3),
        StandardScaler(),
        SGDLogitClassifier(alpha=1e-3, random_state=0),
    ),
}
fig, axes = plt.subplots(2, 4, figsize=(14, 7), sharex="col", sharey="col")
for row, (model_name, model) in zip(axes, models.items(), strict=True):
    for ax, (data_name, (X, y)) in zip(row, datasets.items(), strict=True):
        model.fit(X, y)
        DecisionBoundaryDisplay.from_estimator(
            model, X, response_method="predict_proba", cmap="RdBu", alpha=0.6, ax=ax
        )
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolor="k", s=15)
        ax.set_title(f"{data_name}, {model_name}: {model.score(X, y):.2f}")
fig.tight_layout()

# %%
# Why XOR needs the feature map
# -----------------------------
# With a linear model the decision function is :math:`w_1 x_1 + w_2 x_2 + b`. XOR
# asks for a positive value at (0, 1) and (1, 0) and a negative one at (0, 0) and (1, 1):
# adding the first two conditions gives :math:`w_1 + w_2 + 2b > 0`, adding the last two
# gives :math:`w_1 + w_2 + 2b < 0`. No weights do both, so the best line gets at most
# three of the four corners right (75% of the points). With the extra feature
# :math:`x_1 x_2` and the weights :math:`w = (1, 1, -2)`, :math:`b = -\tfrac12`, all four
# corners are classified correctly: the problem has become linear in the new features.
X, y = datasets["XOR"]
for model_name, model in models.items():
    print(f"XOR, {model_name}: accuracy {model.fit(X, y).score(X, y):.2f}")
