"""
=====================================================
GridSearchCV against LogisticRegression in a Pipeline
=====================================================

:class:`~sgdlogit.SGDLogitClassifier` is a scikit-learn estimator: it goes in a
:class:`~sklearn.pipeline.Pipeline` after a :class:`~sklearn.preprocessing.StandardScaler`
and is tuned by :class:`~sklearn.model_selection.GridSearchCV` exactly like
:class:`~sklearn.linear_model.LogisticRegression`. This is what ``python -m sgdlogit``
does, here on the breast-cancer dataset.
"""

# %%
# Two pipelines, two grids
# ------------------------
# The grid of the SGD model holds the knobs of a training loop: the L2 strength ``alpha``
# and the batch size. LogisticRegression's ``C`` is the inverse regularization strength.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

sgd = GridSearchCV(
    make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0)),
    {
        "sgdlogitclassifier__alpha": np.logspace(-5, 0, 6),
        "sgdlogitclassifier__batch_size": [8, 32, 128],
    },
    cv=5,
    scoring="neg_log_loss",
)
lr = GridSearchCV(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    {"logisticregression__C": np.logspace(-2, 3, 6)},
    cv=5,
    scoring="neg_log_loss",
)
sgd.fit(X_train, y_train)
lr.fit(X_train, y_train)

# %%
# Side by side on the test split
# ------------------------------
rows = []
for name, search in [("SGDLogitClassifier", sgd), ("LogisticRegression", lr)]:
    rows.append(
        {
            "model": name,
            "best params": search.best_params_,
            "cv log-loss": -search.best_score_,
            "test accuracy": search.best_estimator_.score(X_test, y_test),
            "test log-loss": log_loss(y_test, search.predict_proba(X_test)),
        }
    )
pd.DataFrame(rows).set_index("model")

# %%
# One axis for both regularization paths
# --------------------------------------
# With ``n`` training samples, ``LogisticRegression(C)`` minimizes the same objective as
# ``SGDLogitClassifier(alpha=1 / (C * n))``. Plotting the CV log-loss of both searches
# against ``alpha`` puts the two regularization paths on the same axis (each fold trains
# on 4/5 of the training split).
n_fit = X_train.shape[0] * 4 / 5
sgd_results = pd.DataFrame(sgd.cv_results_)
lr_results = pd.DataFrame(lr.cv_results_)

fig, ax = plt.subplots(figsize=(6, 4))
for batch_size, group in sgd_results.groupby("param_sgdlogitclassifier__batch_size"):
    ax.plot(
        group["param_sgdlogitclassifier__alpha"].astype(float),
        -group["mean_test_score"],
        marker="o",
        label=f"SGDLogitClassifier, batch_size={batch_size}",
    )
ax.plot(
    1.0 / (lr_results["param_logisticregression__C"].astype(float) * n_fit),
    -lr_results["mean_test_score"],
    marker="s",
    color="black",
    linestyle="--",
    label="LogisticRegression, alpha = 1 / (C n)",
)
ax.set_xscale("log")
ax.set_xlabel("alpha")
ax.set_ylabel("CV log-loss")
ax.legend()
fig.tight_layout()

# %%
# With enough regularization the curves coincide: at a given ``alpha`` both models
# minimize the same objective and land on the same model, whatever the batch size, and
# strong regularization underfits both in the same way. With very little regularization
# they part: this dataset is almost separable, so LogisticRegression converges to very
# large weights and overconfident probabilities, while SGD stops once an epoch no longer
# improves the training loss by ``tol`` — stopping early regularizes too. Both searches
# pick an ``alpha`` in the region where the two models agree.
