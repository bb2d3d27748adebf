"""The estimator: validation, the epoch loop, stopping rules and fitted attributes."""

import time
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit, softmax
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)
from sklearn.utils.validation import (
    _check_n_features,
    _check_sample_weight,
    check_array,
    check_is_fitted,
    validate_data,
)

from sgdlogit._callbacks import NO_TASK, CallbackSupportMixin, FitTask
from sgdlogit._objective import mean_log_loss, penalty_strengths, penalty_value
from sgdlogit._schedules import ADAM_ETA0, _rows_of, batch_steps, estimate_steps

# batch_size='auto': about 200 updates per epoch, between 8 and 512 samples per batch.
# Small data gets many updates per epoch; large data gets batches big enough for threads
# and for a low gradient noise (measured in benchmarks/HISTORY.md). Adam stops at 256: its
# step per update is fixed, and batches of 512 needed 1.5x its epochs.
AUTO_UPDATES_PER_EPOCH = 200
AUTO_BATCH_RANGE = (8, 512)
ADAM_AUTO_BATCH_MAX = 256
# The 'adaptive' schedule divides the step by this factor when the loss stalls, and stops
# at a stall once the step is at most MIN_ADAPTIVE_ETA (SGDClassifier's rule).
ADAPTIVE_DIVISOR = 5.0
MIN_ADAPTIVE_ETA = 1e-6
# Sparse input with at least this fraction of nonzeros is trained as dense input is
# ('auto' batches of n // 200 rows, averaging). On such dense-like rows every coefficient
# moves at every update, and one-sample updates without averaging leave a noisy last
# iterate (standardized breast_cancer, digits, make_classification in CSR matrices: 1-8
# points below LogisticRegression). Text-like rows (density 2e-4 on the D3 benchmark) reach
# the optimum sooner with one-sample updates and no averaging, whose lazy form would make
# their epoch twice as long.
DENSE_LIKE_DENSITY = 0.01


# Shuffling: rows of data larger than the CPU caches are visited in shuffled blocks of
# consecutive rows. Scattered single rows each wait for DRAM (an epoch over 800k x 100 rows
# takes 1.6x longer than with blocks of 8, 2.3x than with blocks of 16, 2.8x than with
# blocks of 32). Blocks of 8 keep small batches and single-sample updates well mixed;
# larger batches take larger blocks, up to 32 rows, so that batches of 128 rows or more
# mix at least 16 random blocks (batches of 512 rows: blocks of 32). On data sorted by
# class, blocks of 16 cost 0.01-0.02% of the test log-loss against single rows, blocks of
# 32 another 0.005-0.012 points, 4 blocks per batch 0.1% (see benchmarks/HISTORY.md).
# Dense rows go by runs of RUN_BLOCKS consecutive blocks, BLOCKS_PER_BATCH runs side by
# side, one block of each in turn (see kernels.shuffled_blocks): a batch still mixes 16
# random places, and the CPU's prefetcher finds each run's next block where it left off.
# One-thread epochs over 800k x 100 rows 4-16% faster (blocks of 32 to 8); on data sorted
# by class the test log-loss moved by -0.02 to +0.006%, on shuffled data by under 0.004%.
SHUFFLE_BLOCK = 8
MAX_SHUFFLE_BLOCK = 32
BLOCKS_PER_BATCH = 16
RUN_BLOCKS = 4
BLOCK_SHUFFLE_BYTES = 32 * 2**20


def _matmul(X, coef_t):
    """``X @ coef_t`` without BLAS for dense X and dense coefficients.

    BLAS threads spin after every call and then compete for the cores with the other fits
    of a threaded GridSearchCV; a plain matrix-vector product is memory-bound anyway.
    """
    if sp.issparse(X) or sp.issparse(coef_t):
        return safe_sparse_dot(X, coef_t, dense_output=True)
    return np.einsum("ij,jk->ik", X, coef_t)


def _probabilities(logits):
    """Class probabilities from logits of shape (n_samples, n_outputs)."""
    if logits.shape[1] == 1:
        # neither column is 1 minus the other: a probability near 0 keeps all its digits
        # (1 - expit(40) is 0, expit(-40) is 4.25e-18), as in the compiled dense kernel
        z = logits[:, 0]
        return np.column_stack([expit(-z), expit(z)])
    return _softmax(logits, log=False)


def _softmax(logits, *, log):
    """Softmax (or its log) of multiclass logits, in the dtype of ``logits``.

    Computed in float64: scipy shifts float32 logits by their row maximum in float32,
    which lost up to 17 ulps of a probability for logits near 16 (the compiled kernel
    shifts in float64 too). Rows with infinite (not NaN) logits, which scipy makes NaN,
    get the kernel's probabilities.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        logits64 = logits.astype(np.float64, copy=False)
        values = _log_softmax(logits64) if log else softmax(logits64, axis=1)
    bad = np.isnan(values).any(axis=1) & ~np.isnan(logits).any(axis=1)
    if bad.any():
        share = _infinite_row_probabilities(logits[bad])
        with np.errstate(divide="ignore"):
            values[bad] = np.log(share) if log else share
    return values.astype(logits.dtype, copy=False)


def _log_softmax(logits):
    """Log-softmax of float64 logits, with ``log1p`` of the other classes' share.

    scipy's ``log_softmax`` takes the log of the whole sum, 1 plus the others' share:
    the most probable class lost its relative accuracy (0.0 for -8.5e-18 at a logit gap
    of 40), where the binary ``log_expit`` keeps it.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    shares = np.exp(shifted)
    shares[np.arange(logits.shape[0]), np.argmax(logits, axis=1)] = 0.0  # one class of the top
    return shifted - np.log1p(shares.sum(axis=1, keepdims=True))


def _infinite_row_probabilities(logits):
    """Probabilities of rows with infinite logits, as the compiled kernel gives them.

    The classes of the largest logit (+inf, or -inf in a row of -inf only) share them.
    """
    top = logits == logits.max(axis=1, keepdims=True)
    return top / top.sum(axis=1, keepdims=True)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _passes_check_array(X):
    """Whether ``check_array`` would return ``X`` as it is, with nothing to report.

    True for a non-empty two-dimensional float32/float64 ndarray (not a subclass): for
    it prediction only needs the feature checks of ``validate_data``, which saves the
    35 us that ``check_array`` takes on every call (half of a one-row predict_proba).
    """
    return type(X) is np.ndarray and X.ndim == 2 and X.size > 0 and X.dtype in _FLOATS


