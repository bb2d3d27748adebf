"""scikit-learn's callback API (sklearn >= 1.9): one task per fit, one subtask per epoch."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier
from sgdlogit._callbacks import NO_TASK, FitTask

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9: no callbacks")


class Recorder:
    """Records every hook call; optionally asks to stop after ``stop_after`` epochs."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name))

    def on_fit_task_begin(
        self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None
    ):
        self.events.append(("begin", context.task_name, context, X, y, metadata, fitted_estimator))

    def on_fit_task_end(
        self, estimator, context, *, X=None, y=None, metadata=None, fitted_estimator=None
    ):
        self.events.append(("end", context.task_name, context, X, y, metadata, fitted_estimator))
        return (
            self.stop_after is not None
            and context.task_name == "epoch"
            and context.task_id + 1 >= self.stop_after
        )

    def calls(self, kind, task_name):
        return [e for e in self.events if e[0] == kind and e[1] == task_name]


class PropagatedRecorder(Recorder):
    """The same, propagated by meta-estimators to their sub-estimators."""

    max_propagation_depth = None


@pytest.fixture
def data():
    return make_classification(n_samples=300, n_features=6, random_state=0)


def test_one_subtask_per_epoch(data):
    X, y = data
    recorder = Recorder()
    clf = SGDLogitClassifier(max_iter=50, random_state=0).set_callbacks(recorder)
    clf.fit(X, y)
    names = [e[:2] for e in recorder.events]
    assert names[:2] == [("setup", "fit"), ("begin", "fit")]
    assert names[-2:] == [("end", "fit"), ("teardown", "fit")]
    begins, ends = recorder.calls("begin", "epoch"), recorder.calls("end", "epoch")
    assert len(begins) == len(ends) == clf.n_iter_
    root = recorder.calls("begin", "fit")[0][2]
    assert root.max_subtasks == 50
    assert [e[2].task_id for e in ends] == list(range(clf.n_iter_))
    assert all(e[2].parent is root and e[2].max_subtasks == 0 for e in ends)
    # every epoch is closed before the next one opens
    epoch_events = [e[0] for e in recorder.events if e[1] == "epoch"]
    assert epoch_events == ["begin", "end"] * clf.n_iter_
    assert not hasattr(clf, "_callback_fit_ctx")


def test_hooks_see_data_and_a_fitted_model_per_epoch(data):
    X, y = data
    weights = np.linspace(0.5, 1.5, X.shape[0])
    recorder = Recorder()
    clf = SGDLogitClassifier(random_state=0).set_callbacks(recorder)
    clf.fit(X, y, sample_weight=weights)
    first_begin = recorder.calls("begin", "epoch")[0]
    _, _, _, X_hook, y_hook, metadata, model = first_begin
    np.testing.assert_array_equal(X_hook, X)
    np.testing.assert_array_equal(y_hook, y)
    np.testing.assert_array_equal(metadata["sample_weight"], weights)
    np.testing.assert_array_equal(model.coef_, 0.0)
    ends = recorder.calls("end", "epoch")
    first_model, last_model = ends[0][-1], ends[-1][-1]
    np.testing.assert_array_equal(last_model.coef_, clf.coef_)
    np.testing.assert_array_equal(last_model.intercept_, clf.intercept_)
    # each epoch's model is a snapshot, not a view of the weights under training
    assert not np.array_equal(first_model.coef_, clf.coef_)
    assert first_model.score(X, y) > 0.5


def test_a_callback_can_stop_training(data):
    clf = SGDLogitClassifier(max_iter=100, tol=None, random_state=0)
    clf.set_callbacks(Recorder(stop_after=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(*data)
    assert clf.n_iter_ == 3
    assert len(clf.loss_curve_) == 3


def test_partial_fit_is_a_task_of_one_epoch(data):
    X, y = data
    recorder = Recorder()
    clf = SGDLogitClassifier(random_state=0).set_callbacks(recorder)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    roots = recorder.calls("begin", "partial_fit")
    assert len(roots) == 3
    assert all(e[2].max_subtasks == 1 for e in roots)
    assert len(recorder.calls("end", "epoch")) == 3
    assert len(recorder.calls("teardown", "partial_fit")) == 3


def test_no_callbacks_no_context(data):
    X, y = data
    clf = SGDLogitClassifier(random_state=0)
    assert FitTask(clf, X, y)._ctx is None
    assert NO_TASK.end_epoch(None) is False
    clf.fit(X, y)
    assert not hasattr(clf, "_callback_fit_ctx")


def test_propagated_from_a_pipeline(data):
    recorder = PropagatedRecorder()
    pipe = make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0))
    pipe.set_callbacks(recorder).fit(*data)
    ends = recorder.calls("end", "epoch")
    assert len(ends) == pipe[-1].n_iter_
    assert ends[0][2].estimator_name == "SGDLogitClassifier"
    assert not hasattr(pipe[-1], "_skl_callbacks")


def test_callbacks_survive_clone_and_pickle(data):
    recorder = Recorder()
    clf = SGDLogitClassifier(random_state=0).set_callbacks(recorder)
    clone(clf).fit(*data)
    assert recorder.calls("end", "fit")
    clf.set_callbacks()
    restored = pickle.loads(pickle.dumps(clf.fit(*data)))
    np.testing.assert_array_equal(restored.coef_, clf.coef_)


def test_scoring_monitor_logs_every_epoch(data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring=["accuracy", "neg_log_loss"])
    clf = SGDLogitClassifier(random_state=0).set_callbacks(monitor).fit(X, y)
    log = monitor.get_logs().data_as_pandas
    epochs = log[log["task_name"] == "epoch"]
    assert len(epochs) == clf.n_iter_
    assert epochs["task_id"].tolist() == list(range(clf.n_iter_))
    assert epochs["accuracy"].between(0, 1).all()
    assert epochs["accuracy"].iloc[-1] == pytest.approx(clf.score(X, y))
    assert epochs["neg_log_loss"].iloc[-1] > epochs["neg_log_loss"].iloc[0]


def test_scoring_monitor_with_sample_weight_and_partial_fit(data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = SGDLogitClassifier(random_state=0).set_callbacks(monitor)
    clf.partial_fit(X, y, classes=[0, 1], sample_weight=np.ones(X.shape[0]))
    clf.partial_fit(X, y)
    assert len(monitor.get_logs(select="all")) == 2


def test_progress_bar(data, capsys):
    pytest.importorskip("rich")
    clf = SGDLogitClassifier(max_iter=20, tol=None, random_state=0)
    clf.set_callbacks(callback.ProgressBar()).fit(*data)
    assert clf.n_iter_ == 20
    assert "SGDLogitClassifier - fit" in capsys.readouterr().out
