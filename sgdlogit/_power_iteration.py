"""Compiled product of the step estimate's power iteration (see ``_schedules``).

``out = A^T diag(w) A v`` over the sampled dense rows, ``A`` being the rows with the
intercept's column. One pass over the rows: a row's product with ``v`` and its weighted
addition to ``out`` while it is in cache. As two numpy products with their small
temporaries, an iteration cost more in call overhead than in arithmetic (breast_cancer:
0.27 ms of a 1.8 ms fit). CSR samples keep scipy's products, whose own cost dominates.
"""

from numba import njit

from sgdlogit._kernel_cache import caching_possible

CACHE = caching_possible(__file__)
# Dot products vectorize only if sums may be reordered (as in _kernels).
_REASSOCIATE = {"reassoc", "contract"}


@njit(cache=CACHE, nogil=True, fastmath=_REASSOCIATE)
def weighted_gram_product(rows, weights, column, v, out):
    """Write ``A^T diag(weights) A v`` to ``out``, with ``A = [rows, column]``.

    Parameters
    ----------
    rows : ndarray of shape (n_rows, n_features), float64, C-contiguous
        The sampled rows.
    weights : ndarray of shape (n_rows,), float64
        Their weights.
    column : float
        The value of the intercept's column in every row (0 without intercept).
    v : ndarray of shape (n_features + 1,), float64
        The vector multiplied.
    out : ndarray of shape (n_features + 1,), float64
        Written in place; not ``v``.
    """
    n_features = rows.shape[1]
    out[:] = 0.0
    intercept = column * v[n_features]
    total = 0.0
    for i in range(rows.shape[0]):
        x = rows[i]
        u = intercept
        for j in range(n_features):
            u += x[j] * v[j]
        u *= weights[i]
        for j in range(n_features):
            out[j] += u * x[j]
        total += u
    out[n_features] = column * total
