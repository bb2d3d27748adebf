"""
=====================================================
Batch size × learning rate × epochs, as a grid search
=====================================================

The notebook way to tune a training loop is three nested loops over batch size, learning
rate and number of epochs. With ``SGDLogitClassifier`` the three are parameters
(``batch_size``, ``eta0``, ``max_iter``), so a single
:class:`~sklearn.model_selection.GridSearchCV` runs the whole grid with cross-validation,
and its ``cv_results_`` become heat maps.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier

X, y = make_classification(
    n_samples=1200, n_features=20, n_informative=8, n_classes=3, random_state=0
)

batch_sizes = [1, 8, 32, 128]
learning_rates = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
epochs = [1, 5, 20]

model = make_pipeline(
    StandardScaler(),
    # a plain training loop: constant step, last iterate, exactly max_iter epochs
    SGDLogitClassifier(learning_rate="constant", average=False, tol=None, random_state=0),
)
search = GridSearchCV(
    model,
    {
        "sgdlogitclassifier__batch_size": batch_sizes,
        "sgdlogitclassifier__eta0": learning_rates,
        "sgdlogitclassifier__max_iter": epochs,
    },
    cv=3,
    # the log-loss sees what accuracy cannot: weights that are still far too small
    scoring="neg_log_loss",
)
search.fit(X, y)
print("best:", search.best_params_, f"log-loss {-search.best_score_:.3f}")

# %%
# One heat map per number of epochs
# ---------------------------------
results = pd.DataFrame(search.cv_results_).rename(
    columns=lambda c: c.removeprefix("param_sgdlogitclassifier__")
)
best, worst = -results["mean_test_score"].max(), np.log(3)
fig, axes = plt.subplots(1, len(epochs), figsize=(13, 3.8), sharey=True)
for ax, n_epochs in zip(axes, epochs, strict=True):
    table = -results[results["max_iter"] == n_epochs].pivot_table(
        index="batch_size", columns="eta0", values="mean_test_score"
    )
    # colors saturate at log(3), the log-loss of predicting 1/3 for every class
    image = ax.imshow(table.to_numpy(), cmap="viridis_r", vmin=best, vmax=worst)
    ax.set_xticks(range(len(learning_rates)), [f"{lr:g}" for lr in table.columns])
    ax.set_yticks(range(len(batch_sizes)), table.index)
    for (i, j), score in np.ndenumerate(table.to_numpy()):
        color = "white" if score > (best + worst) / 2 else "black"
        ax.text(j, i, f"{score:.2f}", ha="center", va="center", color=color, fontsize=8)
    ax.set_xlabel("learning rate (eta0)")
    ax.set_title(f"{n_epochs} epoch{'s' if n_epochs > 1 else ''}")
axes[0].set_ylabel("batch size")
fig.colorbar(image, ax=axes, label="CV log-loss")

# %%
# Reading the maps
# ----------------
# Accuracy alone would hide most of this: tiny weights already point in a good direction.
# The log-loss shows the whole picture. Small batches make many updates per epoch, so they
# need a smaller step or fewer epochs; large batches make few updates and need a larger
# step or more epochs, and the largest steps overshoot whatever the batch size. The good
# region runs along a diagonal: what matters first is the number of updates times the
# step. The default ``eta0='auto'`` takes the step from the curvature of the batch loss,
# which grows with the batch size along that diagonal (see :ref:`choosing`).
