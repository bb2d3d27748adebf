"""Loss curves of a fitted model, following scikit-learn's ``*Display`` conventions.

matplotlib is imported only when a curve is drawn, so ``import sgdlogit`` does not need it.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

_INSTALL_HINT = (
    "LossCurveDisplay needs matplotlib; install it with `pip install matplotlib` or "
    "`pip install sgdlogit[plot]`."
)


class LossCurveDisplay:
    """Training and validation loss per epoch, and the validation score on a second axis.

    Build it with :meth:`from_estimator` from a fitted model, or directly from the curves
    and call :meth:`plot`. The curves of :class:`~sgdlogit.SGDLogitClassifier` are its
    ``loss_curve_`` (training objective: mean log-loss over the epoch plus the penalty),
    ``validation_loss_curve_`` (log-loss on the validation data) and
    ``validation_scores_`` (accuracy on the validation data); the last two exist when the
    model was fitted with ``early_stopping=True`` or with ``X_val`` and ``y_val``.

    Needs matplotlib (the ``plot`` extra: ``pip install sgdlogit[plot]``).

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss of each epoch.
    validation_loss_curve : array-like of shape (n_epochs,), default=None
        Validation loss of each epoch.
    validation_scores : array-like of shape (n_epochs,), default=None
        Validation score of each epoch.
    name : str, default=None
        Name of the model, used as the title of the legend.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the losses.
    score_ax_ : matplotlib Axes or None
        Second y axis (sharing ``ax_``'s x axis) of the validation scores, or None when
        they are not plotted.
    figure_ : matplotlib Figure
        Figure containing the axes.
    lines_ : list of matplotlib Line2D
        The plotted curves: training loss, then validation loss and validation score
        when plotted.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against the number of training
        samples.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sgdlogit import LossCurveDisplay, SGDLogitClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = SGDLogitClassifier(early_stopping=True, random_state=0).fit(X, y)
    >>> display = LossCurveDisplay.from_estimator(clf)
    >>> len(display.lines_)
    3
    """

    def __init__(
        self, *, loss_curve, validation_loss_curve=None, validation_scores=None, name=None
    ):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.name = name

    def plot(
        self,
        ax=None,
        *,
        name=None,
        show_score=True,
        train_kw=None,
        validation_kw=None,
        score_kw=None,
    ):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw the losses on; a new figure is created when None.
        name : str, default=None
            Title of the legend; defaults to the ``name`` given at construction.
        show_score : bool, default=True
            Draw the validation scores, when there are any, on a second y axis.
        train_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the training loss.
        validation_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the validation loss.
        score_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the validation
            score.

        Returns
        -------
        display : LossCurveDisplay
            This object, with ``ax_``, ``score_ax_``, ``figure_`` and ``lines_`` set.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc
        if ax is None:
            _, ax = plt.subplots()
        name = self.name if name is None else name

        train_kw = {"label": "training loss", **(train_kw or {})}
        lines = ax.plot(*_by_epoch(self.loss_curve), **train_kw)
        if _has_values(self.validation_loss_curve):
            validation_kw = {"label": "validation loss", **(validation_kw or {})}
            lines += ax.plot(*_by_epoch(self.validation_loss_curve), **validation_kw)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")

        score_ax = None
        if show_score and _has_values(self.validation_scores):
            score_ax = ax.twinx()
            score_kw = {
                "label": "validation score",
                "color": "tab:green",
                "linestyle": "--",
                **(score_kw or {}),
            }
            lines += score_ax.plot(*_by_epoch(self.validation_scores), **score_kw)
            score_ax.set_ylabel(score_kw["label"])
        # The legend goes on the top axes so that no curve hides it; with scores, the
        # middle right is usually free (losses fall to the bottom, scores rise to the top).
        legend_ax, loc = (ax, "best") if score_ax is None else (score_ax, "center right")
        legend_ax.legend(handles=lines, title=name, loc=loc)

        self.ax_ = ax
        self.score_ax_ = score_ax
        self.figure_ = ax.figure
        self.lines_ = lines
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        ax=None,  # positional too, as in the SPEC's from_estimator(clf, ax=None)
        *,
        name=None,
        show_score=True,
        train_kw=None,
        validation_kw=None,
        score_kw=None,
    ):
        """Plot the curves recorded by a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~sgdlogit.SGDLogitClassifier`, a fitted
            :class:`~sklearn.pipeline.Pipeline` ending with one, or any fitted estimator
            with a ``loss_curve_`` attribute (such as
            :class:`~sklearn.neural_network.MLPClassifier`).
        ax : matplotlib Axes, default=None
            Axes to draw the losses on; a new figure is created when None.
        name : str, default=None
            Title of the legend; defaults to the class name of the estimator.
        show_score : bool, default=True
            Draw the validation scores, when there are any, on a second y axis.
        train_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the training loss.
        validation_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the validation loss.
        score_kw : dict, default=None
            Keyword arguments of :meth:`matplotlib.axes.Axes.plot` for the validation
            score.

        Returns
        -------
        display : LossCurveDisplay
            The display, with the curves drawn.
        """
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc
        model = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        check_is_fitted(model)
        if not hasattr(model, "loss_curve_"):
            raise ValueError(
                f"{model.__class__.__name__} has no loss_curve_ attribute: LossCurveDisplay "
                "needs an estimator trained by epochs, such as SGDLogitClassifier."
            )
        display = cls(
            loss_curve=model.loss_curve_,
            validation_loss_curve=getattr(model, "validation_loss_curve_", None),
            validation_scores=getattr(model, "validation_scores_", None),
            name=model.__class__.__name__ if name is None else name,
        )
        return display.plot(
            ax,
            show_score=show_score,
            train_kw=train_kw,
            validation_kw=validation_kw,
            score_kw=score_kw,
        )


def _has_values(curve):
    return curve is not None and len(curve) > 0


def _by_epoch(curve):
    """Epoch numbers (from 1) and values of a curve."""
    values = np.asarray(curve, dtype=np.float64)
    return np.arange(1, values.shape[0] + 1), values
