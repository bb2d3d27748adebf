"""Plumbing between the epoch loop and scikit-learn's callback API (``sklearn.callback``).

scikit-learn 1.9 added callbacks: ``clf.set_callbacks(ProgressBar(), ScoringMonitor(...))``
registers objects whose hooks run at the beginning and the end of every task of a fit. A
call to ``fit`` or ``partial_fit`` is one task with one subtask per epoch, as
:class:`~sklearn.linear_model.LogisticRegression` has one subtask per L-BFGS iteration.

With older scikit-learn, :class:`CallbackSupportMixin` is an empty class and every hook of
:class:`FitTask` does nothing.
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9 has no callback API

    class CallbackSupportMixin:
        """Stand-in for ``sklearn.callback.CallbackSupportMixin`` (scikit-learn < 1.9)."""


__all__ = ["NO_TASK", "CallbackSupportMixin", "FitTask"]


class FitTask:
    """The callback context of one ``fit`` or ``partial_fit`` call.

    Creating it sets the callbacks up and calls their ``on_fit_task_begin`` hook for the
    whole call; :meth:`begin_epoch` and :meth:`end_epoch` wrap each epoch in a subtask and
    :meth:`end` closes the call. scikit-learn's ``_fit_context`` tears the callbacks down
    when the call returns or raises.

    Nothing is done (and nothing costs more than an attribute check) when the estimator
    has no callbacks and is not fitted inside a meta-estimator that propagates callbacks,
    or when scikit-learn has no callback API.

    Parameters
    ----------
    estimator : SGDLogitClassifier
        The estimator being fitted.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The validated data of the call, passed to the hooks (``ScoringMonitor`` scores on
        it).
    y : ndarray of shape (n_samples,)
        The labels of the call.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        The sample weights given by the user, passed to the hooks as metadata.
    task_name : str, default='fit'
        Name of the task (``'fit'`` or ``'partial_fit'``).
    max_epochs : int, default=1
        Most epochs (subtasks) the call can run.
    """

    def __init__(self, estimator, X, y, sample_weight=None, *, task_name="fit", max_epochs=1):
        self._ctx = None
        self._epoch_ctx = None
        if not hasattr(estimator, "_init_callback_context") or not (
            hasattr(estimator, "_skl_callbacks") or hasattr(estimator, "_parent_callback_ctx")
        ):
            return
        self._estimator = estimator
        self._data = {
            "X": X,
            "y": y,
            "metadata": None if sample_weight is None else {"sample_weight": sample_weight},
        }
        self._ctx = estimator._init_callback_context(task_name=task_name, max_subtasks=max_epochs)
        self._ctx.call_on_fit_task_begin(estimator=estimator, **self._data)

    def begin_epoch(self, state):
        """Open the subtask of the coming epoch.

        Parameters
        ----------
        state : TrainingState
            The model before the epoch (read only if a callback asks for a fitted
            estimator).
        """
        if self._ctx is None:
            return
        self._epoch_ctx = self._ctx.subcontext(task_name="epoch")
        self._epoch_ctx.call_on_fit_task_begin(
            estimator=self._estimator,
            reconstruction_attributes=lambda: _model_attributes(state),
            **self._data,
        )

    def end_epoch(self, state):
        """Close the subtask of the epoch just run.

        Parameters
        ----------
        state : TrainingState
            The model after the epoch.

        Returns
        -------
        stop : bool
            Whether a callback asked to stop training.
        """
        if self._ctx is None:
            return False
        return self._epoch_ctx.call_on_fit_task_end(
            estimator=self._estimator,
            reconstruction_attributes=lambda: _model_attributes(state),
            **self._data,
        )

    def end(self):
        """Close the task once the fitted attributes are stored."""
        if self._ctx is None:
            return
        self._ctx.call_on_fit_task_end(
            estimator=self._estimator, reconstruction_attributes={}, **self._data
        )


#: A task that does nothing, for code paths that run epochs without a callback context.
NO_TASK = FitTask(None, None, None)


def _model_attributes(state):
    """``coef_`` and ``intercept_`` of the current (averaged) model, as copies."""
    model = state.averaged_model()
    return {"coef_": model[:, :-1].copy(), "intercept_": model[:, -1].copy()}
