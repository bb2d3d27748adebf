r"""Step-size schedules for mini-batch updates, and the data-driven initial step.

Every schedule gives the step of update ``t`` (``t = 0, 1, ...`` counts the updates made since
the schedule started, across epochs and ``partial_fit`` calls). An update moves the weights
by ``eta_t`` times the mean gradient of its batch, so the steps below are per batch:

- ``'constant'``: :math:`\eta_t = \eta_0`.
- ``'invscaling'``: :math:`\eta_t = \eta_0 / (t + 1)^{p}` with ``p = power_t``.
- ``'adaptive'``: :math:`\eta_0`, divided by 5 by the estimator each time the monitored loss
  stalls for ``n_iter_no_change`` epochs.
- ``'optimal'``: SGDClassifier's schedule for strongly convex objectives,
  :math:`\eta_t = 1 / (\alpha (t_0 / B + t))` with :math:`t_0 = \alpha^{-3/4}` and batch
  size :math:`B`. With ``B = 1`` it is exactly SGDClassifier's per-sample schedule; with
  larger batches each update takes the step that ``B`` per-sample updates would take together.
- ``'auto'``: :math:`\eta_t = \eta_0 / (1 + \alpha \eta_0 t)`, a constant step for the
  first :math:`1 / (\alpha \eta_0)` updates that then decays as :math:`1 / (\alpha t)`, the
  rate that makes SGD converge on an objective that is :math:`\alpha`-strongly convex.

``eta0='auto'`` picks :math:`\eta_0 = 1 / \hat L_B`, the inverse of an estimate of the
curvature of a mini-batch loss of size ``B`` (see :func:`estimate_steps`), so the same
defaults work on standardized, dense and sparse data of any common scale.
"""

import numpy as np
import scipy.sparse as sp

#: ``eta0='auto'`` for one-sample batches is this factor over their curvature, which is then
#: exact rather than estimated: 2 is the stability limit of a gradient step, 1.5 keeps a
#: margin. (The sparse text benchmark reaches 1% of the optimum's test log-loss in 2 epochs
#: instead of 3; for larger batches the estimate's error calls for 1, see benchmarks/HISTORY.md.)
SINGLE_SAMPLE_STEP_FACTOR = 1.5
#: Adam's step when ``eta0='auto'`` (the customary default of the method).
ADAM_ETA0 = 1e-3
# Rows and power iterations used to estimate the curvature for ``eta0='auto'``; the
# iteration stops early once the batch curvature it gives moves by less than
# _POWER_TOLERANCE (relative).
_CURVATURE_ROWS = 2000
_POWER_ITERATIONS = 30
_POWER_TOLERANCE = 1e-4
# Dense updates are centered when that divides the estimated curvature by at least this
# (standardized rows, whose mean is about zero, are not: their steps stay as they were).
CENTERED_GAIN = 2.0
# Rows are centered only where the data's rounding of every column's offset, eps * |mean|,
# is at most this share of its spread (see _centered_curvature): float32 offsets up to
# 8e4 times the spread (1e4 and 1e5 trained well, 1e6 did not), float64 up to 4e13.
CENTERING_ROUNDING = 1e-2
# Rows are centered only when the sample holds at least this many effective rows
# (1 / sum of squared weight shares).
CENTERING_MIN_ROWS = 10


def _norm(v):
    # einsum, not BLAS: wide samples would wake BLAS's threads, which then compete with
    # the other fits of a threaded GridSearchCV for the cores
    return float(np.sqrt(np.einsum("i,i->", v, v)))


def _used_columns(X):
    """``X`` without its all-zero columns (same eigenvalues), and the columns kept.

    A sample of text rows touches a small part of a wide vocabulary; the power iteration
    then works on vectors of the used columns only. The columns are None when all are used
    by dense rows (no copy).
    """
    if sp.issparse(X):
        used, columns = np.unique(X.indices, return_inverse=True)
        shape = (X.shape[0], used.shape[0])
        return sp.csr_matrix((X.data, columns.ravel(), X.indptr), shape=shape), used
    used = np.flatnonzero(np.any(X != 0, axis=0))
    return (X, None) if used.shape[0] == X.shape[1] else (X[:, used], used)


