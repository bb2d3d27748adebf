r"""Data-parallel training on a Dask cluster: local SGD with parameter averaging.

:func:`fit` trains a :class:`~sgdlogit.SGDLogitClassifier` on Dask arrays whose blocks are
spread over the workers of a ``dask.distributed`` cluster. The blocks are gathered once into
one shard per worker, which stays in that worker's memory. Each round then sends the current
weights to every worker, each worker runs ``local_epochs`` epochs of mini-batch SGD over its
shard starting from them (a clone of the estimator, fitted with ``coef_init`` and
``intercept_init``), and the driver replaces the weights by the average of the workers'
weights, weighted by the total sample weight of each shard:

.. math::

    w_{r+1} = \sum_k \frac{S_k}{S} \, \mathrm{SGD}_k(w_r), \qquad
    S_k = \sum_{i \in \text{shard } k} s_i .

The objective of every averaged model is computed exactly, on all the data, in the same
round trip as the next round's training, so ``loss_curve_`` holds the objective of the model
after each round, and rounds stop by the estimator's own rule (``tol`` and
``n_iter_no_change``) or after ``max_rounds``.

This module needs the ``dask`` extra (``pip install "sgdlogit[dask]"``) and is not imported
by ``import sgdlogit``.
"""

import time
import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets

from sgdlogit._classifier import (
    SGDLogitClassifier,
    _check_csr_structure,
    _dense_coef,
    _raise_if_not_finite,
)
from sgdlogit._objective import log_loss_per_sample, penalty_value

try:
    import dask
    import dask.array as da
    from distributed import default_client, wait
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "sgdlogit.dask needs dask[array] and distributed; install them with "
        "'pip install \"sgdlogit[dask]\"' (the 'dask' extra)."
    ) from exc

__all__ = ["fit"]


def fit(
    estimator,
    X,
    y,
    *,
    classes=None,
    sample_weight=None,
    local_epochs=1,
    max_rounds=None,
    client=None,
):
    """Fit a clone of ``estimator`` on Dask arrays by local SGD with parameter averaging.

    Every round, each worker trains from the current weights for ``local_epochs`` epochs on
    the part of the data it holds, and the driver averages the workers' weights (weighted
    by the total sample weight of each part). Only the weights travel between the driver
    and the workers; the data is moved once, when the blocks are gathered into one shard
    per worker.

    Parameters
    ----------
    estimator : SGDLogitClassifier
        Unfitted template: its parameters (``alpha``, ``penalty``, ``batch_size``,
        ``learning_rate``, ``solver``, ``average``, ...) drive the local epochs, ``tol`` and
        ``n_iter_no_change`` the stopping rule over rounds, ``class_weight`` is computed
        from the class counts of all the data, and ``random_state`` seeds every local fit.
        With ``warm_start=True`` and a fitted estimator, training starts from its
        ``coef_`` and ``intercept_``. ``early_stopping`` is not supported.
    X : dask.array.Array of shape (n_samples, n_features)
        Training data, split into blocks along the rows (blocks may hold dense arrays or
        scipy sparse matrices). Column blocks are merged.
    y : dask.array.Array or array-like of shape (n_samples,)
        Target labels; rechunked to the row blocks of ``X``.
    classes : array-like of shape (n_classes,), default=None
        Every class of the problem; by default the distinct values of ``y`` (one extra pass
        over ``y``).
    sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None
        Weights of the samples.
    local_epochs : int, default=1
        Epochs each worker runs over its shard per round.
    max_rounds : int, default=None
        Maximum number of rounds; ``None`` means ``estimator.max_iter``.
    client : distributed.Client, default=None
        Client of the cluster to train on; by default the current client
        (:func:`distributed.default_client`).

    Returns
    -------
    model : SGDLogitClassifier
        A fitted clone of ``estimator``, with ``classes_``, ``coef_``, ``intercept_``,
        ``n_features_in_``, ``n_iter_`` (rounds run), ``t_`` (updates made on all workers),
        ``loss_curve_`` (exact objective after each round) and ``best_loss_``. It predicts,
        scores, pickles and warm-starts ``fit`` like any fitted estimator.

    Raises
    ------
    TypeError
        If ``X`` is not a 2-D Dask array.
    ValueError
        If the labels, weights or parameters are invalid.

    Examples
    --------
    >>> import dask.array as da  # doctest: +SKIP
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> import sgdlogit.dask  # doctest: +SKIP
    >>> from sgdlogit import SGDLogitClassifier  # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
    >>> rng = da.random.default_rng(0)  # doctest: +SKIP
    >>> X = rng.standard_normal((100_000, 20), chunks=(25_000, 20))  # doctest: +SKIP
    >>> y = X[:, 0] + X[:, 1] > 0  # doctest: +SKIP
    >>> model = sgdlogit.dask.fit(SGDLogitClassifier(), X, y, client=client)  # doctest: +SKIP
    >>> model.score(X[:1000].compute(), y[:1000].compute())  # doctest: +SKIP
    0.999
    """
    if not isinstance(estimator, SGDLogitClassifier):
        raise TypeError(
            f"estimator must be an SGDLogitClassifier; got {type(estimator).__name__}."
        )
    if not isinstance(local_epochs, Integral) or local_epochs < 1:
        raise ValueError(f"local_epochs must be an integer >= 1; got {local_epochs!r}.")
    if max_rounds is None:
        max_rounds = estimator.max_iter
    if not isinstance(max_rounds, Integral) or max_rounds < 1:
        raise ValueError(f"max_rounds must be an integer >= 1; got {max_rounds!r}.")
    if estimator.early_stopping:
        raise ValueError(
            "early_stopping is not supported by sgdlogit.dask.fit: rounds stop on the "
            "exact training objective (tol, n_iter_no_change)."
        )
    estimator._validate_params()
    client = default_client() if client is None else client

    X, y, sample_weight = _align(X, y, sample_weight)
    classes, class_weight = _classes_and_weights(estimator, y, classes)
    shards, weight_sums = _make_shards(client, X, y, sample_weight, classes, class_weight)
    if not np.any(weight_sums > 0):
        raise ValueError(
            "The sample weights (times the class weights) sum to zero; at least one must "
            "be positive."
        )
    try:
        return _train(estimator, X, shards, weight_sums, classes, local_epochs, max_rounds)
    finally:
        client.cancel([shard for shard, _ in shards])


