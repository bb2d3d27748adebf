"""
===========================================
Thresholds, confusion matrix and ROC curves
===========================================

``SGDLogitClassifier`` has ``predict_proba`` and ``decision_function``, so every
scikit-learn display and threshold tool works with it: here
:class:`~sklearn.metrics.RocCurveDisplay`, :class:`~sklearn.metrics.PrecisionRecallDisplay`
and :class:`~sklearn.metrics.ConfusionMatrixDisplay`, and
:class:`~sklearn.model_selection.TunedThresholdClassifierCV` to move the decision
threshold away from 0.5 when the two kinds of errors do not cost the same.

The data is imbalanced, as in fraud or disease screening: one sample in ten is positive.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    fbeta_score,
    make_scorer,
    recall_score,
)
from sklearn.model_selection import TunedThresholdClassifierCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier

X, y = make_classification(
    n_samples=3000, n_features=10, n_informative=4, weights=[0.9], class_sep=1.0,
    random_state=0,
)  # fmt: skip
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
sgd = make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0)).fit(X_train, y_train)
lr = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)

# %%
# ROC and precision-recall curves
# -------------------------------
# The two models rank the test samples almost identically.
fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(11, 4.5))
for name, model in [("SGDLogitClassifier", sgd), ("LogisticRegression", lr)]:
    RocCurveDisplay.from_estimator(model, X_test, y_test, name=name, ax=ax_roc)
    PrecisionRecallDisplay.from_estimator(model, X_test, y_test, name=name, ax=ax_pr)
ax_roc.set_title("ROC")
ax_pr.set_title("precision-recall")
fig.tight_layout()

# %%
# Moving the threshold
# --------------------
# Suppose a missed positive costs more than a false alarm. The default threshold of 0.5
# on ``predict_proba`` misses many positives of a rare class. Rather than keeping it,
# tune the threshold by cross-validation to maximize a score that weighs the errors as the
# application does; here the F2 score, which weighs recall twice as much as precision.
tuned = TunedThresholdClassifierCV(
    sgd, scoring=make_scorer(fbeta_score, beta=2), cv=5, random_state=0
).fit(X_train, y_train)
print(f"tuned threshold: {tuned.best_threshold_:.2f}")

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
models = [("threshold 0.5", sgd), (f"threshold {tuned.best_threshold_:.2f}", tuned)]
for ax, (name, model) in zip(axes, models, strict=True):
    ConfusionMatrixDisplay.from_estimator(model, X_test, y_test, ax=ax, colorbar=False)
    ax.set_title(f"{name}: recall {recall_score(y_test, model.predict(X_test)):.2f}")
fig.tight_layout()

# %%
# The tuned model catches more of the positives, at the price of more false alarms.
# ``TunedThresholdClassifierCV`` refits the pipeline on the whole training set and keeps
# the threshold, so it can be used, pickled and deployed like any classifier.