def _top_eigenvalue(X, weights, column, start, spread, batch_size):
    """``(eigenvalue, iterations)``: the top eigenvalue of ``sum_i w_i [x_i, c] [x_i, c]^T``.

    ``c`` is ``column``, the intercept's column; ``iterations`` counts the power iterations
    that found the eigenvalue. ``start`` is a random start vector (a fixed one can be
    orthogonal to every row) with an entry for every column and the intercept. The
    iteration stops once the batch curvature the eigenvalue gives,
    ``eigenvalue + max(spread - eigenvalue, 0) / batch_size``, moves by less than
    ``_POWER_TOLERANCE`` of itself: the step needs it to a few digits, and where the rows'
    own norms dominate it (wide data, whose power iteration converges slowly) fewer
    iterations do.
    """
    v = start.copy()
    X, used = _used_columns(X)
    if used is not None:
        v = np.append(v[used], v[-1])
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if sp.issparse(X):

        def product(v):
            wu = weights * (X @ v[:-1] + column * v[-1])
            return np.append(X.T @ wu, column * wu.sum())

    else:
        from sgdlogit._power_iteration import weighted_gram_product

        rows = np.ascontiguousarray(X, dtype=np.float64)

        def product(v):  # compiled, and no BLAS (see _norm)
            out = np.empty_like(v)
            weighted_gram_product(rows, weights, column, v, out)
            return out

    def curvature(eigenvalue):
        return _batch_curvature_times_4(eigenvalue, spread, batch_size)

    eigenvalue = 0.0
    iterations = 0
    while iterations < _POWER_ITERATIONS:
        length = _norm(v)
        if length == 0.0:
            break
        v = product(v / length)
        iterations += 1
        previous, eigenvalue = eigenvalue, _norm(v)
        now = curvature(eigenvalue)
        if abs(now - curvature(previous)) <= _POWER_TOLERANCE * now:
            break
    return eigenvalue, iterations


def _rows_of(values, rows):
    """``values[rows]`` for sorted distinct ``rows``, without a copy when they are all rows."""
    return values if rows.shape[0] == values.shape[0] else values[rows]


def batch_steps(schedule, eta0, alpha, power_t, batch_size, t, n_batches, max_step=np.inf):
    """Return the step of each of the next ``n_batches`` updates.

    Parameters
    ----------
    schedule : {'auto', 'constant', 'optimal', 'invscaling', 'adaptive'}
        Name of the schedule.
    eta0 : float
        Initial (or constant) step; the current step for ``'adaptive'``.
    alpha : float
        Regularization strength.
    power_t : float
        Exponent of ``'invscaling'``.
    batch_size : int
        Samples per update.
    t : int
        Updates made before the first of these.
    n_batches : int
        Number of steps to return.
    max_step : float, default=np.inf
        Cap of the ``'optimal'`` steps (see :meth:`SGDLogitClassifier._optimal_max_step`).

    Returns
    -------
    steps : ndarray of shape (n_batches,), float64
    """
    updates = np.arange(t, t + n_batches, dtype=np.float64)
    if schedule in ("constant", "adaptive"):
        return np.full(n_batches, float(eta0))
    if schedule == "invscaling":
        with np.errstate(over="ignore"):  # a large power_t: steps of 0, as they should be
            return eta0 / (updates + 1.0) ** power_t
    if schedule == "optimal":
        t0 = alpha**-0.75
        return np.minimum(1.0 / (alpha * (t0 / batch_size + updates)), max_step)
    if schedule == "auto":
        # eta0 / (1 + alpha eta0 t), in place: per-sample epochs have one step per row,
        # and every temporary of that size costs page faults
        updates *= alpha * eta0
        updates += 1.0
        return np.divide(eta0, updates, out=updates)
    raise ValueError(f"Unknown learning rate schedule {schedule!r}.")