# ----------------------------------------------------------------------------- driver


def _align(X, y, sample_weight):
    """Return ``X`` with one column block, and ``y`` / weights on its row blocks."""
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise TypeError(
            "X must be a 2-D dask.array.Array; wrap in-memory data with dask.array.from_array "
            f"or use SGDLogitClassifier.fit. Got {type(X).__name__}."
        )
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError("X has blocks of unknown size; call X.compute_chunk_sizes() first.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    rows = X.chunks[0]

    def on_rows(values, name):
        if not isinstance(values, da.Array):
            values = np.asarray(values)
            fits = values.ndim == 1 and values.shape[0] == X.shape[0]
            # chunked on X's rows only if it has as many: dask refuses other chunks
            values = da.from_array(values, chunks=(rows,) if fits else -1)
        if values.ndim != 1 or values.shape[0] != X.shape[0]:
            raise ValueError(
                f"{name} must be 1-D with one value per row of X ({X.shape[0]}); got shape "
                f"{values.shape}."
            )
        return values.rechunk((rows,))

    y = on_rows(y, "y")
    if sample_weight is not None:
        sample_weight = on_rows(sample_weight, "sample_weight")
    return X, y, sample_weight


def _classes_and_weights(estimator, y, classes):
    """The sorted classes and the weight of each class (from the counts of all ``y``)."""
    balanced = estimator.class_weight == "balanced"
    if classes is None or balanced:
        values, counts = dask.compute(*da.unique(y, return_counts=True))
    if classes is None:
        check_classification_targets(values)
        classes = values
    else:
        classes = np.unique(np.asarray(classes))
        check_classification_targets(classes)
    if classes.shape[0] < 2:
        raise ValueError(
            f"The number of classes has to be greater than one; got {classes.shape[0]} class"
        )
    weights = np.ones(classes.shape[0])
    if balanced:
        # the n / (n_classes * count) of scikit-learn's 'balanced', from the global counts
        present = np.isin(classes, values)
        counts = counts[np.searchsorted(values, classes[present])]
        weights[present] = counts.sum() / (present.sum() * counts)
    elif estimator.class_weight is not None:
        for label, weight in estimator.class_weight.items():
            index = np.searchsorted(classes, label)
            if index >= classes.shape[0] or classes[index] != label:
                raise ValueError(f"The class {label!r} in class_weight is not a class of y.")
            weights[index] = weight
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(
                "class_weight values must be finite and non-negative; got "
                f"{estimator.class_weight}."
            )
    return classes, weights


def _make_shards(client, X, y, sample_weight, classes, class_weight):
    """Gather the row blocks into one shard per worker, kept in that worker's memory.

    Returns ``[(future, worker address)]`` and the total sample weight of each shard.
    Shard ``k`` holds a contiguous range of blocks, so the split does not depend on where
    the blocks happen to live.
    """
    workers = sorted(client.nthreads())
    if not workers:
        raise ValueError("The Dask cluster has no workers.")
    x_blocks = X.to_delayed().ravel().tolist()
    y_blocks = y.to_delayed().ravel().tolist()
    w_blocks = (
        [None] * len(x_blocks)
        if sample_weight is None
        else sample_weight.to_delayed().ravel().tolist()
    )
    groups = [g for g in np.array_split(np.arange(len(x_blocks)), len(workers)) if g.size]
    shards = []
    for group, worker in zip(groups, workers, strict=False):
        shard = dask.delayed(_build_shard)(
            [x_blocks[i] for i in group],
            [y_blocks[i] for i in group],
            [w_blocks[i] for i in group],
            classes,
            class_weight,
        )
        # computing the blocks on the shard's worker moves no data for lazily built arrays
        future = client.compute(shard, workers=[worker], allow_other_workers=False)
        shards.append((future, worker))
    wait([future for future, _ in shards])
    weight_sums = client.gather(
        [
            client.submit(_shard_weight, future, workers=[worker], pure=False)
            for future, worker in shards
        ]
    )
    return shards, np.asarray(weight_sums, dtype=np.float64)


def _train(estimator, X, shards, weight_sums, classes, local_epochs, max_rounds):
    client = shards[0][0].client
    n_outputs = 1 if classes.shape[0] == 2 else classes.shape[0]
    n_features = X.shape[1]
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    coef = np.zeros((n_outputs, n_features))
    intercept = np.zeros(n_outputs)
    if estimator.warm_start and hasattr(estimator, "coef_"):
        if not np.array_equal(estimator.classes_, classes):
            raise ValueError(
                "warm_start requires the same classes as the previous fit; got "
                f"{classes}, previously {estimator.classes_}."
            )
        if estimator.coef_.shape != (n_outputs, n_features):
            raise ValueError(
                f"warm_start requires {n_features} features, as X has; the estimator was "
                f"fitted with {estimator.coef_.shape[1]}."
            )
        coef = _dense_coef(estimator.coef_).astype(np.float64)
        intercept = np.array(estimator.intercept_, dtype=np.float64).reshape(n_outputs)
    local = clone(estimator).set_params(
        max_iter=local_epochs,
        tol=None,
        warm_start=False,
        early_stopping=False,
        class_weight=None,
        verbose=0,
    )
    training = [k for k in range(len(shards)) if weight_sums[k] > 0]
    share = weight_sums[training] / weight_sums[training].sum()
    rng = check_random_state(estimator.random_state)

    loss_curve, best_loss, no_improvement, n_updates = [], np.inf, 0, 0
    converged = estimator.tol is None
    start_time = time.perf_counter()
    for round_ in range(max_rounds + 1):
        train = round_ < max_rounds
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(shards))
        futures = [
            client.submit(
                _local_round,
                future,
                local if train and k in training else None,
                coef,
                intercept,
                int(seeds[k]),
                workers=[worker],
                pure=False,
            )
            for k, (future, worker) in enumerate(shards)
        ]
        results = client.gather(futures)
        if round_ > 0:
            # the workers evaluated the model they started from: the one of the last round
            loss = sum(result[0] for result in results) / weight_sums.sum()
            objective = loss + penalty_value(
                coef, estimator.penalty, estimator.alpha, estimator.l1_ratio
            )
            if not np.isfinite(objective):
                raise ValueError(
                    f"Training diverged at round {round_}: the loss became non-finite. "
                    "Scale the input (e.g. with StandardScaler) or use a smaller eta0."
                )
            loss_curve.append(float(objective))
            if estimator.verbose:
                elapsed = time.perf_counter() - start_time
                print(f"Round {round_}, loss: {objective:.6f}, elapsed: {elapsed:.2f} s")
            if estimator.tol is not None and objective > best_loss - estimator.tol:
                no_improvement += 1
            else:
                no_improvement = 0
            best_loss = min(best_loss, objective)
            if estimator.tol is not None and no_improvement >= estimator.n_iter_no_change:
                converged = True
                break
        if not train:
            break
        trained = [results[k] for k in training]
        coef = sum(s * result[1] for s, result in zip(share, trained, strict=True))
        intercept = sum(s * result[2] for s, result in zip(share, trained, strict=True))
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            raise ValueError(
                f"Training diverged at round {round_ + 1}: the weights became non-finite. "
                "Scale the input (e.g. with StandardScaler) or use a smaller eta0."
            )
        n_updates += sum(result[3] for result in trained)

    if not converged:
        warnings.warn(
            f"Maximum number of rounds ({max_rounds}) reached before convergence; "
            "consider increasing max_rounds or tol.",
            ConvergenceWarning,
            stacklevel=3,
        )
    model = clone(estimator)
    model.classes_ = classes
    model.coef_ = np.ascontiguousarray(coef, dtype=dtype)
    model.intercept_ = np.asarray(intercept, dtype=dtype)
    model.n_features_in_ = n_features
    model.n_iter_ = len(loss_curve)
    model.t_ = n_updates
    model.loss_curve_ = loss_curve
    model.validation_loss_curve_ = []
    model.validation_scores_ = []
    model.best_loss_ = best_loss
    return model


