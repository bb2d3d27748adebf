"""verbose=1: one line per epoch with the epoch, losses, validation score, step and time."""

import re

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sgdlogit import SGDLogitClassifier

NUMBER = r"([-+0-9.eE]+|nan|inf)"
TRAIN_LINE = re.compile(rf"^Epoch (\d+), loss: {NUMBER}, step: {NUMBER}, elapsed: {NUMBER} s$")
VALIDATION_LINE = re.compile(
    rf"^Epoch (\d+), loss: {NUMBER}, validation loss: {NUMBER}, "
    rf"validation score: {NUMBER}, step: {NUMBER}, elapsed: {NUMBER} s$"
)


@pytest.fixture
def data():
    return make_classification(n_samples=300, n_features=6, random_state=0)


def epoch_lines(text):
    return [line for line in text.splitlines() if line.startswith("Epoch ")]


def test_silent_by_default(data, capsys):
    SGDLogitClassifier(random_state=0).fit(*data)
    assert capsys.readouterr().out == ""


def test_one_line_per_epoch(data, capsys):
    clf = SGDLogitClassifier(verbose=1, random_state=0).fit(*data)
    lines = epoch_lines(capsys.readouterr().out)
    assert len(lines) == clf.n_iter_
    elapsed = []
    for epoch, line in enumerate(lines, start=1):
        match = TRAIN_LINE.match(line)
        assert match, line
        assert int(match.group(1)) == epoch
        assert float(match.group(2)) == pytest.approx(clf.loss_curve_[epoch - 1], abs=1e-6)
        assert float(match.group(3)) > 0
        elapsed.append(float(match.group(4)))
    assert elapsed == sorted(elapsed)


@pytest.mark.parametrize("explicit_validation", [False, True])
def test_validation_loss_and_score_per_epoch(data, capsys, explicit_validation):
    X, y = data
    if explicit_validation:
        clf = SGDLogitClassifier(verbose=1, random_state=0)
        clf.fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    else:
        clf = SGDLogitClassifier(verbose=1, early_stopping=True, random_state=0).fit(X, y)
    lines = epoch_lines(capsys.readouterr().out)
    assert len(lines) == clf.n_iter_
    for epoch, line in enumerate(lines, start=1):
        match = VALIDATION_LINE.match(line)
        assert match, line
        val_loss, val_score = float(match.group(3)), float(match.group(4))
        assert val_loss == pytest.approx(clf.validation_loss_curve_[epoch - 1], abs=1e-6)
        assert val_score == pytest.approx(clf.validation_scores_[epoch - 1], abs=1e-4)


def test_step_follows_the_schedule(data, capsys):
    clf = SGDLogitClassifier(
        verbose=1, learning_rate="constant", eta0=0.05, max_iter=3, tol=None, random_state=0
    ).fit(*data)
    steps = [
        float(TRAIN_LINE.match(line).group(3)) for line in epoch_lines(capsys.readouterr().out)
    ]
    assert len(steps) == clf.n_iter_ == 3
    np.testing.assert_allclose(steps, 0.05)


def test_partial_fit_prints_its_epoch(data, capsys):
    X, y = data
    clf = SGDLogitClassifier(verbose=1, random_state=0)
    for chunk in np.array_split(np.arange(X.shape[0]), 3):
        clf.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
    lines = epoch_lines(capsys.readouterr().out)
    assert [int(TRAIN_LINE.match(line).group(1)) for line in lines] == [1, 2, 3]