def estimate_steps(
    X, sample_weight, rows, batch_size, fit_intercept, random_state, alpha_l2=0.0, centered=False
):  # fmt: skip
    r"""Data-driven initial step and intercept step factor.

    The intercept's step is the coefficients' step times ``intercept_scale``, the mean
    square of the nonzero feature values (1 on standardized data, about ``1 / nnz per row``
    on L2-normalized sparse rows, large on unscaled data): a diagonal preconditioner that
    lets the intercept learn at the pace of the coefficients whatever the scale of ``X``.
    The intercept is not penalized, so that scale is multiplied by
    :math:`(\hat L_B + \alpha_2) / \hat L_B` (below): the step of the coefficients, made
    short by a penalty that dominates their curvature, is not the intercept's.

    The Hessian of the mean log-loss over a batch is at most :math:`\frac14 X_B^T X_B / B`,
    with the intercept entering as a column of ones scaled by ``sqrt(intercept_scale)``.
    Its largest eigenvalue is estimated as
    :math:`\hat L_B = \frac14 (\lambda + (\bar r - \lambda) / B)`, where :math:`\lambda` is
    the largest eigenvalue of the weighted second-moment matrix of the rows (power iteration on
    at most 2,000 sampled rows of nonzero weight) and :math:`\bar r` the mean of
    :math:`w_i \|x_i\|^2` over rows drawn in proportion to their weights :math:`w_i`
    (relative to the mean weight): the mean squared row norm when all weights are equal,
    and much more when a few rows carry most of the weight (``class_weight='balanced'`` on
    rare classes), whose batches have that much more curvature. With ``B = 1`` it is the
    typical per-sample curvature :math:`\bar r / 4` (no power iteration is then run), with
    large batches that of the full loss. The
    initial step is :math:`1 / (\hat L_B + \alpha_2)`, with :math:`\alpha_2` the L2 strength,
    or 1.5 over that for one-sample batches, whose curvature is exact rather than estimated
    (2 is the stability limit); their :math:`\bar r` is the mean of :math:`c_i^2` over that
    of :math:`c_i`, with :math:`c_i` the row's :math:`w_i \|x_i\|^2` (the curvature a step
    meets, weighted by how far the step moves). More than 2,000 rows of unequal weights are
    sampled in proportion to their weights (with replacement) and then averaged equally.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training data.
    sample_weight : ndarray of shape (n_samples,)
        Sample weights.
    rows : ndarray of int
        The training rows (at most 2,000 of them are read).
    batch_size : int
        Samples per update.
    fit_intercept : bool
        Whether an intercept is fitted.
    random_state : numpy.random.RandomState
        Draws the row sample and the start of the power iteration.
    alpha_l2 : float, default=0.0
        Strength of the L2 part of the penalty, which adds to the curvature.
    centered : bool, default=False
        Whether dense updates may be centered at the (weighted) mean of the sampled rows:
        they are if that at least halves the curvature (rows with offsets, whose mean
        direction dominates it), with an intercept to take the offset.

    Returns
    -------
    eta0 : float
        Initial step for the coefficients.
    intercept_scale : float
        Factor of the intercept's step (0 without intercept).
    center : ndarray of shape (n_features,) or (0,)
        The point the updates are centered at (see ``kernels.dense_epoch``), or empty.
    """
    # the mean weight of all the training rows, relative to the largest (no overflow)
    all_weights = _rows_of(sample_weight, rows)
    top_weight = float(all_weights.max(initial=0.0))
    mean_weight = 1.0
    if top_weight > 0:
        mean_weight = float(np.mean(all_weights, dtype=np.float64)) / top_weight
        if not np.isfinite(mean_weight):  # the sum overflowed: divide first
            mean_weight = float(np.mean(all_weights / top_weight, dtype=np.float64))
    if all_weights.min(initial=np.inf) <= 0:
        weighted = rows[all_weights > 0]
        if weighted.shape[0]:  # rows of weight zero add nothing to the loss or its curvature
            rows = weighted
    drawn_by_weight = False
    if rows.shape[0] > _CURVATURE_ROWS:
        sampler = np.random.default_rng(random_state.randint(2**31))
        row_weights = _rows_of(sample_weight, rows)
        if top_weight > 0 and row_weights.min() < top_weight:
            # unequal weights: rows drawn in proportion to them, so that the heavy rows
            # that dominate the curvature are in the sample (a uniform draw of 2,000 of
            # 20,000 rows misses a class of 20 rows weighted 500 times the others: a step
            # 400 times too long). O(n): 9 ms for a million rows
            p = np.asarray(row_weights, dtype=np.float64) / top_weight
            picks = sampler.choice(rows.shape[0], _CURVATURE_ROWS, p=p / p.sum())
            drawn_by_weight = True
        else:  # in O(k) (sklearn's sampler costs 1-2 ms here)
            picks = sampler.choice(rows.shape[0], _CURVATURE_ROWS, replace=False)
        rows = np.sort(rows[picks])
    # the precision of the training data: centering cancels offsets only to its rounding
    eps = float(np.finfo(X.dtype).eps) if X.dtype.kind == "f" else np.finfo(np.float64).eps
    X = X[rows]  # a copy (fancy indexing): scaled in place below
    sample_weight = sample_weight[rows]
    weights = np.asarray(sample_weight, dtype=np.float64)
    if top_weight > 0:
        weights = weights / top_weight
    else:
        weights = np.ones_like(weights)
    # each row's weight relative to the mean over all the training rows, zeros included
    # (training scales the weights so): a batch holding a row of weight 500 times the
    # mean has that much more curvature along it
    relative = weights / mean_weight
    if drawn_by_weight:  # the draw has weighted the rows already
        weights = np.ones_like(weights)
    weights = weights / weights.sum()
    if sp.issparse(X):
        X = X.tocsr().astype(np.float64, copy=False)
        # a copy: the values of a column stored twice are one feature, their sum, and
        # stored zeros are none (the intercept's scale counts the features of a row)
        X.sum_duplicates()
        X.eliminate_zeros()
        peak = np.max(np.abs(X.data), initial=0.0)
        nnz = np.diff(X.indptr)
    else:
        X = np.asarray(X, dtype=np.float64)
        # max |X| without a temporary of |X| (NaN stays NaN)
        peak = np.maximum(X.max(initial=0.0), -X.min(initial=0.0))
        nnz = np.count_nonzero(X, axis=1)
    # Work on X / peak so that squares of huge features cannot overflow.
    peak = peak if peak > 0 else 1.0
    with np.errstate(all="ignore"):  # X is already a copy (the sampled rows): divide in place
        if sp.issparse(X):
            X.data /= peak  # not X / peak: scipy multiplies by 1 / peak, inf for subnormals
        else:
            X /= peak
    start = None
    if batch_size > 1:  # one-sample batches need no power iteration
        # drawn for every column: the draws that follow (the epochs' order) are then the
        # same for dense and CSR rows, whichever columns the sample uses
        start = random_state.standard_normal(X.shape[1] + 1)
    estimate = _batch_curvature(X, nnz, peak, weights, relative, batch_size, fit_intercept, start)
    center = np.zeros(0)
    if centered and fit_intercept and not sp.issparse(X):
        mean = np.einsum("i,ij->j", weights, X)
        # the mean row adds at most its squared norm to the top curvature: below a quarter
        # of it (the estimate is a quarter of the eigenvalue) centering cannot halve it,
        # and the second power iteration is skipped (wide data: half of the estimate's time)
        if float(np.einsum("i,i->", mean, mean)) >= estimate[0]:
            candidate = _centered_curvature(
                X, mean, rows, eps, peak, weights, relative, batch_size, start
            )  # fmt: skip
            if candidate is not None and CENTERED_GAIN * candidate[0] < estimate[0]:
                estimate, center = candidate, mean * peak
    scaled, intercept_scaled = estimate
    factor = SINGLE_SAMPLE_STEP_FACTOR if batch_size == 1 else 1.0
    with np.errstate(all="ignore"):
        curvature = scaled * peak**2 + alpha_l2
        eta0 = factor / curvature if curvature > 0 else 1.0  # nothing to fit: any step
        # The intercept is not penalized: the L2 part of the coefficients' curvature, which
        # shortens their step, is added to its scale. Without it, features so small that
        # alpha dominates (X * 1e-3, alpha=1e-4) left the intercept near 0 (test
        # log-loss 0.68, LogisticRegression's 0.43), and at 1e-200 the scale underflowed.
        intercept_scale = intercept_scaled * peak**2
        if scaled > 0:
            intercept_scale += intercept_scaled * alpha_l2 / scaled
    usable = np.isfinite(eta0) and eta0 > 0 and np.isfinite(intercept_scale)
    if not usable or (fit_intercept and intercept_scale <= 0):
        raise ValueError(
            f"The features are too large or too small to train on (largest magnitude "
            f"{peak:.3g}): the step size would over- or underflow. Scale the input, e.g. "
            "with StandardScaler."
        )
    return float(eta0), float(intercept_scale), center