# ----------------------------------------------------------------------------- workers


def _build_shard(x_blocks, y_blocks, w_blocks, classes, class_weight):
    """Concatenate blocks into ``(X, y, y_index, sample_weight)`` with every class present.

    A shard that misses a class gets one zero-weight row of it: the local fits then know
    every class (``fit`` takes its classes from ``y``), and a zero-weight row changes
    neither the gradients nor the loss.
    """
    if len(x_blocks) == 1:
        X = x_blocks[0].tocsr() if sp.issparse(x_blocks[0]) else x_blocks[0]  # no copy
    elif sp.issparse(x_blocks[0]):
        X = sp.vstack(x_blocks, format="csr")
    else:
        X = np.concatenate(x_blocks, axis=0)
    # before any product with X: a malformed block would make scipy read outside it
    _check_csr_structure(X)
    y = np.concatenate(y_blocks, axis=0)
    y_index = np.searchsorted(classes, y)
    unknown = (y_index >= classes.shape[0]) | (classes[np.minimum(y_index, len(classes) - 1)] != y)
    if np.any(unknown):
        raise ValueError(
            f"y contains labels that are not in classes = {classes}: {np.unique(y[unknown])}."
        )
    if w_blocks[0] is None:
        weights = np.ones(X.shape[0])
    else:
        weights = np.concatenate(w_blocks, axis=0).astype(np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("sample_weight must be finite and non-negative.")
    weights = weights * class_weight[y_index]
    missing = np.setdiff1d(np.arange(classes.shape[0]), y_index)
    if missing.size:
        padding = np.zeros((missing.size, X.shape[1]), dtype=X.dtype)
        X = (
            sp.vstack([X, sp.csr_matrix(padding)], format="csr")
            if sp.issparse(X)
            else (np.concatenate([X, padding]))
        )
        y = np.concatenate([y, classes[missing]])
        y_index = np.concatenate([y_index, missing])
        weights = np.concatenate([weights, np.zeros(missing.size)])
    return X, y, y_index, weights


def _shard_weight(shard):
    return float(np.sum(shard[3]))


def _local_round(shard, local, coef, intercept, seed):
    """Evaluate ``(coef, intercept)`` on the shard, then train ``local`` from there.

    Returns ``(loss_sum, coef, intercept, updates)``: the weighted log-loss sum of the
    given weights, and (when ``local`` is an estimator, else None) the weights after its
    epochs on the shard.
    """
    X, y, y_index, weights = shard
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite: checked below
        decision = np.asarray(X @ coef.T) + intercept
        if coef.shape[0] == 1:
            decision = decision.ravel()
        loss_sum = float(weights @ log_loss_per_sample(decision, y_index))
    if not np.all(np.isfinite(decision)):
        # NaN or inf in X (even in rows of weight zero, which training skips) gets
        # scikit-learn's error, as in SGDLogitClassifier.fit; else the client reports a
        # divergence
        _raise_if_not_finite(X, "SGDLogitClassifier")
    if local is None:
        return loss_sum, None, None, 0
    local = clone(local).set_params(random_state=seed)
    local.fit(X, y, sample_weight=weights, coef_init=coef, intercept_init=intercept)
    return (
        loss_sum,
        np.asarray(local.coef_, dtype=np.float64),
        np.asarray(local.intercept_, dtype=np.float64),
        int(local.t_),
    )
