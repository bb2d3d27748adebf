"""
===============================================================
Gradient check, and the same coefficients as LogisticRegression
===============================================================

Two checks from a from-scratch notebook, done on the fitted estimator.

1. **Gradient check.** One epoch of full-batch SGD with a constant step :math:`\\eta`
   moves the weights by :math:`-\\eta \\nabla J(w)`. Starting from chosen weights
   (``coef_init``), the gradient the compiled kernels used is therefore
   :math:`(w_0 - w_1) / \\eta`; it must match central finite differences of the objective
   written out in numpy.
2. **Same minimum.** With :math:`\\alpha = 1 / (C n)`, ``SGDLogitClassifier`` and
   ``LogisticRegression(C)`` minimize the same function, so a converged SGD fit lands on
   LogisticRegression's coefficients.
"""

# %%
# The objective, written out
# --------------------------
# .. math::
#
#     J(W) = \frac1n \sum_i \Big(\log \sum_k e^{x_i^T w_k} - x_i^T w_{y_i}\Big)
#            + \frac{\alpha}{2} \|W\|^2
#
# for :math:`K > 2` classes; for two classes, one weight vector and the binary log-loss
# :math:`\log(1 + e^{-s_i x_i^T w})` with :math:`s_i = \pm 1`.
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier


def objective(W, X, y, alpha):
    """Mean log-loss plus (alpha / 2) ||W||^2, no intercept; W has shape (K or 1, d)."""
    Z = X @ W.T
    if W.shape[0] == 1:
        signs = np.where(y == 1, -1.0, 1.0)
        loss = np.logaddexp(0.0, signs * Z[:, 0]).mean()
    else:
        loss = (logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]).mean()
    return loss + 0.5 * alpha * np.sum(W**2)


def finite_differences(W, X, y, alpha, h=1e-6):
    """Central differences of the objective, one coordinate at a time."""
    grad = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[index] = h
        grad[index] = (objective(W + step, X, y, alpha) - objective(W - step, X, y, alpha)) / (
            2 * h
        )
    return grad


def kernel_gradient(W, X, y, alpha, eta=1e-3):
    """The gradient one full-batch epoch of SGDLogitClassifier applied at W."""
    clf = SGDLogitClassifier(
        alpha=alpha,
        batch_size=X.shape[0],
        learning_rate="constant",
        eta0=eta,
        max_iter=1,
        tol=None,
        shuffle=False,
        average=False,
        fit_intercept=False,
    )
    clf.fit(X, y, coef_init=W)
    return (W - clf.coef_) / eta


# %%
# Gradient check, binary and multinomial
# --------------------------------------
rng = np.random.default_rng(0)
alpha = 0.01
for name, loader in [("breast_cancer (2 classes)", load_breast_cancer), ("wine (3)", load_wine)]:
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n_outputs = 1 if np.unique(y).shape[0] == 2 else np.unique(y).shape[0]
    W = rng.normal(scale=0.3, size=(n_outputs, X.shape[1]))
    numeric = finite_differences(W, X, y, alpha)
    compiled = kernel_gradient(W, X, y, alpha)
    error = np.linalg.norm(compiled - numeric) / np.linalg.norm(numeric)
    print(f"{name}: relative error {error:.1e}")

# %%
# The relative errors are those of finite differences themselves: the compiled gradient
# (log-loss and L2 term) is the gradient of the objective above.
#
# The same coefficients as LogisticRegression
# -------------------------------------------
X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
C = 1.0
alpha = 1.0 / (C * X.shape[0])
lr = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
sgd = SGDLogitClassifier(
    alpha=alpha, batch_size=32, average=False, max_iter=3000, tol=None, random_state=0
).fit(X, y)

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(lr.coef_.ravel(), sgd.coef_.ravel(), s=15, label="coefficients")
ax.scatter(lr.intercept_, sgd.intercept_, marker="x", color="tab:red", label="intercept")
limits = np.abs(lr.coef_).max() * 1.1
ax.plot([-limits, limits], [-limits, limits], color="gray", linestyle=":")
ax.set_xlabel("LogisticRegression(C=1)")
ax.set_ylabel("SGDLogitClassifier(alpha=1 / n)")
ax.legend()
fig.tight_layout()
print(f"largest coefficient difference: {np.abs(sgd.coef_ - lr.coef_).max():.4f}")
print(f"largest coefficient:            {np.abs(lr.coef_).max():.4f}")