def _centered_curvature(X, mean, rows, eps, peak, weights, relative, batch_size, start):
    """:func:`_batch_curvature` of dense rows centered at their weighted ``mean``, or None.

    Centers ``X`` (the sampled rows, in units of ``peak``) in place. Two things the plain
    estimate does not meet are added, or make it None (no centering):

    - The mean of the sample misses the mean of the data by a vector of expected squared
      norm ``trace(covariance) / (n_eff - 1)``, an offset the updates still see: its
      curvature is added (``n_eff`` is the effective number of distinct sampled rows).
      Below ``CENTERING_MIN_ROWS`` effective rows the spread is not trusted at all: a
      first ``partial_fit`` chunk of one row, its own mean, had a spread of zero and got
      a step of 6 on standardized data; one row carrying most of the weight, nearly so.
    - No row is centered where the training data's precision ``eps`` cannot cancel the
      offset of a column: ``eps * |mean|`` above ``CENTERING_ROUNDING`` of its spread (or
      of the typical spread, for constant columns). float32 rows offset by 1e6 times their
      spread trained on rounding noise and diverged slowly. (Centering the other columns
      would not help: the curvature of the one left dominates.)
    """
    _, distinct = np.unique(rows, return_inverse=True)
    shares = np.bincount(distinct.ravel(), weights=weights)
    n_eff = 1.0 / float(np.einsum("i,i->", shares, shares))
    if n_eff < CENTERING_MIN_ROWS:
        return None
    X -= mean
    spread_sq = np.einsum("i,ij,ij->j", weights, X, X)
    spreads, typical = np.sqrt(spread_sq), np.sqrt(np.mean(spread_sq))
    if np.any(eps * np.abs(mean) > CENTERING_ROUNDING * np.maximum(spreads, typical)):
        return None
    nnz = np.count_nonzero(X, axis=1)
    scaled, intercept_scaled = _batch_curvature(
        X, nnz, peak, weights, relative, batch_size, True, start
    )  # fmt: skip
    trace = float(np.sum(spread_sq))
    return scaled + 0.25 * trace / (n_eff - 1.0), intercept_scaled


