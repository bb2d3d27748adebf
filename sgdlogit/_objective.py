"""The objective in numpy: stable log-loss of decision values and the penalty term.

Used for validation losses, the objective reported per epoch, and as the reference the
compiled kernels are tested against.
"""

import numpy as np
from scipy.special import logsumexp


def log_loss_per_sample(decision, y_index):
    """Log-loss of every sample, stable for any finite decision value.

    Parameters
    ----------
    decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Logit of the positive class (binary) or the logits of every class.
    y_index : ndarray of shape (n_samples,), int
        Index of the true class.

    Returns
    -------
    loss : ndarray of shape (n_samples,), float64
    """
    decision = np.asarray(decision, dtype=np.float64)
    if decision.ndim == 1:
        # log(1 + exp(-z)) for the positive class, log(1 + exp(z)) for the negative one
        signed = np.where(y_index == 1, -decision, decision)
        return np.logaddexp(0.0, signed)
    rows = np.arange(decision.shape[0])
    return logsumexp(decision, axis=1) - decision[rows, y_index]


def mean_log_loss(decision, y_index, sample_weight=None):
    r"""Weighted mean log-loss, :math:`\sum_i s_i \ell_i / \sum_i s_i`."""
    return float(np.average(log_loss_per_sample(decision, y_index), weights=sample_weight))


def penalty_strengths(penalty, alpha, l1_ratio):
    r"""Split :math:`\alpha R(w)` into its L2 and L1 strengths ``(alpha_l2, alpha_l1)``.

    :math:`\alpha R(w) = \tfrac12 \alpha_2 \|w\|_2^2 + \alpha_1 \|w\|_1`.
    """
    if penalty is None:
        return 0.0, 0.0
    rho = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    return alpha * (1.0 - rho), alpha * rho


def penalty_value(coef, penalty, alpha, l1_ratio):
    r""":math:`\alpha R(w)` for the coefficients (the intercept is never penalized)."""
    alpha_l2, alpha_l1 = penalty_strengths(penalty, alpha, l1_ratio)
    if alpha_l2 == 0.0 and alpha_l1 == 0.0:
        return 0.0
    coef = np.asarray(coef, dtype=np.float64)
    return float(0.5 * alpha_l2 * np.sum(coef**2) + alpha_l1 * np.sum(np.abs(coef)))
