"""Scale-out on Dask: Incremental, the joblib dask backend and sgdlogit.dask.fit.

The tests share one real ``distributed.LocalCluster`` (2 worker processes, one thread each,
on loopback), started once for the module and shut down at its end.
"""

import copy
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.utils.class_weight import compute_sample_weight

from sgdlogit import SGDLogitClassifier
from sgdlogit._objective import mean_log_loss, penalty_value

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
pytest.importorskip("dask_ml")
sgd_dask = pytest.importorskip("sgdlogit.dask")

from dask_ml.wrappers import Incremental  # noqa: E402
from joblib import parallel_backend  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def objective(clf, X, y):
    """Exact objective: mean log-loss plus alpha R(w), as in sgdlogit._objective."""
    y_index = np.searchsorted(clf.classes_, y)
    loss = mean_log_loss(clf.decision_function(X), y_index)
    return loss + penalty_value(clf.coef_, clf.penalty, clf.alpha, clf.l1_ratio)


def make_data(n_classes, n_samples=16_000, n_features=20, seed=0):
    return make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=10,
        n_classes=n_classes,
        random_state=seed,
    )


# ----------------------------------------------------------------------------- dask_ml


@pytest.mark.parametrize("n_classes", [2, 3])
def test_incremental_reaches_fit_accuracy(client, n_classes):
    X, y = make_data(n_classes)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    reference = SGDLogitClassifier(random_state=0).fit(X_train, y_train).score(X_test, y_test)

    incremental = Incremental(
        SGDLogitClassifier(random_state=0), scoring="accuracy", random_state=0
    )
    X_blocks = da.from_array(X_train, chunks=(2000, -1))
    y_blocks = da.from_array(y_train, chunks=2000)
    for _ in range(3):  # three passes over the six blocks
        incremental.partial_fit(X_blocks, y_blocks, classes=np.unique(y))
    accuracy = incremental.score(da.from_array(X_test), da.from_array(y_test))
    assert isinstance(incremental.estimator_, SGDLogitClassifier)
    assert incremental.estimator_.n_iter_ == 3 * X_blocks.numblocks[0]
    assert accuracy >= reference - 0.01


# ----------------------------------------------------------------------------- joblib