def _batch_curvature(X, nnz, peak, weights, relative, batch_size, fit_intercept, start):
    """The curvature of a batch of rows and the intercept's scale, in units of ``peak``.

    See :func:`estimate_steps`, whose variables of the same names these are.
    """
    sq_norms = (
        np.asarray(X.multiply(X).sum(axis=1)).ravel()
        if sp.issparse(X)
        else (np.einsum("ij,ij->i", X, X))
    )
    mean_sq_norm = float(np.einsum("i,i->", weights, sq_norms))
    # the intercept column is sqrt(intercept_scale) / peak in these units
    intercept_scaled = 0.0
    if fit_intercept:
        mean_nnz = float(np.einsum("i,i->", weights, nnz))
        intercept_scaled = mean_sq_norm / mean_nnz if mean_nnz > 0 else peak**-2
    # the per-row part of a batch's curvature: the mean of w_i * |x_i|^2 over rows drawn
    # in proportion to w_i (|x_i|^2 with equal weights)
    row_curvatures = relative * (sq_norms + intercept_scaled)
    spread_sq_norm = float(np.einsum("i,i->", weights, row_curvatures))
    if batch_size == 1 and spread_sq_norm > 0:
        # one row per step: the curvature each step meets, weighted by how far the step
        # moves (its curvature again). The same on rows of equal norm and weight; twice
        # the mean where rows weighted 500 times the others are half of the draw, whose
        # steps the mean made overshoot (objective 7-30% above the optimum's, not 1-5%)
        spread_sq_norm = (
            float(np.einsum("i,i,i->", weights, row_curvatures, row_curvatures)) / spread_sq_norm
        )

    eigenvalue = 0.0
    if batch_size > 1:  # one-sample batches need only the per-row part
        eigenvalue, _ = _top_eigenvalue(
            X, weights, float(np.sqrt(intercept_scaled)), start, spread_sq_norm, batch_size
        )
    curvature = 0.25 * _batch_curvature_times_4(eigenvalue, spread_sq_norm, batch_size)
    return curvature, intercept_scaled


def _batch_curvature_times_4(eigenvalue, spread, batch_size):
    """Four times a batch's curvature: the top eigenvalue plus the per-row part over B."""
    return eigenvalue + max(spread - eigenvalue, 0.0) / batch_size
