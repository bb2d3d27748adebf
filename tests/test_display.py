"""LossCurveDisplay: curves drawn from fitted models, sklearn Display conventions."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import LossCurveDisplay, SGDLogitClassifier

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def data():
    return make_classification(n_samples=200, n_features=5, random_state=0)


def test_training_curve_only(data):
    clf = SGDLogitClassifier(random_state=0).fit(*data)
    display = LossCurveDisplay.from_estimator(clf)
    assert len(display.lines_) == 1
    assert display.score_ax_ is None
    line = display.lines_[0]
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, clf.n_iter_ + 1))
    np.testing.assert_allclose(line.get_ydata(), clf.loss_curve_)
    assert line.get_label() == "training loss"
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "loss"
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_legend().get_title().get_text() == "SGDLogitClassifier"


def test_validation_curves_and_score_axis(data):
    clf = SGDLogitClassifier(early_stopping=True, random_state=0).fit(*data)
    display = LossCurveDisplay.from_estimator(clf)
    _, validation, score = display.lines_
    np.testing.assert_allclose(validation.get_ydata(), clf.validation_loss_curve_)
    np.testing.assert_allclose(score.get_ydata(), clf.validation_scores_)
    assert validation.axes is display.ax_
    assert score.axes is display.score_ax_
    assert display.score_ax_ is not display.ax_
    assert display.score_ax_.get_ylabel() == "validation score"
    legend_labels = [text.get_text() for text in display.score_ax_.get_legend().get_texts()]
    assert legend_labels == ["training loss", "validation loss", "validation score"]


def test_explicit_validation_data_and_show_score(data):
    X, y = data
    clf = SGDLogitClassifier(random_state=0).fit(X[:150], y[:150], X_val=X[150:], y_val=y[150:])
    display = LossCurveDisplay.from_estimator(clf, show_score=False)
    assert len(display.lines_) == 2
    assert display.score_ax_ is None


def test_pipeline_ax_name_and_line_keywords(data):
    model = make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0)).fit(*data)
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(
        model, ax=ax, name="scaled", train_kw={"color": "black", "label": "train"}
    )
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert display.lines_[0].get_color() == "black"
    assert display.lines_[0].get_label() == "train"
    assert ax.get_legend().get_title().get_text() == "scaled"


def test_ax_may_be_passed_by_position(data):
    # the SPEC's signature: from_estimator(clf, ax=None); the other options are keywords
    clf = SGDLogitClassifier(random_state=0).fit(*data)
    _, ax = plt.subplots()
    assert LossCurveDisplay.from_estimator(clf, ax).ax_ is ax
    with pytest.raises(TypeError):
        LossCurveDisplay.from_estimator(clf, ax, "name")


def test_direct_construction_and_replot():
    display = LossCurveDisplay(
        loss_curve=[0.7, 0.5, 0.4], validation_loss_curve=[0.8, 0.6, 0.5], name="manual"
    )
    first = display.plot()
    assert first is display
    assert len(display.lines_) == 2
    _, ax = plt.subplots()
    display.plot(ax=ax, name="again")
    assert display.ax_ is ax
    assert ax.get_legend().get_title().get_text() == "again"


def test_unfitted_estimator_raises():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(SGDLogitClassifier())


def test_estimator_without_loss_curve_raises(data):
    lr = LogisticRegression().fit(*data)
    with pytest.raises(ValueError, match="no loss_curve_ attribute"):
        LossCurveDisplay.from_estimator(lr)


def test_missing_matplotlib_gives_install_hint(data, monkeypatch):
    clf = SGDLogitClassifier(random_state=0).fit(*data)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"sgdlogit\[plot\]"):
        LossCurveDisplay.from_estimator(clf)
    with pytest.raises(ImportError, match=r"sgdlogit\[plot\]"):
        LossCurveDisplay(loss_curve=clf.loss_curve_).plot()


def test_import_does_not_load_matplotlib():
    code = "import sys, sgdlogit; assert 'matplotlib' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
