"""sgdlogit: logistic regression trained by mini-batch SGD, as a scikit-learn estimator."""

from sgdlogit._classifier import SGDLogitClassifier

__version__ = "0.1.0"
__all__ = ["SGDLogitClassifier", "__version__"]