def _shuffle_block(batch_size):
    """Rows per shuffled block of large data: about batch_size / 16, a power of two, 8 to 32."""
    per_batch = max(1, int(batch_size) // BLOCKS_PER_BATCH)
    return min(MAX_SHUFFLE_BLOCK, max(SHUFFLE_BLOCK, 1 << (per_batch.bit_length() - 1)))


def _nbytes(X):
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes
    return X.nbytes


def _check_labels(y):
    """scikit-learn's ``check_classification_targets``, skipped for integer and bool labels.

    Once ``validate_data`` has made ``y`` one-dimensional, such labels are always 'binary'
    or 'multiclass'; the check would hash every label to find that out (5 ms on 400,000).
    """
    if y.dtype.kind not in "biu":
        check_classification_targets(y)


def _check_csr_structure(X):
    """Raise a ValueError if the CSR matrix ``X`` is malformed (a no-op for dense ``X``).

    scipy builds a CSR matrix from any arrays of the right lengths without looking at
    their values, and the training kernels index the weights by its columns unchecked:
    a column outside ``[0, n_features)`` or a broken ``indptr`` would make them write
    outside their arrays, and scipy's product in prediction read outside them (a
    segmentation fault); so would an ``indptr`` shorter than the rows. One pass over the
    columns: 3 ms on D3's 21 million nonzeros, 9% of a ``predict_proba`` on CSR rows.
    scipy's ``X.check_format(full_check=True)`` takes 11 ms there and rewrites the user's
    index arrays (pruned, recast) in place.
    """
    if not sp.issparse(X):
        return
    indptr, (n_rows, n_features) = X.indptr, X.shape
    if indptr.shape != (n_rows + 1,):
        raise ValueError(
            f"X is not a valid CSR matrix: its indptr must have n_rows + 1 = {n_rows + 1} "
            f"entries, got {indptr.shape[0]}."
        )
    n_stored = indptr[-1]
    if indptr[0] != 0 or n_stored > X.indices.shape[0] or np.any(indptr[1:] < indptr[:-1]):
        raise ValueError(
            "X is not a valid CSR matrix: its indptr must start at 0, never decrease and "
            "end within its indices (X.check_format(full_check=True) tells more)."
        )
    # as unsigned numbers negative columns are the largest: one pass finds both kinds
    columns = X.indices[:n_stored].view(X.indices.dtype.str.replace("i", "u"))  # byte order kept
    if n_stored and columns.max() >= n_features:
        bad = X.indices[:n_stored][columns >= n_features][0]
        raise ValueError(
            f"X is not a valid CSR matrix: its column indices must lie in "
            f"[0, {n_features}), got {bad}."
        )


def _dense_coef(coef):
    """``coef_`` as an ndarray, also after :meth:`SGDLogitClassifier.sparsify`."""
    return coef.toarray() if sp.issparse(coef) else np.asarray(coef)


def _raise_if_not_finite(X, estimator):
    """Raise scikit-learn's error for NaN or infinite values in ``X`` (else nothing)."""
    # its quick test sums X: huge finite features overflow there (a RuntimeWarning)
    with np.errstate(over="ignore", invalid="ignore"):
        check_array(X, accept_sparse="csr", dtype=None, estimator=estimator, input_name="X")


def _cast_chunk(X, dtype, estimator):
    """``X`` in the dtype of the model it trains (a float64 chunk for a float32 model).

    Values beyond float32's range would become infinite in the cast and fail training as
    if the chunk held infinities: they get an error of their own instead.
    """
    with np.errstate(over="ignore"):
        cast = X.astype(dtype)
    if not np.all(np.isfinite(cast.data if sp.issparse(cast) else cast)):
        _raise_if_not_finite(X, estimator)  # NaN or inf in the chunk itself
        raise ValueError(
            f"X has values beyond the range of {np.dtype(dtype).name}, the dtype the model "
            f"was trained in (largest {np.finfo(dtype).max:.4g}). Scale the input, or train "
            "the model on float64 data."
        )
    return cast


def _relative_to_peak(weights):
    """``weights`` divided by their largest value.

    The same weighted means, without overflow in their sums (weights near the float64
    maximum).
    """
    peak = weights.max(initial=0.0)
    return weights / peak if peak > 0 else weights


def _positive_sum(weights):
    """The sum of the training weights ``weights`` (float64); an error if it is zero."""
    total = float(np.sum(weights, dtype=np.float64))
    if total <= 0:
        raise ValueError(
            "The sample weights (times the class weights) of the training samples "
            "sum to zero; at least one must be positive."
        )
    return total


def _encode_labels(y):
    """Sorted classes of ``y``, the class index of every label, and each class's count.

    The indices are int32, as the kernels take them. Small-range integer labels (the usual
    case) are counted, O(n), and the counts serve twice; others go through ``np.unique``,
    which hashes (cheaper than a sort of a million labels). Two values in a row (0/1
    labels) are counted by one count of nonzeros, and labels that fill their range are
    their own indices: on 800,000 binary labels, 0.6 instead of 2.6 ms (``np.bincount``
    took 1.2 ms of it, looking each label's index up 0.8 ms).
    """
    if y.dtype.kind in "iu" and y.size:
        low, high = int(y.min()), int(y.max())
        bounds = np.iinfo(np.intp)
        if high - low < max(1024, y.size) and bounds.min <= low and high <= bounds.max:
            offset = y.astype(np.intp, copy=False)
            if low:  # labels from 0 are their own offsets (no temporary: 0.18 ms on D1)
                offset = offset - low
            if high - low == 1:
                ones = np.count_nonzero(offset)
                counts = np.array([offset.shape[0] - ones, ones])
            else:
                counts = np.bincount(offset, minlength=high - low + 1)
            present = counts > 0
            classes = (np.flatnonzero(present) + low).astype(y.dtype)
            if present.all():  # every value in [low, high] is a class: its own index
                return classes, offset.astype(np.int32), counts
            # class index of each value in [low, high]
            position = (np.cumsum(present) - 1).astype(np.int32)
            return classes, position[offset], counts[present]
    classes = np.unique(y)
    y_index = np.searchsorted(classes, y).astype(np.int32)
    return classes, y_index, np.bincount(y_index, minlength=classes.shape[0])


class _DivergenceError(ValueError):
    """The weights or the loss became non-finite during training."""


def _is_text_like(X):
    """Whether ``X`` is sparse like text: under 1% nonzeros, and some of them."""
    return (
        sp.issparse(X)
        and X.nnz < DENSE_LIKE_DENSITY * X.shape[0] * X.shape[1]
        # no feature at all: an intercept-only model, which one-sample steps without
        # averaging left wherever its last noisy step went (p = 0.24-0.34 for 0.30)
        and bool(X.data[:64].any() or X.data.any())  # the head suffices, in the usual case
    )


class SGDLogitClassifier(
    CallbackSupportMixin, LinearClassifierMixin, SparseCoefMixin, BaseEstimator
):
    r"""Logistic regression trained by mini-batch stochastic gradient descent.

    Binary problems fit :math:`p(y=1|x) = \sigma(x^T w + b)`; problems with :math:`K > 2`
    classes fit a multinomial (softmax) model, as :class:`~sklearn.linear_model.LogisticRegression`
    does. The objective, with sample weights :math:`s_i`, is

    .. math::

        J(w, b) = \frac{1}{\sum_i s_i} \sum_i s_i \, \ell(y_i, x_i^T w + b) + \alpha R(w)

    with :math:`R(w) = \tfrac12 \|w\|_2^2` (``'l2'``), :math:`\|w\|_1` (``'l1'``) or
    :math:`\tfrac{1-\rho}{2}\|w\|_2^2 + \rho\|w\|_1` (``'elasticnet'``). It is the objective
    of ``LogisticRegression(C)`` with :math:`\alpha = 1 / (C \sum_i s_i)`.

    Training visits the samples in a shuffled order (``X`` is never copied) and updates the
    weights once per batch of ``batch_size`` samples with the mean gradient of the batch,
    in compiled kernels.

    Parameters
    ----------
    penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
        Regularizer :math:`R(w)`.
    alpha : float, default=1e-4
        Regularization strength on the mean loss (the "lambda" of a training loop that adds
        :math:`\tfrac12 \lambda \|w\|^2` to the mean loss).
    l1_ratio : float, default=0.15
        Elastic-net mixing :math:`\rho` in [0, 1]; only used with ``penalty='elasticnet'``.
    fit_intercept : bool, default=True
        Whether to fit the (unpenalized) intercept.
    batch_size : int or 'auto', default='auto'
        Samples per update; the last batch of an epoch (or a ``partial_fit`` chunk) may
        be smaller, and then takes a step in proportion to its size. ``'auto'`` uses
        ``n_samples // 200`` clipped to [8, 512] (to [8, 256] for Adam, whose step per
        update is fixed, and at most ``n_samples``) for dense input and for sparse input
        with at least 1% nonzeros, and 1 for sparser (text-like) input trained by plain
        SGD: such an update costs only the nonzeros of its rows, and sparse features rarely
        meet in a batch, so larger batches only dilute each update.
        Momentum and Adam move every coefficient at every update, so on text-like input
        they take the batches of dense input.
    learning_rate : {'auto', 'constant', 'optimal', 'invscaling', 'adaptive'}, default='auto'
        Step-size schedule, with ``t`` the number of updates made so far and ``B`` the batch
        size:

        - ``'auto'``: :math:`\eta_0 / (1 + \alpha \eta_0 t)`;
        - ``'constant'``: :math:`\eta_0`;
        - ``'optimal'``: :math:`1 / (\alpha (t_0 / B + t))`, :math:`t_0 = \alpha^{-3/4}`
          (SGDClassifier's schedule; identical to it with ``batch_size=1``; larger
          batches cap it at the stable step of SGD, Adam at ``eta0``);
        - ``'invscaling'``: :math:`\eta_0 / (t + 1)^{power\_t}`;
        - ``'adaptive'``: :math:`\eta_0`, divided by 5 each time the monitored loss fails to
          improve by ``tol`` for ``n_iter_no_change`` epochs; training stops when it falls
          below 1e-6.
    eta0 : float or 'auto', default='auto'
        Initial or constant step size. ``'auto'`` estimates the curvature :math:`L_B` of the
        mean loss of a batch from the data and uses :math:`c / (L_B + \alpha_2)`, with
        :math:`\alpha_2` the L2 part of the penalty and :math:`c` 1 (1.5 for
        ``batch_size=1``, whose curvature is exact), times ``1 - momentum`` with momentum,
        or 1e-3 with ``solver='adam'``. Not used by ``'optimal'``, except as the cap of its
        steps with ``solver='adam'``.
    power_t : float, default=0.5
        Exponent of the ``'invscaling'`` schedule, at least 0.
    solver : {'sgd', 'adam'}, default='sgd'
        Update rule: SGD (with heavy-ball ``momentum``) or Adam (betas 0.9, 0.999, eps 1e-8),
        both applied to the gradient of the objective (L2 included).
    momentum : float, default=0.0
        Heavy-ball momentum in [0, 1) for ``solver='sgd'``.
    average : bool, int or 'auto', default='auto'
        Polyak-Ruppert averaging: ``coef_`` is the mean of the weights after every update
        once ``average`` samples have been seen (``True`` means from the first one);
        ``False`` returns the last iterate. Averaging removes most of the gradient noise of
        a large constant step, so one pass over a large data set lands close to the optimum.
        ``'auto'`` averages with ``learning_rate='auto'`` and an L2 (or no) penalty, dense
        input and sparse input with at least 1% nonzeros, and nothing else: the other
        schedules already shrink their steps (and their large early steps would dominate
        the average), an average of sparse iterates is not sparse, and the per-sample
        updates of text-like sparse input reach the optimum sooner without it (see
        ``benchmarks/README.md``). ``'auto'`` averages the tail of the run: the average
        starts again at epochs 2, 4, 8, …, so that it covers the epochs since the last
        power of two (from the last epoch alone to the last half), and the first
        iterates, far from the optimum, do not hold long runs back.
    max_iter : int, default=1000
        Maximum number of epochs.
    tol : float or None, default=1e-3
        Training stops when the monitored loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. ``None`` runs ``max_iter`` epochs.
    n_iter_no_change : int, default=2
        Epochs without improvement before stopping (or, for ``'adaptive'``, reducing the step).
        Lower than SGDClassifier's 5: with averaging, one or two epochs over a large data set
        already land near the optimum, and more epochs only cost time (see
        ``benchmarks/README.md``).
    early_stopping : bool, default=False
        Monitor the log-loss on validation data (``X_val``, or a stratified
        ``validation_fraction`` of the training data) instead of the training objective.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping`` is on and no ``X_val``
        is given.
    shuffle : bool, default=True
        Visit the samples in a new random order every epoch. When ``X`` is larger than
        32 MB, the order shuffles blocks of consecutive rows rather than single rows:
        scattered rows would each miss the CPU caches (on 800,000 x 100 rows, epochs 2.3x
        slower than in blocks of 16, 2.8x than in blocks of 32). Blocks have 8 rows, or 16
        for batches of 256 to 511 rows and 32 for larger batches (batches of 128 rows or
        more mix at least 16 random blocks). Dense rows visit 16 random runs of 4
        consecutive blocks side by side, one block of each in turn, which the CPU
        prefetches better (epochs 4-16% faster).
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into the sample weights.
    warm_start : bool, default=False
        Start ``fit`` from the previous ``coef_`` and ``intercept_``. A ``fit`` that
        raises then leaves the previous model as it was (without ``warm_start``, it leaves
        an unfitted estimator).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling, the validation split and the curvature estimate; the same seed
        gives bit-identical results.
    n_jobs : int or None, default=None
        Threads for dense input: each batch is split into up to ``n_jobs`` chunks of at
        least 16 rows whose gradients are computed in parallel, when a batch carries at
        least 256 multiply-adds (``batch_size * n_features * n_outputs``); sparse input
        and smaller batches run on one thread. ``None`` means 1, ``-1`` all cores and
        ``-2`` all but one (0 is refused).
        Results depend on ``n_jobs`` (the rounding of the chunk sums) but never on thread
        timing. The kernels release the GIL, so parallel fits (``GridSearchCV(n_jobs=...)``
        with threads) scale too.
        Prediction on dense input splits the rows among ``n_jobs`` threads when
        ``X.size`` times the number of outputs (1 for two classes) is at least a million;
        below that, one thread is faster.
    verbose : int, default=0
        With ``verbose >= 1``, print one line per epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, in the dtype of ``X`` (float32 or float64); a CSR matrix after
        :meth:`sparsify`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.
    n_iter_ : int
        Epochs run by the last ``fit`` (or in total by ``partial_fit`` calls).
    t_ : int
        Updates (batches) made.
    loss_curve_ : list of float
        Training objective per epoch: the mean loss of the batches seen during the epoch
        (before their updates) plus the penalty of the model ``coef_`` shows at its end.
    validation_loss_curve_ : list of float
        Validation log-loss per epoch, when validation data is used.
    validation_scores_ : list of float
        Validation accuracy per epoch, when validation data is used.
    best_loss_ : float
        Best value of the monitored loss.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : Batch solvers for the same model.
    sklearn.linear_model.SGDClassifier : Per-sample SGD for linear models (one-vs-rest).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sgdlogit import SGDLogitClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0)).fit(X, y)
    >>> round(clf.score(X, y), 2)
    0.99
    """

    _parameter_constraints: ClassVar[dict] = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "learning_rate": [StrOptions({"auto", "constant", "optimal", "invscaling", "adaptive"})],
        "eta0": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        # SGDClassifier deprecated negative values in 1.8 (an error from 1.10): the step grew
        "power_t": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"sgd", "adam"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "average": [Interval(Integral, 1, None, closed="left"), "boolean", StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        # 0 has no meaning (joblib refuses it only once fit runs)
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        batch_size="auto",
        learning_rate="auto",
        eta0="auto",
        power_t=0.5,
        solver="sgd",
        momentum=0.0,
        average="auto",
        max_iter=1000,
        tol=1e-3,
        n_iter_no_change=2,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        class_weight=None,
        warm_start=False,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.solver = solver
        self.momentum = momentum
        self.average = average
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ public API

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        coef_init=None,
        intercept_init=None,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the model by mini-batch SGD for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; they are rescaled to mean one, so only their ratios
            matter.
        coef_init : ndarray of shape (1, n_features) or (n_classes, n_features), default=None
            Initial coefficients: they override the coefficients ``warm_start`` would
            continue from (the intercepts still continue unless ``intercept_init`` is
            given). A binary model also takes them as a vector of shape (n_features,).
            Not modified.
        intercept_init : ndarray of shape (1,) or (n_classes,), default=None
            Initial intercepts (they override those ``warm_start`` would continue from);
            a scalar for a binary model.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data: the validation loss and accuracy are recorded every epoch, and
            monitored for stopping when ``early_stopping`` is on.
        y_val : array-like of shape (n_val,), default=None
            Validation labels.
        sample_weight_val : array-like of shape (n_val,), default=None
            Validation sample weights.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        # warm_start: a failed fit leaves the model it was to continue from, as a failed
        # partial_fit does; otherwise an unfitted estimator, not a broken one
        kept = self._fitted_attributes() if self.warm_start else {}
        try:
            return self._fit(
                X, y, sample_weight, coef_init, intercept_init, X_val, y_val, sample_weight_val
            )
        except Exception:
            self._restore(kept)  # fit replaces these attributes, never changes them
            raise

    def _fit(
        self, X, y, sample_weight, coef_init, intercept_init, X_val, y_val, sample_weight_val
    ):
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together.")
        if sample_weight_val is not None and X_val is None:
            raise ValueError("sample_weight_val requires X_val and y_val.")
        # NaN and inf are found by training itself (see _check_finite_input): sklearn's
        # separate pass over X costs a quarter of a one-epoch fit on large dense data.
        self._check_schedule()
        X, y = validate_data(
            self, X, y, **self._data_checks(), reset=True, ensure_all_finite=False
        )
        _check_csr_structure(X)
        task = FitTask(self, X, y, sample_weight, task_name="fit", max_epochs=self.max_iter)
        _check_labels(y)
        classes, y_index, counts = _encode_labels(y)
        if classes.shape[0] < 2:
            raise ValueError(
                f"The number of classes has to be greater than one; got {classes.shape[0]} class"
            )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        sample_weight = self._fold_class_weight(
            sample_weight, classes, y_index, counts, whole_data=True
        )
        rng = check_random_state(self.random_state)

        train_rows = np.arange(X.shape[0])
        validation = None
        if X_val is not None:
            validation = self._validation_data(X_val, y_val, sample_weight_val, classes)
        elif self.early_stopping:
            train_rows, val_rows = self._validation_split(y_index, sample_weight, rng)
            validation = (
                X[val_rows],
                y_index[val_rows],
                _relative_to_peak(sample_weight[val_rows]),
            )
            self._check_finite_input(validation[0])  # rows training never reads

        # Mean-one weights keep alpha and the step sizes independent of the weights' scale.
        self._weight_factor = self._weight_scale(sample_weight, train_rows)
        sample_weight = self._scaled_weights(sample_weight)

        init = self._initial_weights(coef_init, intercept_init, classes, X.shape[1])
        self.classes_ = classes
        self._class_counts = counts  # where a later partial_fit's 'balanced' starts from
        self._start_training(X, sample_weight, train_rows, init, rng)
        self._train(
            X,
            y_index,
            sample_weight,
            train_rows,
            self.max_iter,
            validation,
            fitting=True,
            task=task,
        )
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of mini-batch SGD over the given samples.

        The model, the schedule and the optimizer state carry over from earlier calls, so
        calling ``partial_fit`` repeatedly over chunks of data trains on data that does not
        fit in memory. If ``coef_`` or ``intercept_`` were changed since the last call, the
        next one continues from them (with a new average when averaging).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call, optional afterwards (if
            given, it must be the same).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        first_call = not hasattr(self, "classes_")
        if not first_call:
            self._validate_changed_params()
        # A failed call (NaN in the chunk, divergence) leaves the estimator as it was, as
        # in SGDClassifier: the chunk is found bad only after training changed the state.
        kept = {} if first_call else self._training_checkpoint()
        try:
            self._partial_fit(X, y, classes, sample_weight, first_call)
        except Exception:
            self._restore(kept)
            raise
        return self

    def _training_checkpoint(self):
        """The fitted attributes, with copies of what training changes in place."""
        kept = self._fitted_attributes()
        for name in ("loss_curve_", "validation_loss_curve_", "validation_scores_"):
            if name in kept:
                kept[name] = list(kept[name])
        if kept.get("_state") is not None:
            kept["_state"] = kept["_state"].copy()
        if "_rng" in kept:  # the generator's state: a copy of the generator takes 25 us
            kept["_rng_state"] = self._rng.bit_generator.state
        return kept

    def _partial_fit(self, X, y, classes, sample_weight, first_call):
        self._check_schedule()
        X, y = validate_data(
            self, X, y, **self._data_checks(), reset=first_call, ensure_all_finite=False
        )
        _check_csr_structure(X)
        task = FitTask(self, X, y, sample_weight, task_name="partial_fit")
        _check_labels(y)
        _check_partial_fit_first_call(self, classes)
        if self.classes_.shape[0] < 2:
            n_classes = self.classes_.shape[0]
            raise ValueError(
                "The number of classes has to be greater than one; "
                f"got {n_classes} class{'es' if n_classes != 1 else ''}"
            )
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"Expected only labels in classes_ = {self.classes_}, but got {unknown}."
            )
        y_index = np.searchsorted(self.classes_, y)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        counts = getattr(self, "_class_counts", np.zeros(self.classes_.shape[0]))
        # 'balanced' uses the class frequencies of every sample seen so far
        counts = counts + np.bincount(y_index, minlength=self.classes_.shape[0])
        sample_weight = self._fold_class_weight(sample_weight, self.classes_, y_index, counts)
        rows = np.arange(X.shape[0])
        if first_call or not hasattr(self, "_weight_factor"):
            # One factor for every later chunk (as after fit): weights keep their ratios
            # across calls, and the first chunk's mean weight is one.
            self._weight_factor = self._weight_scale(sample_weight, rows)
        sample_weight = self._scaled_weights(sample_weight)
        if not np.all(np.isfinite(sample_weight)):
            raise ValueError(
                "The sample weights (times the class weights) of this chunk are too large "
                "relative to those of the first partial_fit call: scaled like them, they "
                f"overflow {X.dtype} (the first call's largest weight was "
                f"{self._weight_factor[0]:.3g}). "
                "Give every chunk weights of a similar scale."
            )
        self._weight_sum(sample_weight, rows)
        if getattr(self, "_state", None) is None:
            init = None
            if hasattr(self, "coef_"):  # a model without training state (sgdlogit.dask's)
                init = self._initial_weights(
                    self.coef_, self.intercept_, self.classes_, X.shape[1]
                )
            self._start_training(
                X, sample_weight, rows, init, check_random_state(self.random_state)
            )
        else:
            used = getattr(self, "_step_setting_used", self._step_setting())
            batch_setting = self._batch_setting()
            resized = batch_setting != getattr(self, "_batch_size_setting", batch_setting)
            if resized:
                self._resize_batches(X, sample_weight, rows)
            # CSR rows, and a model without intercept, are never centered: a step sized for
            # centered updates of dense rows with offsets can be too long for them
            uncentered = self._state.center.size > 0 and (sp.issparse(X) or not self.fit_intercept)
            if uncentered:
                self._reestimate_steps(X, sample_weight, rows)
            if resized or uncentered or self._step_setting() != used:
                # set_params between calls: the new batch size, optimizer or eta0 starts at
                # its own step, and another optimizer from a state of its own (Adam took
                # the velocity of momentum for its first moment: a first step 87 times its own)
                if self.solver != used[1]:
                    self._state.reset_optimizer()
                self._restart_step(self._state)
            if self._state.W.dtype != X.dtype:
                X = _cast_chunk(X, self._state.W.dtype, self)
            self._resume_from_shown_model(X.shape[1])
            if self.average != getattr(self, "_average_setting", self.average):
                self._change_average(_is_text_like(X))
        self._class_counts = counts
        self._train(X, y_index, sample_weight, rows, 1, None, fitting=False, task=task)

    def _resume_from_shown_model(self, n_features):
        """Continue training from ``coef_`` and ``intercept_`` if they were changed.

        The training state keeps the last iterate apart from the averaged model that
        ``coef_`` shows. A hand-made change of ``coef_`` or ``intercept_`` between
        ``partial_fit`` calls (new arrays or in place) would else be lost: as
        SGDClassifier, training goes on from the model the estimator shows. The schedule
        and the optimizer state carry on; an average restarts from the new weights.
        """
        state = self._state
        shown = state.averaged_model()
        coef, intercept = _dense_coef(self.coef_), np.asarray(self.intercept_)
        # array_equal is False for arrays of another shape too
        if np.array_equal(coef, shown[:, :-1]) and np.array_equal(intercept, shown[:, -1]):
            return
        try:
            coef, intercept = self._initial_weights(coef, intercept, self.classes_, n_features)
        except ValueError as error:
            raise ValueError(
                f"coef_ or intercept_ changed since the last partial_fit call: {error}"
            ) from None
        state.W[:, :-1] = coef
        state.W[:, -1] = intercept
        if state.avg.size:
            state.restart_average()

    def decision_function(self, X):
        """Confidence scores: the logits :math:`x^T w + b` of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The logit of ``classes_[1]`` for a binary model, of every class otherwise.
        """
        scores = self._scores(X, proba=False)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, in the order of ``classes_``.
        """
        return self._scores(X, proba=True)

    def _scores(self, X, *, proba):
        """Logits (n_samples, n_outputs) or probabilities (n_samples, n_classes) of X."""
        check_is_fitted(self)
        # NaN and inf are looked for in the logits, not in X: a non-finite feature always
        # makes its logit non-finite, and one pass over X fewer makes prediction 2x faster.
        plain_array = _passes_check_array(X)
        if plain_array and not hasattr(self, "feature_names_in_"):
            # all that validate_data would check: neither X nor the model has feature
            # names to compare (looking for them in an ndarray took 13 us, half of a
            # one-row predict_proba)
            _check_n_features(self, X, reset=False)
        else:
            X = validate_data(
                self,
                X,
                accept_sparse="csr",
                reset=False,
                ensure_all_finite=False,
                skip_check_array=plain_array,
            )
        from sgdlogit import _prediction

        coef = self.coef_
        self._check_model_shape(coef)
        if isinstance(X, np.ndarray) and not _prediction.kernel_applies(X):
            # Fortran order, integers, a DataFrame's values: one copy, then the compiled
            # pass (100,000 rows of 50 features, 100 classes: 216 ms through einsum, 43 ms)
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
            X = np.ascontiguousarray(X, dtype=dtype)
        if sp.issparse(coef) and coef.shape[0] * coef.shape[1] * coef.dtype.itemsize <= _nbytes(X):
            # a sparsified coef_ (sparsify): scipy's products with it take 2-8x as long as
            # with the dense array, which costs no more memory than X here
            coef = _dense_coef(coef)
        if _prediction.kernel_applies(X) and not sp.issparse(coef):
            # one compiled pass computes the logits and, if asked, the probabilities
            out, all_finite = _prediction.dense_scores(
                X, coef, self.intercept_, proba=proba, n_jobs=self.n_jobs
            )
            if not all_finite:
                # the probabilities hide a NaN logit (a binary one became (1, 0)): look again
                logits = out
                if proba:
                    logits, _ = _prediction.dense_scores(
                        X, coef, self.intercept_, proba=False, n_jobs=self.n_jobs
                    )
                self._check_logits(X, logits, coef)
        else:
            _check_csr_structure(X)  # scipy's product would read outside X (or crash)
            if sp.issparse(coef):
                # the product skips zero coefficients: a NaN feature may not reach a logit
                self._check_finite_input(X)
            out = _matmul(X, coef.T) + self.intercept_
            if not np.all(np.isfinite(out)):
                self._check_logits(X, out, coef)
            if proba:
                out = _probabilities(out)
        return out

    def _check_logits(self, X, logits, coef):
        """Raise for the cause of non-finite ``logits``, if any.

        NaN or inf in ``X``, in the model, or products beyond the float range (NaN);
        infinite logits of finite rows and model are kept.
        """
        self._check_finite_input(X)
        if np.isnan(logits).any():
            values = coef.data if sp.issparse(coef) else coef
            if not (np.all(np.isfinite(values)) and np.all(np.isfinite(self.intercept_))):
                raise ValueError("coef_ or intercept_ contains NaN or infinity.")
            raise ValueError(
                "The logits of some samples are undefined: their products with coef_ "
                "overflow (features too large for the model). Scale the input, e.g. with "
                "StandardScaler."
            )

    def _check_model_shape(self, coef):
        """Raise if ``coef_`` or ``intercept_`` (which a user may set) do not fit the model.

        The compiled prediction kernel reads ``n_features_in_`` coefficients per output
        whatever the shape of ``coef_``.
        """
        n_classes = self.classes_.shape[0]
        shape = (1 if n_classes == 2 else n_classes, self.n_features_in_)
        if coef.shape != shape or np.shape(self.intercept_) != shape[:1]:
            raise ValueError(
                f"coef_ of shape {coef.shape} and intercept_ of shape "
                f"{np.shape(self.intercept_)} do not fit a model of {n_classes} classes and "
                f"{self.n_features_in_} features: expected {shape} and {shape[:1]}."
            )

    def predict_log_proba(self, X):
        """Logarithm of the probability of each class, computed without underflow.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, in the order of ``classes_``.
        """
        decision = self.decision_function(X)
        if decision.ndim == 1:
            return np.column_stack([log_expit(-decision), log_expit(decision)])
        return _softmax(decision, log=True)

    def sparsify(self):
        """Store ``coef_`` as a CSR matrix.

        With an L1 or elastic-net penalty most coefficients can be exactly zero; a CSR
        ``coef_`` then takes less memory and space on disk. With few zeros it takes more
        memory: it pays off when ``(coef_ == 0).mean()`` is above about one half.
        ``intercept_`` stays dense.

        Prediction gives the same results as with the dense ``coef_``, as fast: rows that
        take more memory than the dense ``coef_`` would are scored with a temporary dense
        copy of it, fewer rows with the CSR matrix. Fitting again (``fit`` with
        ``warm_start``, or ``partial_fit``) also works, and leaves a dense ``coef_``, as
        every fit does.

        Returns
        -------
        self : SGDLogitClassifier
            The estimator, with a ``scipy.sparse.csr_matrix`` ``coef_``.
        """
        return super().sparsify()

    def densify(self):
        """Store ``coef_`` as a dense array again, as after :meth:`fit`.

        Does nothing if ``coef_`` is already dense.

        Returns
        -------
        self : SGDLogitClassifier
            The estimator, with an ndarray ``coef_``.
        """
        return super().densify()

    # ------------------------------------------------------------------ helpers

    def _data_checks(self):
        return dict(
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
        )

    def _check_finite_input(self, X):
        """Raise scikit-learn's error for NaN or infinite values in ``X``.

        Prediction calls it only when a logit is not finite. ``fit`` and ``partial_fit``
        skip this pass over X up front: a non-finite feature always makes the weights or
        the loss non-finite within the epoch that reads it (``x * w`` is NaN or inf
        whatever ``w``, and every gradient term is a multiple of ``x``), and the epoch loop
        checks both after every epoch.
        """
        _raise_if_not_finite(X, self)

    def _fold_class_weight(
        self, sample_weight, classes, y_index, class_counts, *, whole_data=False
    ):
        """Multiply the class weights into the sample weights.

        ``class_counts`` (samples per class) defines the frequencies used by 'balanced'.
        Only the ratios of the class weights matter, so they are scaled to a largest value
        of 1 (a product with sample weights near the float64 maximum would overflow):
        always for a dict, for 'balanced' when the rows are all the data (``fit``; in
        ``partial_fit`` their scale follows the running counts from call to call).
        """
        if self.class_weight is None:
            return sample_weight
        if self.class_weight == "balanced":
            present = class_counts > 0
            class_weight = np.ones(classes.shape[0])
            class_weight[present] = class_counts.sum() / (present.sum() * class_counts[present])
            if whole_data:
                class_weight = _relative_to_peak(class_weight)
        else:
            class_weight = compute_class_weight(self.class_weight, classes=classes, y=classes)
            if not np.all(np.isfinite(class_weight)) or np.any(class_weight < 0):
                raise ValueError(
                    "class_weight values must be finite and non-negative; got "
                    f"{self.class_weight}."
                )
            class_weight = _relative_to_peak(class_weight)
        return sample_weight * class_weight[y_index].astype(sample_weight.dtype)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coef_")

    _FITTED_ATTRIBUTES = (
        "classes_", "coef_", "intercept_", "n_features_in_", "feature_names_in_", "n_iter_",
        "t_", "loss_curve_", "validation_loss_curve_", "validation_scores_", "best_loss_",
        "_state", "_rng", "_batch_size", "_intercept_scale", "_class_counts",
        "_weight_factor", "_no_improvement", "_average_from", "_eta_estimate",
        "_step_setting_used", "_step_batch", "_batch_size_setting", "_checked_params",
        "_average_setting",
    )  # fmt: skip

    def _validate_changed_params(self):
        """Check the parameters if they changed since they were last checked.

        scikit-learn's fit context checks those of the first ``partial_fit`` call only: a
        value set between calls (``eta0=-0.5``, ``batch_size=0``) trained uphill or failed
        inside training. Checking them at every call would cost 85 us, a fifth of a call on
        100 rows.
        """
        params = tuple(getattr(self, name) for name in self._parameter_constraints)
        if params != getattr(self, "_checked_params", None):
            self._validate_params()
            self._checked_params = params

    def _fitted_attributes(self):
        return {
            name: self.__dict__[name] for name in self._FITTED_ATTRIBUTES if name in self.__dict__
        }

    def _restore(self, kept):
        """Go back to the fitted attributes ``kept`` (see :meth:`_training_checkpoint`)."""
        rng_state = kept.pop("_rng_state", None)
        self._forget_fit()
        self.__dict__.update(kept)
        if rng_state is not None:
            self._rng.bit_generator.state = rng_state

    def _forget_fit(self):
        for name in self._FITTED_ATTRIBUTES:
            self.__dict__.pop(name, None)

    @classmethod
    def _weight_scale(cls, sample_weight, rows):
        """``(peak, factor)``: ``w / peak * factor`` has mean one over ``rows``.

        Dividing by the largest weight first keeps sums of huge or subnormal weights exact.
        """
        weights = _rows_of(sample_weight, rows)  # only these rows: others may be far larger
        peak = float(np.max(weights, initial=0.0))
        if not peak > 0:
            _positive_sum(weights * 0.0)  # raises the zero-sum error
        relative = weights if peak == 1.0 else weights / peak  # no temporary for a peak of 1
        return peak, rows.shape[0] / _positive_sum(relative)

    def _scaled_weights(self, sample_weight):
        """``sample_weight`` scaled by ``_weight_factor`` (see :meth:`_weight_scale`).

        A weight above the peak of the rows that set the factor may overflow to inf (held-out
        validation rows, which training never reads; later ``partial_fit`` chunks, which
        check): no warning.
        """
        peak, factor = self._weight_factor
        if peak == 1.0 and factor == 1.0:
            # weights of one (none given, the usual case): dividing and multiplying by 1
            # would copy them twice unchanged (1 ms of D1's 121 ms default fit)
            return sample_weight
        with np.errstate(over="ignore"):
            return sample_weight / peak * factor

    @staticmethod
    def _weight_sum(sample_weight, rows):
        return _positive_sum(_rows_of(sample_weight, rows))

    def _validation_data(self, X_val, y_val, sample_weight_val, classes):
        X_val, y_val = validate_data(self, X_val, y_val, **self._data_checks(), reset=False)
        _check_csr_structure(X_val)
        unknown = np.setdiff1d(np.unique(y_val), classes)
        if unknown.size:
            raise ValueError(f"y_val contains labels not seen in y: {unknown}.")
        weights = _check_sample_weight(
            sample_weight_val, X_val, dtype=X_val.dtype, ensure_non_negative=True
        )
        return X_val, np.searchsorted(classes, y_val), _relative_to_peak(weights)

    def _validation_split(self, y_index, sample_weight, rng):
        """Hold out ``validation_fraction`` of the rows, stratified when the data allows."""
        rows = np.arange(y_index.shape[0])
        if rows.shape[0] < 2:
            raise ValueError(
                "early_stopping needs at least 2 samples to hold out a validation set; "
                f"got {rows.shape[0]}. Pass X_val and y_val or disable early_stopping."
            )
        n_val = max(1, round(self.validation_fraction * rows.shape[0]))
        counts = np.bincount(y_index)
        # the row of a class of one stays in training: held out, its class went untrained
        single = counts[y_index] <= 1
        pool, kept = rows[~single], rows[single]
        if pool.shape[0] == 0:
            # (SGDClassifier and MLPClassifier refuse such data too)
            raise ValueError(
                "early_stopping cannot hold out a validation set: every class has a single "
                "sample, and the class of a held-out sample would go untrained. Pass X_val "
                "and y_val or disable early_stopping."
            )
        n_val = min(n_val, pool.shape[0] - 1)
        n_classes = np.count_nonzero(np.bincount(y_index[pool]))
        stratify = None
        if n_classes <= n_val <= pool.shape[0] - n_classes and counts[y_index[pool]].min() >= 2:
            stratify = y_index[pool]
        # Tiny data cannot be stratified: fall back to a plain random split.
        train_rows, val_rows = train_test_split(
            pool, test_size=n_val, stratify=stratify, random_state=rng
        )
        if stratify is None:  # every class keeps a training row while one is held out
            held_out = y_index[val_rows]
            labels, first = np.unique(held_out, return_index=True)
            back = first[~np.isin(labels, y_index[train_rows])]  # a row of each untrained class
            if back.shape[0] < val_rows.shape[0]:
                train_rows = np.concatenate([train_rows, val_rows[back]])
                val_rows = np.delete(val_rows, back)
        # (not np.setdiff1d(rows, pool): 1.2 s on 2 million rows)
        train_rows = np.concatenate([train_rows, kept])
        if sample_weight[val_rows].max() <= 0:  # not the sum: it may overflow
            raise ValueError(
                "Every sample of the validation split has zero weight (sample weight "
                "times class weight); pass X_val and y_val or disable early_stopping."
            )
        return np.sort(train_rows), np.sort(val_rows)

    def _initial_weights(self, coef_init, intercept_init, classes, n_features):
        """Initial (coef, intercept) or None: from the arguments, or the warm start."""
        n_outputs = 1 if classes.shape[0] == 2 else classes.shape[0]
        warm = self.warm_start and hasattr(self, "coef_")
        if coef_init is None and intercept_init is None and not warm:
            return None
        if warm and (coef_init is None or intercept_init is None):
            # as SGDClassifier: the part not given continues from the previous fit
            if not np.array_equal(self.classes_, classes):
                raise ValueError(
                    "warm_start requires the same classes as the previous fit; got "
                    f"{classes}, previously {self.classes_}."
                )
            if self.coef_.shape[1] != n_features:
                raise ValueError(
                    "warm_start requires the same features as the previous fit; X has "
                    f"{n_features} features, previously {self.coef_.shape[1]}."
                )
            coef_init = self.coef_ if coef_init is None else coef_init
            intercept_init = self.intercept_ if intercept_init is None else intercept_init
        # SGDClassifier's shapes: (n_outputs, n_features) and (n_outputs,); a binary model
        # also takes its coefficients in any shape of n_features values, its intercept as
        # a scalar. A multiclass coef_init of the right size but another shape (transposed)
        # is refused, not reshaped.
        coef = np.zeros((n_outputs, n_features))
        if coef_init is not None:
            coef_init = _dense_coef(coef_init).astype(np.float64)  # also a sparsified coef_
            binary_vector = n_outputs == 1 and coef_init.size == n_features
            if coef_init.shape != coef.shape and not binary_vector:
                raise ValueError(
                    f"coef_init has shape {coef_init.shape}; expected "
                    f"({n_outputs}, {n_features}) for {classes.shape[0]} classes and "
                    f"{n_features} features."
                )
            coef = coef_init.reshape(n_outputs, n_features)
        intercept = np.zeros(n_outputs)
        if intercept_init is not None:
            intercept_init = np.asarray(intercept_init, dtype=np.float64)
            binary_scalar = n_outputs == 1 and intercept_init.shape == ()
            if intercept_init.shape != intercept.shape and not binary_scalar:
                raise ValueError(
                    f"intercept_init has shape {intercept_init.shape}; expected "
                    f"({n_outputs},) for {classes.shape[0]} classes."
                )
            intercept = intercept_init.reshape(n_outputs)
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            raise ValueError("coef_init and intercept_init must be finite.")
        return coef, intercept

    def _momentum_or_adam(self):
        """Whether updates go through momentum or Adam, which move every coefficient."""
        return self.solver == "adam" or self.momentum > 0

    def _batch_setting(self):
        """What the resolved batch size follows: ``batch_size``, and the optimizer with 'auto'."""
        if self.batch_size == "auto":
            return ("auto", self.solver, self._momentum_or_adam())
        return self.batch_size

    def _resolved_batch_size(self, n_samples, text_like):
        if self.batch_size == "auto":
            # momentum and Adam move every coefficient at every update, sparse rows or not
            if text_like and not self._momentum_or_adam():
                return 1
            low, high = AUTO_BATCH_RANGE
            if self.solver == "adam":
                high = ADAM_AUTO_BATCH_MAX
            return max(1, min(n_samples, high, max(low, n_samples // AUTO_UPDATES_PER_EPOCH)))
        return int(self.batch_size)

    def _start_training(self, X, sample_weight, train_rows, init, rng):
        """Allocate the training state and resolve the step-size settings."""
        from sgdlogit._training import TrainingState

        n_outputs = 1 if self.classes_.shape[0] == 2 else self.classes_.shape[0]
        text_like = _is_text_like(X)
        batch_size = self._resolved_batch_size(train_rows.shape[0], text_like)
        self._batch_size_setting = self._batch_setting()
        # a batch can hold no more rows than there are: the step is estimated for that
        step_batch = min(batch_size, train_rows.shape[0])
        self._average_from = self._resolved_average(text_like)
        self._average_setting = self.average
        state = TrainingState.zeros(
            n_outputs,
            X.shape[1],
            X.dtype,
            l1=self.penalty in ("l1", "elasticnet") and self.alpha > 0,
            adaptive=self._momentum_or_adam(),
            average=bool(self._average_from),
        )
        if init is not None:
            state.W[:, :-1] = init[0]
            state.W[:, -1] = init[1]
        eta0, intercept_scale, state.center = self._estimate_steps(
            X, sample_weight, train_rows, step_batch, rng
        )
        self._eta_estimate = eta0
        self._restart_step(state)
        self._state = state
        self._batch_size = batch_size
        self._step_batch = step_batch
        self._intercept_scale = intercept_scale
        # epochs draw their order from a PCG64 generator seeded by random_state: its
        # permutations cost a third less than RandomState's, which matters at 1e6 rows
        self._rng = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        self._reset_monitoring()

    def _check_schedule(self):
        """SGDClassifier's check, before any training state changes (also after set_params)."""
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used to "
                "compute the optimal learning rate."
            )

    def _step_setting(self):
        return (self.eta0, self.solver, self.momentum)

    def _restart_step(self, state):
        """Start ``state.eta`` at the first step of the current step settings."""
        state.eta = self._initial_eta()
        self._step_setting_used = self._step_setting()

    def _initial_eta(self):
        """The first step for the current ``eta0``, ``solver`` and ``momentum``."""
        if self.eta0 != "auto":
            return float(self.eta0)
        if self.solver == "adam":
            return ADAM_ETA0
        return self._eta_estimate * (1.0 - self.momentum)

    def _reset_monitoring(self):
        self.loss_curve_ = []
        self.validation_loss_curve_ = []
        self.validation_scores_ = []
        self.best_loss_ = np.inf
        self.n_iter_ = 0
        self._no_improvement = 0

    def _hyper(self):
        from sgdlogit._training import make_hyper

        intercept_scale = self._intercept_scale
        if self.learning_rate == "optimal" and np.isinf(self._optimal_max_step(self._batch_size)):
            # SGDClassifier's huge early steps: never speed the intercept up beyond them
            intercept_scale = min(intercept_scale, 1.0)
        return make_hyper(
            alpha=self.alpha,
            penalty=self.penalty,
            l1_ratio=self.l1_ratio,
            momentum=self.momentum,
            solver=self.solver,
            fit_intercept=self.fit_intercept,
            intercept_scale=intercept_scale,
        )

    def _resize_batches(self, X, sample_weight, rows):
        """Batches of a ``batch_size`` set since the last ``partial_fit`` call, from this one.

        ``'auto'`` is resolved on this chunk, and with ``eta0='auto'`` the step is estimated
        again for batches of the new size (it grows with them); the schedule carries on.
        """
        self._batch_size = self._resolved_batch_size(rows.shape[0], _is_text_like(X))
        self._step_batch = min(self._batch_size, rows.shape[0])
        self._batch_size_setting = self._batch_setting()
        self._reestimate_steps(X, sample_weight, rows)

    def _reestimate_steps(self, X, sample_weight, rows):
        """Estimate the step, the intercept's scale and the centering again on a chunk.

        The three go together: the intercept's scale of plain updates with a centered
        step made the loss of rows with offsets climb to 14. Without an intercept the
        scale found is 0; the last one stays for when ``fit_intercept`` is set again.
        """
        self._eta_estimate, intercept_scale, self._state.center = self._estimate_steps(
            X, sample_weight, rows, self._step_batch, check_random_state(self.random_state)
        )
        if self.fit_intercept:
            self._intercept_scale = intercept_scale

    def _optimal_max_step(self, batch_size):
        """Cap of the ``'optimal'`` schedule's steps: the stable step of SGD on batches.

        With batches of ``B`` rows the schedule's first steps are ``B`` times a per-sample
        one, on one gradient where ``B`` per-sample updates see ``B``: they overshot (L1 at
        ``alpha=0.02``, batches of 32: an objective 7 times the optimum's after 300
        epochs). Per-sample updates follow ``SGDClassifier``'s schedule as it is, with the
        intercept's step capped at theirs (see :meth:`_hyper`); capped steps give it its
        own scale, as the other schedules do. Adam moves each coefficient by about its
        step whatever the gradient's size, so the schedule's scale, made for SGD, does not
        apply to it: its steps are capped at Adam's own (``eta0``, 1e-3 for ``'auto'``).
        Uncapped, the first steps of 80 left standardized digits at a training loss
        of 25 (0.05 with ``'constant'``), and the fit stopped on ``tol`` with no warning.
        """
        if self.learning_rate != "optimal":
            return np.inf
        if self.solver == "adam":
            return self._initial_eta()
        if batch_size == 1:
            return np.inf
        return self._eta_estimate * (1.0 - self.momentum)

    def _estimate_steps(self, X, sample_weight, rows, batch_size, rng):
        """:func:`~sgdlogit._schedules.estimate_steps` for this model's penalty."""
        alpha_l2, _ = penalty_strengths(self.penalty, self.alpha, self.l1_ratio)
        try:
            return estimate_steps(
                X,
                sample_weight,
                rows,
                batch_size,
                self.fit_intercept,
                rng,
                alpha_l2,
                centered=True,
            )
        except ValueError:
            self._check_finite_input(X)  # a NaN or inf in the sampled rows
            raise

    def _change_average(self, text_like):
        """Averaging set on or off since the last ``partial_fit`` call, from this one.

        Turned on, the average starts from the coming updates (once ``average`` samples
        have been seen); turned off, ``coef_`` shows the last iterate from this call on.
        """
        self._average_from = self._resolved_average(text_like)
        self._average_setting = self.average
        self._state.set_averaging(bool(self._average_from))

    def _resolved_average(self, text_like):
        """``average`` as False or the number of samples after which averaging starts."""
        if self.average == "auto":
            return not text_like and self.learning_rate == "auto" and self.penalty in ("l2", None)
        return self.average

    def _first_averaged(self, state, batch_size, n_rows):
        """Index of the first update of the coming epoch that enters the average.

        That is the first batch after which ``average`` samples have been seen; the
        count after batch ``b`` of the epoch is ``seen + min((b + 1) * batch_size, n_rows)``.
        """
        n_batches = -(-n_rows // batch_size)
        average = self._average_from
        if not average:
            return n_batches
        start = 1 if average is True else int(average)
        needed = start - state.n_samples_seen
        if needed > n_rows:
            return n_batches
        return max(0, -(-needed // batch_size) - 1)

    def _train(
        self, X, y_index, sample_weight, train_rows, n_epochs, validation, *, fitting, task=NO_TASK
    ):
        """Run ``n_epochs`` epochs (``fit`` may stop earlier), then store the model.

        ``fitting`` is True for ``fit``: the stopping rule can end training and reaching
        ``n_epochs`` warns; ``partial_fit`` always runs its epoch. ``task`` (a
        :class:`~sgdlogit._callbacks.FitTask`) runs the callbacks around every epoch.
        """
        from sgdlogit._training import (
            epoch_order,
            make_epoch_runner,
            n_chunks_for,
            restarts_average,
        )

        state, rng, batch_size = self._state, self._rng, self._batch_size
        n_chunks = n_chunks_for(
            self.n_jobs, batch_size, X.shape[1], state.W.shape[0], sp.issparse(X)
        )
        run_epoch = make_epoch_runner(
            X, y_index, sample_weight, state, self._hyper(), batch_size, n_chunks
        )
        n_rows = train_rows.shape[0]
        n_batches = -(-n_rows // batch_size)
        # A smaller last batch (or partial_fit chunk) takes a step in proportion to its
        # rows: every row then moves the model as much, and the step sized for batch_size
        # rows does not overshoot on one row (n = 1025, batch_size=512: accuracy 0.66
        # against 0.90 without that row).
        # A step estimated from the data (eta0='auto') is sized for batch_size rows, or for
        # fewer if the first training data had fewer: batches of that many take it whole.
        # Any other step is sized for batch_size rows, as documented.
        step_batch = batch_size
        if self.eta0 == "auto" and self.solver == "sgd" and self.learning_rate != "optimal":
            step_batch = getattr(self, "_step_batch", batch_size)
        last_share = min(1.0, (n_rows - (n_batches - 1) * batch_size) / step_batch)
        block, runs = 1, {}
        if _nbytes(X) > BLOCK_SHUFFLE_BYTES:
            block = _shuffle_block(batch_size)
            if not sp.issparse(X):  # CSR rows keep plain blocks (not measured with runs)
                runs = {"run_blocks": RUN_BLOCKS, "n_streams": BLOCKS_PER_BATCH}
        train_weight_sum = self._weight_sum(sample_weight, train_rows)
        tail_average = self.average == "auto" and bool(self._average_from)
        monitor_validation = validation is not None and self.early_stopping
        converged = False
        # every epoch's order is written here (see epoch_order), not into new pages
        positions = np.empty(n_rows, dtype=np.intp) if self.shuffle else None
        start_time = time.perf_counter()
        for _ in range(n_epochs):
            task.begin_epoch(state)
            order = train_rows
            if self.shuffle:
                order = epoch_order(train_rows, rng, block, positions, **runs)
            steps = batch_steps(
                self.learning_rate, state.eta, self.alpha, self.power_t,
                batch_size, state.n_updates, n_batches, self._optimal_max_step(batch_size),
            )  # fmt: skip
            batch_step = steps[-1]  # the step of a full batch, as verbose reports it
            steps[-1] *= last_share
            first_averaged = self._first_averaged(state, batch_size, n_rows)
            # n_iter_ counts the epochs of this training state, partial_fit calls included
            if tail_average and restarts_average(self.n_iter_ + 1):
                state.restart_average()
            loss_sum = run_epoch(order, steps, first_averaged)
            state.n_updates += n_batches
            state.n_samples_seen += n_rows
            self.n_iter_ += 1
            model = state.averaged_model()
            with np.errstate(over="ignore", invalid="ignore"):
                objective = loss_sum / train_weight_sum + penalty_value(
                    model[:, :-1], self.penalty, self.alpha, self.l1_ratio
                )
            if not (np.isfinite(objective) and state.is_finite()):
                self._check_finite_input(X)
                raise _DivergenceError(
                    f"Training diverged at epoch {self.n_iter_}: the weights or the loss "
                    "became non-finite. Scale the input (e.g. with StandardScaler) or use "
                    "a smaller eta0."
                )
            self.loss_curve_.append(objective)
            monitored = objective
            message = f"Epoch {self.n_iter_}, loss: {objective:.6f}"
            if validation is not None:
                X_val, y_val, w_val = validation
                decision = self._decision(X_val, model)
                val_loss = mean_log_loss(decision, y_val, w_val)
                predicted = decision > 0 if decision.ndim == 1 else decision.argmax(axis=1)
                val_score = float(np.average(predicted == y_val, weights=w_val))
                self.validation_loss_curve_.append(val_loss)
                self.validation_scores_.append(val_score)
                message += f", validation loss: {val_loss:.6f}, validation score: {val_score:.4f}"
                if monitor_validation:
                    monitored = val_loss
            if self.verbose:
                elapsed = time.perf_counter() - start_time
                print(f"{message}, step: {batch_step:.4g}, elapsed: {elapsed:.2f} s")
            if self.tol is not None:
                # an infinite validation loss (a row scored certain and wrong) improves on
                # nothing, not even a first best of inf: it never stopped training
                improved = np.isfinite(monitored) and monitored <= self.best_loss_ - self.tol
                self._no_improvement = 0 if improved else self._no_improvement + 1
            self.best_loss_ = min(self.best_loss_, monitored)
            if task.end_epoch(state):  # a callback asked to stop training
                converged = True
                break
            if self._no_improvement >= self.n_iter_no_change:
                if self.learning_rate == "adaptive" and state.eta > MIN_ADAPTIVE_ETA:
                    # the step below the limit still trains until the loss stalls again,
                    # as in SGDClassifier (stopping at once never used it)
                    state.eta /= ADAPTIVE_DIVISOR
                    self._no_improvement = 0
                    if self.verbose:
                        print(f"Reducing the step to {state.eta:.4g}")
                elif fitting:
                    converged = True
                    break
        self._store_model(state)
        task.end()
        if fitting and not converged and self.tol is not None:
            warnings.warn(
                f"Maximum number of epochs ({n_epochs}) reached before convergence; "
                "consider increasing max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _decision(self, X, model):
        decision = _matmul(X, model[:, :-1].T) + model[:, -1]
        return decision.ravel() if model.shape[0] == 1 else decision

    def _store_model(self, state):
        model = state.averaged_model()
        self.coef_ = np.array(model[:, :-1], dtype=state.W.dtype, order="C")
        self.intercept_ = np.array(model[:, -1], dtype=state.W.dtype)
        self.t_ = state.n_updates
