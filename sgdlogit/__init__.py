"""sgdlogit: logistic regression trained by mini-batch SGD, as a scikit-learn estimator."""

from sgdlogit._classifier import SGDLogitClassifier
from sgdlogit._display import LossCurveDisplay

__version__ = "0.1.0"
__all__ = ["LossCurveDisplay", "SGDLogitClassifier", "__version__"]
