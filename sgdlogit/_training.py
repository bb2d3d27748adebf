"""Training state and the one place where dense and CSR input part ways.

:class:`TrainingState` holds every array a fit keeps between epochs (and between
``partial_fit`` calls); :func:`make_epoch_runner` binds the data to the compiled kernel that
fits it and returns a function running one epoch.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from sgdlogit import _kernels as kernels

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


@dataclass
class TrainingState:
    """Arrays and counters of a model under training.

    ``W`` stacks the coefficients and the intercepts, ``(n_outputs, n_features + 1)``;
    ``q``, ``opt`` and ``avg`` are empty unless L1, momentum/Adam or averaging use them.
    """

    W: np.ndarray
    q: np.ndarray
    opt: np.ndarray
    avg: np.ndarray
    counters: np.ndarray = field(default_factory=lambda: np.zeros(kernels.N_COUNTERS))
    n_updates: int = 0
    n_samples_seen: int = 0
    eta: float = 0.0  # current step of the 'adaptive' schedule

    @classmethod
    def zeros(cls, n_outputs, n_features, dtype, *, l1, adaptive, average):
        """A model at zero with the optional arrays allocated as needed."""
        shape = (n_outputs, n_features + 1)
        return cls(
            W=np.zeros(shape, dtype=dtype),
            q=np.zeros((n_outputs, n_features)) if l1 else np.zeros((0, 0)),
            opt=np.zeros((2, *shape), dtype=dtype) if adaptive else np.zeros((0, 0, 0), dtype),
            avg=np.zeros(shape) if average else np.zeros((0, 0)),
        )

    def averaged_model(self):
        """The averaged ``W`` when any update was averaged, else the current ``W``."""
        n_averaged = self.counters[kernels.N_AVERAGED]
        if n_averaged == 0:
            return self.W
        return (self.avg / n_averaged).astype(self.W.dtype)


def make_hyper(*, alpha, penalty, l1_ratio, momentum, solver, fit_intercept, intercept_scale):
    """Pack the scalar hyper-parameters into the float64 array the kernels read."""
    rho = {None: 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    alpha = 0.0 if penalty is None else alpha
    hyper = np.zeros(kernels.N_HYPER)
    hyper[kernels.ALPHA_L2] = alpha * (1.0 - rho)
    hyper[kernels.ALPHA_L1] = alpha * rho
    hyper[kernels.MOMENTUM] = momentum if solver == "sgd" else 0.0
    hyper[kernels.BETA1] = ADAM_BETA1
    hyper[kernels.BETA2] = ADAM_BETA2
    hyper[kernels.ADAM_EPS] = ADAM_EPS
    hyper[kernels.INTERCEPT_SCALE] = intercept_scale
    hyper[kernels.FIT_INTERCEPT] = float(fit_intercept)
    hyper[kernels.USE_ADAM] = float(solver == "adam")
    return hyper


def make_epoch_runner(X, y_index, sample_weight, state, hyper, batch_size):
    """Return ``run(order, steps, first_averaged) -> weighted loss sum`` for one epoch.

    Parameters
    ----------
    X : {ndarray, csr_matrix} of shape (n_samples, n_features)
        C-contiguous float32/float64 array, or CSR matrix of that dtype.
    y_index : ndarray of shape (n_samples,)
        Class indices.
    sample_weight : ndarray of shape (n_samples,)
        Weights normalized to mean one.
    state : TrainingState
        Model updated in place by every call.
    hyper : ndarray
        Output of :func:`make_hyper`.
    batch_size : int
        Samples per update.
    """
    dtype = state.W.dtype
    n_outputs = state.W.shape[0]
    y_index = np.ascontiguousarray(y_index, dtype=np.int32)
    sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
    logits = np.empty((batch_size, n_outputs), dtype=dtype)
    adaptive = state.opt.size > 0
    grad = np.empty_like(state.W) if adaptive else np.empty((0, 0), dtype)
    model = (
        state.W,
        state.q,
        state.opt,
        state.avg,
        state.counters,
        hyper,
        logits,
        grad,
    )

    if sp.issparse(X):
        data = np.ascontiguousarray(X.data, dtype=dtype)
        indices = np.ascontiguousarray(X.indices, dtype=np.int32)
        indptr = np.ascontiguousarray(X.indptr, dtype=np.int32)
        marks = np.empty(X.shape[1])

        def run(order, steps, first_averaged):
            return kernels.csr_epoch(
                data, indices, indptr, y_index, sample_weight, order, batch_size, steps,
                first_averaged, *model, marks,
            )  # fmt: skip

        return run

    X = np.ascontiguousarray(X)

    def run(order, steps, first_averaged):
        return kernels.dense_epoch(
            X, y_index, sample_weight, order, batch_size, steps, first_averaged, *model
        )

    return run