def test_grid_search_on_the_dask_backend_matches_sequential(client):
    X, y = make_data(2, n_samples=3000, n_features=16)
    grid = {"alpha": [1e-4, 1e-2], "batch_size": [16, 64]}
    search = GridSearchCV(SGDLogitClassifier(random_state=0), grid, cv=3)
    sequential = clone(search).fit(X, y)
    with distributed.get_task_stream(client) as tasks, parallel_backend("dask"):
        on_cluster = clone(search).set_params(n_jobs=-1).fit(X, y)
    assert on_cluster.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(
        on_cluster.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    # the fits ran on the cluster's workers (joblib may batch several into one task)
    assert any("fit_and_score" in task["key"] for task in tasks.data)


def test_grid_search_threading_backend_matches_sequential():
    X, y = make_data(3, n_samples=2000, n_features=16)
    grid = {"alpha": [1e-4, 1e-2], "batch_size": [16, 64]}
    search = GridSearchCV(SGDLogitClassifier(random_state=0), grid, cv=3)
    sequential = clone(search).fit(X, y)
    with parallel_backend("threading", n_jobs=2):
        threaded = clone(search).set_params(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(
        threaded.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    assert threaded.best_params_ == sequential.best_params_
    # The refit runs in the calling thread, inside the backend's context, where n_jobs=None
    # means the context's 2 (joblib's convention): batches of 64 rows x 16 features are then
    # split into two chunks, whose sums round differently from one chunk's.
    threads = threaded.best_estimator_.coef_
    np.testing.assert_allclose(threads, sequential.best_estimator_.coef_, rtol=1e-12, atol=1e-15)
    with parallel_backend("threading", n_jobs=2):
        again = clone(sequential.best_estimator_).fit(X, y)
    np.testing.assert_array_equal(again.coef_, threads)


# ----------------------------------------------------------------------------- sgdlogit.dask


@pytest.mark.parametrize("n_classes", [2, 3])
def test_data_parallel_fit_reaches_the_single_process_objective(client, n_classes):
    X, y = make_data(n_classes)
    single = SGDLogitClassifier(random_state=0).fit(X, y)
    model = sgd_dask.fit(
        SGDLogitClassifier(random_state=0),
        da.from_array(X, chunks=(4000, -1)),
        da.from_array(y, chunks=4000),
        client=client,
    )
    assert isinstance(model, SGDLogitClassifier)
    np.testing.assert_array_equal(model.classes_, single.classes_)
    assert model.coef_.shape == single.coef_.shape
    assert model.n_features_in_ == X.shape[1]
    reference = objective(single, X, y)
    assert objective(model, X, y) <= reference * (1 + 1e-2)
    # loss_curve_ holds the exact objective of the model after each round
    assert len(model.loss_curve_) == model.n_iter_
    assert model.loss_curve_[-1] == pytest.approx(objective(model, X, y), rel=1e-10)
    assert model.t_ > 0
    assert model.score(X, y) >= single.score(X, y) - 0.01


@pytest.mark.parametrize("chunk", [1000, 2000])  # two blocks per worker, or one (no copy)
def test_same_seed_gives_the_same_model(client, chunk):
    X, y = make_data(2, n_samples=4000)
    X_blocks, y_blocks = da.from_array(X, chunks=(chunk, -1)), da.from_array(y, chunks=chunk)
    params = dict(max_rounds=3, client=client)
    first = sgd_dask.fit(
        SGDLogitClassifier(random_state=3, tol=None), X_blocks, y_blocks, **params
    )
    second = sgd_dask.fit(
        SGDLogitClassifier(random_state=3, tol=None), X_blocks, y_blocks, **params
    )
    np.testing.assert_array_equal(first.coef_, second.coef_)
    np.testing.assert_array_equal(first.intercept_, second.intercept_)
    assert first.n_iter_ == 3


def test_shards_missing_a_class_and_string_labels(client):
    X, y = make_data(3, n_samples=6000)
    order = np.argsort(y, kind="stable")  # sorted labels: each worker misses a class
    X, y = X[order], np.array(["ant", "bee", "cat"])[y[order]]
    model = sgd_dask.fit(
        SGDLogitClassifier(random_state=0),
        da.from_array(X, chunks=(1500, -1)),
        da.from_array(y, chunks=1500),
        client=client,
    )
    np.testing.assert_array_equal(model.classes_, ["ant", "bee", "cat"])
    assert model.coef_.shape == (3, X.shape[1])
    # averaging models that each saw two classes still learns all three (less well than
    # one fit: local SGD drifts on partitions this different, see docs/user_guide/scaling)
    np.testing.assert_array_equal(np.unique(model.predict(X)), model.classes_)
    assert model.score(X, y) > 0.6


def test_balanced_class_weight_equals_its_sample_weights(client):
    X, y = make_data(2, n_samples=4000)
    y[:1500] = 0  # imbalanced
    X_blocks, y_blocks = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)
    params = dict(max_rounds=2, client=client)
    balanced = sgd_dask.fit(
        SGDLogitClassifier(random_state=0, class_weight="balanced", tol=None),
        X_blocks,
        y_blocks,
        **params,
    )
    weighted = sgd_dask.fit(
        SGDLogitClassifier(random_state=0, tol=None),
        X_blocks,
        y_blocks,
        sample_weight=da.from_array(compute_sample_weight("balanced", y), chunks=1000),
        **params,
    )
    np.testing.assert_array_equal(balanced.coef_, weighted.coef_)


def test_sparse_float32_blocks(client):
    X, y = make_data(2, n_samples=4000)
    X = X.astype(np.float32)
    # averaged models: the last per-sample iterate on this small dense-like data scores
    # 0.66-0.75 depending on the seed (single fit and Dask alike), which would make the
    # comparison a coin flip
    model = sgd_dask.fit(
        SGDLogitClassifier(random_state=0, tol=None, average=True),
        da.from_array(X, chunks=(1000, -1)).map_blocks(sp.csr_matrix),
        da.from_array(y, chunks=1000),
        max_rounds=3,
        client=client,
    )
    assert model.coef_.dtype == np.float32
    single = SGDLogitClassifier(random_state=0, average=True).fit(sp.csr_matrix(X), y)
    assert model.score(X, y) >= single.score(X, y) - 0.02


def test_warm_start_continues_from_the_model(client):
    X, y = make_data(2, n_samples=4000)
    X_blocks, y_blocks = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)
    params = dict(max_rounds=1, client=client)
    model = sgd_dask.fit(
        SGDLogitClassifier(random_state=0, tol=None), X_blocks, y_blocks, **params
    )
    cold = sgd_dask.fit(model, X_blocks, y_blocks, **params)  # warm_start=False: from zero
    np.testing.assert_array_equal(cold.coef_, model.coef_)
    continued = sgd_dask.fit(model.set_params(warm_start=True), X_blocks, y_blocks, **params)
    assert not np.array_equal(continued.coef_, model.coef_)
    assert continued.loss_curve_[-1] <= model.loss_curve_[-1] * 1.01
    from_sparse = sgd_dask.fit(copy.deepcopy(model).sparsify(), X_blocks, y_blocks, **params)
    np.testing.assert_array_equal(from_sparse.coef_, continued.coef_)


def test_the_returned_model_refits_with_warm_start(client):
    X, y = make_data(2, n_samples=4000)
    model = sgd_dask.fit(
        SGDLogitClassifier(random_state=0, tol=None),
        da.from_array(X, chunks=(1000, -1)),
        da.from_array(y, chunks=1000),
        max_rounds=2,
        client=client,
    )
    before = objective(model, X, y)
    model.set_params(warm_start=True, max_iter=2, tol=None).fit(X, y)
    assert objective(model, X, y) < before * 1.05


def test_partial_fit_continues_the_returned_model(client):
    X, y = make_data(2, n_samples=4000)
    model = sgd_dask.fit(
        SGDLogitClassifier(random_state=0, tol=None),
        da.from_array(X, chunks=(1000, -1)),
        da.from_array(y, chunks=1000),
        max_rounds=1,
        client=client,
    )
    model.partial_fit(X, y)


def test_convergence_warning_at_max_rounds(client):
    X, y = make_data(2, n_samples=2000)
    with pytest.warns(Warning, match="Maximum number of rounds"):
        sgd_dask.fit(
            SGDLogitClassifier(random_state=0, tol=1e-12),
            da.from_array(X, chunks=(500, -1)),
            da.from_array(y, chunks=500),
            max_rounds=2,
            client=client,
        )


def test_input_errors(client):
    X, y = make_data(2, n_samples=400)
    X_blocks, y_blocks = da.from_array(X, chunks=(100, -1)), da.from_array(y, chunks=100)
    with pytest.raises(TypeError, match=r"dask\.array"):
        sgd_dask.fit(SGDLogitClassifier(), X, y, client=client)
    with pytest.raises(TypeError, match="SGDLogitClassifier"):
        sgd_dask.fit(object(), X_blocks, y_blocks, client=client)
    with pytest.raises(ValueError, match="early_stopping"):
        sgd_dask.fit(SGDLogitClassifier(early_stopping=True), X_blocks, y_blocks, client=client)
    with pytest.raises(ValueError, match="local_epochs"):
        sgd_dask.fit(SGDLogitClassifier(), X_blocks, y_blocks, local_epochs=0, client=client)
    with pytest.raises(ValueError, match="one value per row"):
        sgd_dask.fit(SGDLogitClassifier(), X_blocks, y_blocks[:10], client=client)
    # numpy arrays of the wrong length: dask's "Chunks do not add up to shape" before
    with pytest.raises(ValueError, match=r"one value per row of X \(400\); got shape \(10,\)"):
        sgd_dask.fit(SGDLogitClassifier(), X_blocks, y[:10], client=client)
    with pytest.raises(ValueError, match="sample_weight must be 1-D with one value per row"):
        sgd_dask.fit(SGDLogitClassifier(), X_blocks, y, sample_weight=np.ones(3), client=client)
    with pytest.raises(ValueError, match="greater than one"):
        sgd_dask.fit(SGDLogitClassifier(), X_blocks, da.zeros(400, chunks=100), client=client)
    with pytest.raises(ValueError, match="not in classes"):
        sgd_dask.fit(SGDLogitClassifier(), X_blocks, y_blocks, classes=[0, 5], client=client)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("zero_weight", [False, True], ids=["weighted", "zero-weight"])
def test_non_finite_x_gets_the_error_of_fit(client, bad, zero_weight):
    # a NaN in rows of weight zero (a shard that does not train) met only the evaluation
    # of the loss: "Training diverged", and RuntimeWarnings in the user's process
    X, y = make_data(2, n_samples=300)
    X[250, 0] = bad
    weights = np.ones(300)
    if zero_weight:
        weights[150:] = 0.0
    X_blocks = da.from_array(X, chunks=(100, -1))
    reference = pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)")
    with reference:
        SGDLogitClassifier(random_state=0).fit(X, y, sample_weight=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
            sgd_dask.fit(
                SGDLogitClassifier(random_state=0), X_blocks, y, sample_weight=weights,
                client=client,
            )  # fmt: skip


def test_malformed_csr_block_is_refused(client):
    """A block with a column past the end is refused on its worker, before the first
    product with it (scipy's would read outside the arrays)."""
    X, y = make_data(2, n_samples=400)

    def column_past_the_end(block):
        block = sp.csr_matrix(block)
        if block.nnz:
            block.indices[-1] = block.shape[1]
        return block

    refused = pytest.raises(ValueError, match="X is not a valid CSR matrix: its column indices")
    # the shard is checked as it is built, before the first round evaluates the model on it
    classes, class_weight = np.unique(y), np.ones(2)
    for n_blocks in (1, 2):
        blocks = [column_past_the_end(X[i * 100 : (i + 1) * 100]) for i in range(n_blocks)]
        with refused:
            sgd_dask._build_shard(blocks, [y[:100]] * n_blocks, [None] * n_blocks, classes,
                                  class_weight)  # fmt: skip
    X_blocks = da.from_array(X, chunks=(100, -1)).map_blocks(column_past_the_end)
    with refused:
        sgd_dask.fit(SGDLogitClassifier(), X_blocks, da.from_array(y, chunks=100), client=client)


def test_missing_dask_gives_an_import_error_naming_the_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["distributed"] = None
        try:
            import sgdlogit.dask
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert "sgdlogit[dask]" in result.stdout


# ----------------------------------------------------------------------------- one round, rebuilt


def one_round_reference(estimator, X, y, bounds, local_epochs, coef, intercept):
    """One round of sgdlogit.dask.fit rebuilt from local fits on the shards ``bounds``.

    Each shard's clone trains ``local_epochs`` epochs from ``(coef, intercept)`` with the
    seed the round draws for it; the new model is the mean of the local models weighted
    by the shards' weight sums, and ``t_`` adds up the local updates.
    """
    seeds = np.random.RandomState(estimator.random_state).randint(
        np.iinfo(np.int32).max, size=len(bounds)
    )
    fits = [
        clone(estimator)
        .set_params(random_state=int(seed), max_iter=local_epochs, tol=None, warm_start=False)
        .fit(
            X[a:b], y[a:b], sample_weight=np.ones(b - a), coef_init=coef, intercept_init=intercept
        )
        for seed, (a, b) in zip(seeds, bounds, strict=True)
    ]
    sizes = np.array([b - a for a, b in bounds], dtype=float)
    share = sizes / sizes.sum()
    return (
        sum(s * f.coef_ for s, f in zip(share, fits, strict=True)),
        sum(s * f.intercept_ for s, f in zip(share, fits, strict=True)),
        sum(f.t_ for f in fits),
    )


def test_one_round_is_the_weighted_mean_of_the_local_fits(client):
    # unequal shards (3:1) and two local epochs: a uniform mean, ignored local_epochs, a
    # t_ that is not the sum, or a warm start that drops the intercept all show here
    X, y = make_classification(4000, 10, random_state=0)
    Xd = da.from_array(X, chunks=((3000, 1000), (10,)))
    yd = da.from_array(y, chunks=((3000, 1000),))
    bounds = [(0, 3000), (3000, 4000)]
    estimator = SGDLogitClassifier(random_state=5, tol=None)
    model = sgd_dask.fit(estimator, Xd, yd, local_epochs=2, max_rounds=1, client=client)
    start = np.zeros((1, 10)), np.zeros(1)
    coef, intercept, t = one_round_reference(estimator, X, y, bounds, 2, *start)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-12)
    assert model.t_ == t
    start = model.coef_.copy(), model.intercept_.copy()
    warm = sgd_dask.fit(model.set_params(warm_start=True), Xd, yd, max_rounds=1, client=client)
    coef, intercept, _ = one_round_reference(model, X, y, bounds, 1, *start)
    np.testing.assert_allclose(warm.coef_, coef, rtol=1e-12)
    np.testing.assert_allclose(warm.intercept_, intercept, rtol=1e-12)


def test_loss_curve_is_the_weighted_objective(client):
    X, y = make_classification(4000, 10, random_state=0)
    w = np.random.default_rng(0).uniform(0.1, 3.0, 4000)
    model = sgd_dask.fit(
        SGDLogitClassifier(random_state=0, tol=None),
        da.from_array(X, chunks=(1000, -1)),
        da.from_array(y, chunks=1000),
        sample_weight=da.from_array(w, chunks=1000),
        max_rounds=2,
        client=client,
    )
    # the last entry is the exact objective of the returned model, weighted
    expected = mean_log_loss(model.decision_function(X), y, w) + penalty_value(
        model.coef_, model.penalty, model.alpha, model.l1_ratio
    )
    assert model.loss_curve_[-1] == pytest.approx(expected, rel=1e-10)
