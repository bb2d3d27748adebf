"""Kernel fuzzing: every compiled epoch path against a plain numpy reference epoch.

Hypothesis draws small random problems (binary and multinomial, weights with zeros, subsets of
rows in shuffled order, any batch size, every penalty, plain SGD / momentum / Adam, averaging
from any update, L2 decays strong enough to fold or zero the lazy scale) and runs two
consecutive epochs through a kernel and through the numpy reference below, with the same row
order and step sizes. In float64 the model, the optimizer state, the counters and the loss
must agree to 1e-10 relative.

Paths: ``dense_epoch`` with 1 to 5 chunks per batch, ``dense_epoch_parallel``, ``csr_epoch``
(canonical, unsorted and duplicate-index CSR with stored zeros), and the pure-Python
``py_func`` of both kernels (the code coverage sees).

The dense reference mirrors :func:`sgdlogit._kernels.dense_epoch`: the mean over the batch of
the weighted per-sample loss derivatives at the pre-batch weights (accumulated per chunk, then
summed in chunk order), L2 as weight decay through a lazy scale (folded into W when it drops
below ``MIN_SCALE`` and at the end of the epoch), the cumulative-penalty L1 truncation of
Tsuruoka et al. (2009) applied to every coefficient after every update, the intercept step
factor, heavy-ball momentum, Adam, and the running sum of the averaged models. The CSR kernel
is legitimately different with L1: it truncates only the features a batch touches and catches
the others up at the end of the epoch, and averages lazily; :func:`reference_csr_epoch`
implements those lazy semantics, and without L1 both references agree.

Example counts: ``pytest tests/test_fuzz_kernels.py --hypothesis-show-statistics``. The
``SGDLOGIT_HYPOTHESIS_PROFILE`` environment variable picks ``ci`` (default, derandomized),
``dev`` (fewer examples) or ``thorough`` (10x the examples, random seeds).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import hypothesis_settings as fuzz_settings
from hypothesis import event, given
from hypothesis import strategies as st
from scipy.special import expit, logsumexp, softmax

from sgdlogit import _kernels as kernels
from sgdlogit._training import ADAM_BETA1, ADAM_BETA2, ADAM_EPS, TrainingState

RTOL = 1e-10
REWRITE_RTOL = 1e-8  # two references that compute the same epoch in other orders

# ----------------------------------------------------------------------------- reference


def reference_loss_and_dloss(Z, y, sample_weight, inv_size):
    """Weighted loss of every row and its clipped, scaled derivative w.r.t. the logits.

    ``Z`` has shape (n_rows, n_outputs); returns ``(loss (n_rows,), dloss (n_rows, n_outputs))``.
    """
    Z = np.clip(Z, -kernels.MAX_LOGIT, kernels.MAX_LOGIT)
    if Z.shape[1] == 1:
        z = Z[:, 0]
        loss = np.logaddexp(0.0, np.where(y == 1, -z, z))
        dloss = (sample_weight * (expit(z) - y))[:, None]
    else:
        rows = np.arange(Z.shape[0])
        loss = logsumexp(Z, axis=1) - Z[rows, y]
        onehot = np.zeros_like(Z)
        onehot[rows, y] = 1.0
        dloss = sample_weight[:, None] * (softmax(Z, axis=1) - onehot)
    dloss = np.clip(dloss, -kernels.MAX_DLOSS, kernels.MAX_DLOSS) * inv_size
    return sample_weight * loss, dloss


def reference_truncate_l1(W, q, cols, scale, total):
    """Cumulative L1 penalty up to ``total`` for the coefficient columns ``cols``."""
    w = W[:, cols] * scale
    new = w.copy()
    pos, neg = w > 0, w < 0
    new[pos] = np.maximum(0.0, w[pos] - (total + q[:, cols][pos]))
    new[neg] = np.minimum(0.0, w[neg] + (total - q[:, cols][neg]))
    q[:, cols] += new - w
    W[:, cols] = new / scale


def reference_adaptive_update(W, grad, opt, eta, hyper, counters, q):
    """Momentum or Adam step on the full model (L2 added to the coefficients' gradient),
    and its L1 step: Adam soft-thresholds each coefficient by its own step times alpha_l1,
    momentum adds ``eta * alpha_l1 / (1 - momentum)`` to the cumulative penalty."""
    d = W.shape[1] - 1
    alpha_l1 = hyper[kernels.ALPHA_L1]
    g = grad.copy()
    g[:, :d] += hyper[kernels.ALPHA_L2] * W[:, :d]
    step = np.full(W.shape[1], eta)
    if hyper[kernels.USE_ADAM]:
        step[d] = eta * hyper[kernels.FIT_INTERCEPT]
        beta1, beta2 = hyper[kernels.BETA1], hyper[kernels.BETA2]
        counters[kernels.ADAM_STEPS] += 1
        t = counters[kernels.ADAM_STEPS]
        opt[0] = beta1 * opt[0] + (1 - beta1) * g
        opt[1] = beta2 * opt[1] + (1 - beta2) * g * g
        m_hat = opt[0] / (1 - beta1**t)
        v_hat = opt[1] / (1 - beta2**t)
        denominator = np.sqrt(v_hat) + hyper[kernels.ADAM_EPS]
        W -= step * m_hat / denominator
        if alpha_l1 > 0:
            threshold = step[:d] * alpha_l1 / denominator[:, :d]
            W[:, :d] = np.sign(W[:, :d]) * np.maximum(np.abs(W[:, :d]) - threshold, 0.0)
    else:
        step[d] = eta * hyper[kernels.INTERCEPT_SCALE] * hyper[kernels.FIT_INTERCEPT]
        opt[0] = hyper[kernels.MOMENTUM] * opt[0] + g
        W -= step * opt[0]
        if alpha_l1 > 0:
            counters[kernels.L1_TOTAL] += eta * alpha_l1 / (1 - hyper[kernels.MOMENTUM])
            reference_truncate_l1(W, q, np.arange(d), 1.0, counters[kernels.L1_TOTAL])


def _is_adaptive(hyper):
    return hyper[kernels.MOMENTUM] > 0 or hyper[kernels.USE_ADAM] != 0


def reference_dense_epoch(X, y, sw, order, batch_size, steps, first_averaged, model, n_chunks):
    """One epoch of :func:`sgdlogit._kernels.dense_epoch` in numpy; updates ``model`` in place.

    ``model`` is ``(W, q, opt, avg, counters, hyper)`` in float64; returns the loss sum.
    """
    W, q, opt, avg, counters, hyper = model
    d = X.shape[1]
    alpha_l2, alpha_l1 = hyper[kernels.ALPHA_L2], hyper[kernels.ALPHA_L1]
    intercept_step = hyper[kernels.INTERCEPT_SCALE] * hyper[kernels.FIT_INTERCEPT]
    scale, loss = 1.0, 0.0
    for b, eta in enumerate(steps):
        rows = order[b * batch_size : (b + 1) * batch_size]
        size = rows.shape[0]
        grad = np.zeros_like(W)
        for t in range(n_chunks):
            chunk = rows[t * size // n_chunks : (t + 1) * size // n_chunks]
            Z = X[chunk] @ W[:, :d].T * scale + W[:, d]
            chunk_loss, G = reference_loss_and_dloss(Z, y[chunk], sw[chunk], 1.0 / size)
            loss += chunk_loss.sum()
            grad[:, :d] += G.T @ X[chunk]
            grad[:, d] += G.sum(axis=0)
        if _is_adaptive(hyper):
            reference_adaptive_update(W, grad, opt, eta, hyper, counters, q)
        else:
            scale *= max(0.0, 1.0 - eta * alpha_l2)
            if scale < kernels.MIN_SCALE:
                W[:, :d] *= scale
                scale = 1.0
            W[:, :d] -= eta / scale * grad[:, :d]
            W[:, d] -= eta * intercept_step * grad[:, d]
            if alpha_l1 > 0:
                counters[kernels.L1_TOTAL] += eta * alpha_l1
                reference_truncate_l1(W, q, np.arange(d), scale, counters[kernels.L1_TOTAL])
        if b >= first_averaged:
            avg[:, :d] += W[:, :d] * scale
            avg[:, d] += W[:, d]
            counters[kernels.N_AVERAGED] += 1
    W[:, :d] *= scale
    return loss


def reference_csr_epoch(X, y, sw, order, batch_size, steps, first_averaged, model):
    """One epoch of :func:`sgdlogit._kernels.csr_epoch` in numpy (lazy L1 and averaging).

    With plain SGD, a batch truncates (L1) and brings the average up to date only for the
    features it touches (stored entries, zeros included); every feature is caught up at the
    end of the epoch. With momentum / Adam every feature moves at every update, as in the
    dense reference.
    """
    W, q, opt, avg, counters, hyper = model
    d = X.shape[1]
    alpha_l2, alpha_l1 = hyper[kernels.ALPHA_L2], hyper[kernels.ALPHA_L1]
    intercept_step = hyper[kernels.INTERCEPT_SCALE] * hyper[kernels.FIT_INTERCEPT]
    adaptive = _is_adaptive(hyper)
    lazy_average = avg.shape[0] > 0 and not adaptive
    every = np.arange(d)
    scale, scale_sum, loss = 1.0, 0.0, 0.0
    marks = np.zeros(d)

    def flush(cols):
        # between two touches a coefficient is scale_t * V: its sum is V * (sum of scale_t)
        avg[:, cols] += W[:, cols] * (scale_sum - marks[cols])
        marks[cols] = scale_sum

    for b, eta in enumerate(steps):
        rows = order[b * batch_size : (b + 1) * batch_size]
        Xb = X[rows]
        Z = np.asarray(Xb @ W[:, :d].T) * scale + W[:, d]
        batch_loss, G = reference_loss_and_dloss(Z, y[rows], sw[rows], 1.0 / rows.shape[0])
        loss += batch_loss.sum()
        grad = np.zeros_like(W)
        grad[:, :d] = np.asarray(Xb.T @ G).T
        grad[:, d] = G.sum(axis=0)
        if adaptive:
            reference_adaptive_update(W, grad, opt, eta, hyper, counters, q)
            if b >= first_averaged:
                avg += W
                counters[kernels.N_AVERAGED] += 1
            continue
        touched = np.unique(Xb.indices)
        scale *= max(0.0, 1.0 - eta * alpha_l2)
        if scale < kernels.MIN_SCALE:
            if lazy_average:
                flush(every)
                scale_sum = 0.0
                marks[:] = 0.0
            W[:, :d] *= scale
            scale = 1.0
        W[:, d] -= eta * intercept_step * grad[:, d]
        if lazy_average:
            flush(touched)
        W[:, touched] -= eta / scale * grad[:, touched]
        if alpha_l1 > 0:
            counters[kernels.L1_TOTAL] += eta * alpha_l1
            reference_truncate_l1(W, q, touched, scale, counters[kernels.L1_TOTAL])
        if b >= first_averaged:
            scale_sum += scale
            avg[:, d] += W[:, d]
            counters[kernels.N_AVERAGED] += 1
    if lazy_average:
        flush(every)
    W[:, :d] *= scale
    if alpha_l1 > 0:
        reference_truncate_l1(W, q, every, 1.0, counters[kernels.L1_TOTAL])
    return loss


# ----------------------------------------------------------------------------- kernel calls


def run_kernel(path, X, y, sw, order, batch_size, steps, first_averaged, model, n_chunks):
    """Run one epoch through a kernel path; ``model`` arrays are updated in place."""
    W = model[0]
    n_outputs, n_cols = W.shape
    dtype = W.dtype
    head = (y, sw, order, batch_size, steps, first_averaged)
    if path.startswith("csr"):
        kernel = kernels.csr_epoch.py_func if path.endswith("python") else kernels.csr_epoch
        logits = np.empty((batch_size, n_outputs), dtype=dtype)
        grad = np.empty_like(W) if model[2].size else np.empty((0, 0), dtype)
        marks = np.empty(n_cols - 1)
        return kernel(
            X.data, X.indices, X.indptr, *head, *model, logits, grad, marks, np.empty(2)
        )  # fmt: skip
    kernel = {
        "dense": kernels.dense_epoch,
        "dense-parallel": kernels.dense_epoch_parallel,
        "dense-python": kernels._dense_epoch.py_func,
    }[path]
    logits = np.empty((n_chunks, 2 * n_outputs), dtype=dtype)
    grads = np.empty((n_chunks, n_outputs, n_cols), dtype=dtype)
    work = (np.empty((n_chunks, kernels.LOSS_COLUMNS)), np.zeros(0), np.empty(n_outputs))
    return kernel(X, *head, *model, logits, grads, *work)


def make_hyper(alpha_l2, alpha_l1, momentum, adam, intercept_scale, fit_intercept):
    hyper = np.zeros(kernels.N_HYPER)
    hyper[kernels.ALPHA_L2] = alpha_l2
    hyper[kernels.ALPHA_L1] = alpha_l1
    hyper[kernels.MOMENTUM] = 0.0 if adam else momentum
    hyper[kernels.BETA1] = ADAM_BETA1
    hyper[kernels.BETA2] = ADAM_BETA2
    hyper[kernels.ADAM_EPS] = ADAM_EPS
    hyper[kernels.INTERCEPT_SCALE] = intercept_scale
    hyper[kernels.FIT_INTERCEPT] = float(fit_intercept)
    hyper[kernels.USE_ADAM] = float(adam)
    return hyper


def fresh_model(W0, hyper, average, dtype):
    """``(W, q, opt, avg, counters, hyper)`` as a fit allocates them, starting from ``W0``."""
    n_outputs, n_cols = W0.shape
    state = TrainingState.zeros(
        n_outputs,
        n_cols - 1,
        dtype,
        l1=hyper[kernels.ALPHA_L1] > 0,
        adaptive=_is_adaptive(hyper),
        average=average,
    )
    state.W[:] = W0
    return [state.W, state.q, state.opt, state.avg, state.counters, hyper]


def as_float64(model):
    return [np.array(a, dtype=np.float64) for a in model]


def assert_close(actual, expected, rtol=RTOL, what=""):
    """Elementwise ``rtol``, with an absolute floor of ``rtol / 100`` of the array's scale
    for entries that cancel to about zero (L1 truncation, sums of opposite gradients)."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    floor = rtol * 1e-2 * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=floor, err_msg=what)


def assert_models_close(kernel_model, reference_model, rtol=RTOL):
    for name, got, want in zip(
        ("W", "q", "opt", "avg", "counters"), kernel_model, reference_model, strict=False
    ):
        assert got.shape == want.shape, name
        assert np.all(np.isfinite(got)), name
        assert_close(got, want, rtol, what=name)


# ----------------------------------------------------------------------------- strategies


@st.composite
def problems(draw, *, sparse, dtype=np.float64, max_rows=25, max_features=7, max_step=2.0):
    """A small problem, its hyper-parameters and the row orders / steps of two epochs."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, max_rows))
    d = draw(st.integers(1, max_features))
    n_classes = draw(st.sampled_from([2, 2, 3, 4, 5]))
    n_outputs = 1 if n_classes == 2 else n_classes
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
    feature_scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    X = rng.normal(scale=feature_scale, size=(n, d)) * (rng.random((n, d)) < density)
    y = rng.integers(0, n_classes, n).astype(np.int32)
    weights = draw(st.sampled_from(["ones", "uniform", "with-zeros"]))
    sw = {
        "ones": np.ones(n),
        "uniform": rng.uniform(0.1, 3.0, n),
        "with-zeros": rng.uniform(0.1, 3.0, n) * (rng.random(n) < 0.6),
    }[weights]
    # training rows: all of them, or a subset (as with early stopping)
    n_rows = draw(st.integers(1, n))
    rows = np.sort(rng.choice(n, n_rows, replace=False))
    batch_size = draw(st.integers(1, n_rows + 3))
    n_batches = -(-n_rows // batch_size)
    solver = draw(st.sampled_from(["sgd", "sgd", "momentum", "adam"]))
    momentum = draw(st.floats(0.05, 0.99)) if solver == "momentum" else 0.0
    penalty = draw(st.sampled_from(["none", "l2", "l1", "elasticnet", "strong-l2"]))
    alpha = draw(st.floats(1e-4, 0.5))
    alpha_l2 = {"none": 0.0, "l1": 0.0, "strong-l2": draw(st.floats(0.5, 3.0))}.get(penalty, alpha)
    alpha_l1 = alpha if penalty in ("l1", "elasticnet") else 0.0
    fit_intercept = draw(st.booleans())
    intercept_scale = draw(st.floats(0.05, 5.0))
    average = draw(st.booleans())
    first_averaged = draw(st.integers(0, n_batches)) if average else n_batches
    # steps: a fraction of the inverse per-sample curvature, so rounding is not amplified
    # by an unstable iteration; 'strong-l2' makes eta * alpha_l2 >= 1 (the scale hits 0)
    curvature = 0.25 * (np.max(np.sum(X * X, axis=1), initial=0.0) + intercept_scale) + 1e-3
    if solver == "adam":
        step_range = (1e-3, 0.2)
    else:
        step_range = (1e-3 / curvature, max_step * (1 - momentum) / curvature)
    steps = [rng.uniform(*step_range, n_batches) for _ in range(2)]
    orders = [rng.permutation(rows).astype(np.int64) for _ in range(2)]
    W0 = rng.normal(scale=draw(st.sampled_from([0.0, 0.1, 1.0])), size=(n_outputs, d + 1))
    hyper = make_hyper(alpha_l2, alpha_l1, momentum, solver == "adam", intercept_scale,
                       fit_intercept)  # fmt: skip
    if solver == "adam":
        # Adam divides a gradient that cancels to rounding noise by its epsilon: with 1e-8,
        # noise of 1e-17 moved a weight by 1e-10 and the comparison measured the order of
        # the sums (the kernel's pairs of rows against numpy's products). 1e-3 keeps every
        # term of the update and divides the noise by less.
        hyper[kernels.ADAM_EPS] = 1e-3
    if sparse:
        layout = draw(st.sampled_from(["canonical", "stored-zeros", "unsorted-duplicates"]))
        X = make_csr(X, layout, rng)
        event(f"csr layout: {layout}")
    event(f"classes: {n_classes}")
    event(f"solver: {solver}, penalty: {penalty}")
    event(f"averaged: {average}")
    return dict(
        X=X.astype(dtype),
        y=y,
        sw=sw.astype(dtype),
        orders=orders,
        batch_size=batch_size,
        steps=steps,
        first_averaged=first_averaged,
        W0=W0,
        hyper=hyper,
        average=average,
    )


def make_csr(X, layout, rng):
    """CSR of ``X``: canonical, with explicit zeros stored, or with unsorted column indices
    and duplicate entries (each value split in two) in the same row."""
    if layout == "canonical":
        return sp.csr_matrix(X)
    mask = (X != 0) | (rng.random(X.shape) < 0.3)
    rows, cols = np.nonzero(mask)
    values = X[rows, cols]
    if layout == "unsorted-duplicates":
        split = rng.random(values.shape[0]) < 0.5
        part = values * rng.uniform(0.2, 0.8, values.shape[0])
        rows = np.concatenate([rows, rows[split]])
        cols = np.concatenate([cols, cols[split]])
        values = np.concatenate([np.where(split, part, values), (values - part)[split]])
    # sort by row only, with a random order of the entries inside each row
    keys = np.lexsort((rng.random(rows.shape[0]), rows))
    rows, cols, values = rows[keys], cols[keys], values[keys]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=X.shape[0]))])
    matrix = sp.csr_matrix((values, cols.astype(np.int32), indptr.astype(np.int32)), shape=X.shape)
    assert matrix.nnz == values.shape[0]  # scipy must keep the layout as given
    return matrix


def csr_arrays(X):
    """The CSR arrays the estimator passes: int32 indices, C-contiguous."""
    X = X.copy()
    X.indices = np.ascontiguousarray(X.indices, dtype=np.int32)
    X.indptr = np.ascontiguousarray(X.indptr, dtype=np.int32)
    return X


def run_two_epochs(problem, path, n_chunks=1):
    """Two consecutive epochs through ``path`` and through the matching reference."""
    p = problem
    dtype = p["X"].dtype
    model = fresh_model(p["W0"], p["hyper"], p["average"], dtype)
    reference = as_float64(model)
    X64 = p["X"].astype(np.float64)
    sw64 = p["sw"].astype(np.float64)
    if path.startswith("csr"):
        X_kernel = csr_arrays(p["X"])
    else:
        X_kernel = np.ascontiguousarray(p["X"])
    losses, reference_losses = [], []
    for order, steps in zip(p["orders"], p["steps"], strict=True):
        args = (p["y"], p["sw"], order, p["batch_size"], steps, p["first_averaged"])
        losses.append(run_kernel(path, X_kernel, *args, model, n_chunks))
        ref_args = (p["y"], sw64, order, p["batch_size"], steps, p["first_averaged"], reference)
        if path.startswith("csr"):
            reference_losses.append(reference_csr_epoch(X64, *ref_args))
        else:
            reference_losses.append(reference_dense_epoch(X64, *ref_args, n_chunks))
    return model, reference, losses, reference_losses


# ----------------------------------------------------------------------------- tests


@fuzz_settings(max_examples=500)
@given(
    problem=problems(sparse=False),
    path=st.sampled_from(["dense", "dense", "dense-parallel", "dense-python"]),
    n_chunks=st.integers(1, 5),
)
def test_dense_kernels_match_numpy_reference(problem, path, n_chunks):
    event(f"path: {path}, n_chunks: {n_chunks}")
    model, reference, losses, reference_losses = run_two_epochs(problem, path, n_chunks)
    assert_models_close(model, reference)
    assert_close(losses, reference_losses, what="loss")


@fuzz_settings(max_examples=500)
@given(problem=problems(sparse=True), path=st.sampled_from(["csr", "csr", "csr", "csr-python"]))
def test_csr_kernel_matches_lazy_numpy_reference(problem, path):
    event(f"path: {path}")
    model, reference, losses, reference_losses = run_two_epochs(problem, path)
    assert_models_close(model, reference)
    assert_close(losses, reference_losses, what="loss")


@fuzz_settings(max_examples=150)
@given(problem=problems(sparse=True))
def test_lazy_reference_equals_dense_reference_without_l1(problem):
    """Lazy averaging and the sparse update are exact rewrites of the dense epoch; only the
    lazy L1 truncation changes the result (so the CSR reference is not a copy of the
    kernel's quirks).

    Exact up to rounding: the two forms round differently once steps with ``eta * alpha``
    near or above 1 shrink the scale to almost 0 (up to 5.5e-10 apart, relatively, in a
    thorough run), hence 1e-8 here; each kernel matches its own reference to ``RTOL``.
    """
    p = problem
    X = p["X"]
    hyper = p["hyper"].copy()
    hyper[kernels.ALPHA_L1] = 0.0
    dense = as_float64(fresh_model(p["W0"], hyper, p["average"], np.float64))
    lazy = as_float64(dense)
    for order, steps in zip(p["orders"], p["steps"], strict=True):
        args = (p["y"], p["sw"], order, p["batch_size"], steps, p["first_averaged"])
        loss_dense = reference_dense_epoch(X.toarray(), *args, dense, 1)
        loss_lazy = reference_csr_epoch(X, *args, lazy)
        assert_close(loss_lazy, loss_dense, rtol=REWRITE_RTOL)
    assert_models_close(lazy, dense, rtol=REWRITE_RTOL)


@fuzz_settings(max_examples=200)
@given(
    problem=problems(sparse=False, dtype=np.float32, max_step=1.0),
    path=st.sampled_from(["dense", "dense-parallel", "csr"]),
    n_chunks=st.integers(1, 3),
)
def test_float32_kernels_track_the_float64_reference(problem, path, n_chunks):
    """float32 specializations: same math, float32 rounding (1e-3 relative over 2 epochs)."""
    if path == "csr":
        problem = {**problem, "X": sp.csr_matrix(problem["X"])}
    model, reference, losses, reference_losses = run_two_epochs(problem, path, n_chunks)
    assert model[0].dtype == np.float32
    # float32 rounding of ~1e-7 per operation, not amplified by the stable steps drawn
    scale = max(1.0, float(np.max(np.abs(reference[0]))))
    np.testing.assert_allclose(model[0], reference[0], rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(losses, reference_losses, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("path", ["dense", "dense-parallel", "csr"])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_clipping_guards_match_the_reference(path, n_outputs):
    """Logits beyond MAX_LOGIT and weighted derivatives beyond MAX_DLOSS are clipped the
    same way as in the reference; the result stays finite."""
    rng = np.random.default_rng(0)
    n, d = 12, 3
    X = rng.normal(size=(n, d)) * np.array([1e25, 1.0, 1e-3])
    y = rng.integers(0, 2 if n_outputs == 1 else n_outputs, n).astype(np.int32)
    sw = np.where(rng.random(n) < 0.5, 1e20, 1.0)  # weight * derivative beyond 1e12
    W0 = rng.normal(scale=1e10, size=(n_outputs, d + 1))  # logits up to ~1e35 > 1e30
    hyper = make_hyper(1e-3, 0.0, 0.0, False, 1.0, True)
    steps = np.full(3, 1e-30)
    order = rng.permutation(n).astype(np.int64)
    X_kernel = csr_arrays(sp.csr_matrix(X)) if path == "csr" else X
    model = fresh_model(W0, hyper, False, np.float64)
    reference = as_float64(model)
    args = (y, sw, order, 4, steps, 3)
    loss = run_kernel(path, X_kernel, *args, model, 2)
    if path == "csr":
        reference_loss = reference_csr_epoch(sp.csr_matrix(X), *args, reference)
    else:
        reference_loss = reference_dense_epoch(X, *args, reference, 2)
    assert np.isfinite(loss)
    assert_models_close(model, reference)
    assert_close(loss, reference_loss)
    # at least one derivative was clipped: without the guard the step would be ~1e8 larger
    Z = X @ W0[:, :-1].T + W0[:, -1]
    assert np.abs(Z).max() > kernels.MAX_LOGIT


@pytest.mark.parametrize("path", ["dense", "csr"])
def test_scale_fold_and_zero_decay_match_the_reference(path):
    """eta * alpha_l2 >= 1 zeroes the scale (weights reset, sklearn's clamp) and many
    strong decays fold it below MIN_SCALE; both match the reference, with averaging."""
    rng = np.random.default_rng(1)
    n, d = 30, 4
    X = rng.normal(size=(n, d))
    y = rng.integers(0, 3, n).astype(np.int32)
    sw = rng.uniform(0.5, 2.0, n)
    W0 = rng.normal(size=(3, d + 1))
    X_kernel = csr_arrays(sp.csr_matrix(X)) if path == "csr" else X
    for alpha_l2, steps in [(2.0, np.array([0.1, 0.6, 0.1])), (9.0, np.full(15, 0.1))]:
        hyper = make_hyper(alpha_l2, 0.01, 0.0, False, 1.0, True)
        model = fresh_model(W0, hyper, True, np.float64)
        reference = as_float64(model)
        batch_size = -(-n // steps.shape[0])
        args = (y, sw, rng.permutation(n).astype(np.int64), batch_size, steps, 0)
        loss = run_kernel(path, X_kernel, *args, model, 1)
        if path == "csr":
            reference_loss = reference_csr_epoch(sp.csr_matrix(X), *args, reference)
        else:
            reference_loss = reference_dense_epoch(X, *args, reference, 1)
        assert_models_close(model, reference)
        assert_close(loss, reference_loss)
