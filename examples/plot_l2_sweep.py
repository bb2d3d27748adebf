"""
=========================================================
L2 lambda sweep: validation log-loss and coefficient norm
=========================================================

``alpha`` is the L2 "lambda" of a training loop that adds :math:`\\tfrac12 \\lambda \\|w\\|^2`
to the mean loss. Sweeping it on a problem with more features than the data can support
shows the usual picture in the validation log-loss: too little regularization overfits,
too much underfits, and the norm of the coefficients shrinks as ``alpha`` grows.
Accuracy is a blunter measure of it: a large ``alpha`` shrinks all the weights together,
and the predicted classes follow the weights' signs, not their size, while the log-loss
also sees the probabilities flatten towards one half.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split, validation_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier

X, y = make_classification(
    n_samples=300, n_features=100, n_informative=10, flip_y=0.05, random_state=0
)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0)
alphas = np.logspace(-5, 2, 15)
model = make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0))

# %%
# Validation log-loss: one call
# -----------------------------
# :func:`~sklearn.model_selection.validation_curve` fits the pipeline for every ``alpha``
# on 5 folds of the training data; scikit-learn scores are "higher is better", so the
# log-loss comes negated.
train_scores, val_scores = validation_curve(
    model,
    X_train,
    y_train,
    param_name="sgdlogitclassifier__alpha",
    param_range=alphas,
    cv=5,
    scoring="neg_log_loss",
)

# %%
# Coefficient norm, held-out log-loss and accuracy
# ------------------------------------------------
norms, held_out, accuracy = [], [], []
for alpha in alphas:
    model.set_params(sgdlogitclassifier__alpha=alpha).fit(X_train, y_train)
    norms.append(np.linalg.norm(model[-1].coef_))
    held_out.append(log_loss(y_val, model.predict_proba(X_val)))
    accuracy.append(model.score(X_val, y_val))

fig, (ax_score, ax_norm) = plt.subplots(1, 2, figsize=(11, 4))
ax_score.semilogx(alphas, -train_scores.mean(axis=1), marker="o", label="training (CV)")
ax_score.semilogx(alphas, -val_scores.mean(axis=1), marker="o", label="validation (CV)")
ax_score.semilogx(alphas, held_out, marker="s", linestyle="--", label="held-out split")
ax_score.set_xlabel("alpha (L2 lambda)")
ax_score.set_ylabel("log-loss")
ax_score.legend()
ax_norm.loglog(alphas, norms, marker="o", color="tab:purple")
ax_norm.set_xlabel("alpha (L2 lambda)")
ax_norm.set_ylabel("‖w‖₂")
fig.tight_layout()

best = np.argmax(val_scores.mean(axis=1))
print(f"best alpha by cross-validated log-loss: {alphas[best]:.2g}")
print(f"held-out accuracy at that alpha: {accuracy[best]:.3f}, at the largest: {accuracy[-1]:.3f}")

# %%
# The same sweep for ``LogisticRegression`` runs over ``C = 1 / (alpha * n_samples)``;
# see :ref:`mapping` in the user guide.
