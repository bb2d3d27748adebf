"""The compiled epoch kernels against finite differences of the objective in numpy.

One full-batch update (batch = every row, rows in order) with step ``eta`` moves the weights
by ``-eta`` times the gradient, so ``(W0 - W1) / eta`` is the kernel's gradient; it must match
central finite differences of the objective to 1e-6 relative, for every path: binary and
multinomial, dense and CSR, with and without sample weights, each penalty's smooth part,
plain SGD, momentum and Adam.
"""

import math

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from sgdlogit import _kernels as kernels
from sgdlogit._objective import log_loss_per_sample
from sgdlogit._training import PAGE_BYTES, TrainingState, make_hyper, page_slots

N_SAMPLES, N_FEATURES = 40, 6


def objective(W, X, y, weights, alpha_l2, intercept_scale=1.0):
    """Weighted mean loss + alpha_l2/2 ||coef||^2, W = [coef | intercept] in float64."""
    decision = np.asarray(X @ W[:, :-1].T) + W[:, -1]
    if W.shape[0] == 1:
        decision = decision.ravel()
    loss = np.average(log_loss_per_sample(decision, y), weights=weights)
    return loss + 0.5 * alpha_l2 * np.sum(W[:, :-1] ** 2)


def numeric_gradient(W, *args, h=1e-6):
    grad = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        plus, minus = W.copy(), W.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (objective(plus, *args) - objective(minus, *args)) / (2 * h)
    return grad


def make_problem(rng, n_classes, sparse, weighted, dtype=np.float64):
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    X[rng.random(X.shape) < 0.4] = 0.0
    X = X.astype(dtype)
    y = rng.integers(0, n_classes, N_SAMPLES).astype(np.int32)
    weights = rng.uniform(0.2, 3.0, N_SAMPLES) if weighted else np.ones(N_SAMPLES)
    weights = (weights / weights.mean()).astype(dtype)
    n_outputs = 1 if n_classes == 2 else n_classes
    W0 = rng.normal(scale=0.5, size=(n_outputs, N_FEATURES + 1))
    return (sp.csr_matrix(X) if sparse else X), y, weights, W0


def run_one_update(
    X, y, weights, W0, hyper, eta, *, adaptive=False, jit=True, n_chunks=1, parallel=False
):
    """Run one full-batch update; return the state, the loss-gradient buffer and the loss."""
    dtype = X.dtype
    n_outputs, n_cols = W0.shape
    state = TrainingState.zeros(
        n_outputs,
        n_cols - 1,
        dtype,
        l1=hyper[kernels.ALPHA_L1] > 0,
        adaptive=adaptive,
        average=False,
    )
    state.W[:] = W0
    n_rows = X.shape[0]
    head = (y, weights, np.arange(n_rows, dtype=np.int64), n_rows, np.array([eta]), 1)
    model = (state.W, state.q, state.opt, state.avg, state.counters, hyper)
    if sp.issparse(X):
        kernel = kernels.csr_epoch if jit else kernels.csr_epoch.py_func
        logits = np.empty((n_rows, n_outputs), dtype=dtype)
        grad = np.zeros_like(state.W) if adaptive else np.empty((0, 0), dtype)
        marks = np.empty(n_cols - 1)
        indptr = X.indptr.astype(np.int32)
        loss = kernel(X.data, X.indices, indptr, *head, *model, logits, grad, marks, np.empty(2))
        return state, grad, loss
    kernel = kernels.dense_epoch_parallel if parallel else kernels.dense_epoch
    kernel = kernel if jit else kernels._dense_epoch.py_func
    grads = np.zeros((n_chunks, n_outputs, n_cols), dtype=dtype)
    logits = np.empty((n_chunks, 2 * n_outputs), dtype=dtype)
    work = (np.empty((n_chunks, kernels.LOSS_COLUMNS)), state.center, np.empty(n_outputs))
    loss = kernel(X, *head, *model, logits, grads, *work)
    return state, grads[0], loss


def hyper_for(penalty, alpha=0.05, l1_ratio=0.3, momentum=0.0, solver="sgd"):
    return make_hyper(
        alpha=alpha,
        penalty=penalty,
        l1_ratio=l1_ratio,
        momentum=momentum,
        solver=solver,
        fit_intercept=True,
        intercept_scale=1.0,
    )


PATHS = [
    pytest.param(n_classes, sparse, weighted, id=f"{n_classes}cls-{kind}-{w}")
    for n_classes in (2, 3)
    for sparse, kind in ((False, "dense"), (True, "csr"))
    for weighted, w in ((False, "unweighted"), (True, "weighted"))
]


@pytest.mark.parametrize(("n_classes", "sparse", "weighted"), PATHS)
@pytest.mark.parametrize("penalty", ["l2", "elasticnet", None])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_update_is_the_objective_gradient(rng, n_classes, sparse, weighted, penalty, momentum):
    X, y, weights, W0 = make_problem(rng, n_classes, sparse, weighted)
    chunks = {} if sparse else {"n_chunks": 3, "parallel": True}
    l1_ratio = 0.3
    # the smooth part only: the L1 truncation is tested on its own below
    alpha_l2 = {"l2": 0.05, "elasticnet": 0.05 * (1 - l1_ratio), None: 0.0}[penalty]
    hyper = hyper_for(penalty, l1_ratio=l1_ratio, momentum=momentum)
    hyper[kernels.ALPHA_L1] = 0.0
    eta = 0.1
    state, _, loss = run_one_update(X, y, weights, W0, hyper, eta, adaptive=momentum > 0, **chunks)
    kernel_grad = (W0 - state.W) / eta
    expected = numeric_gradient(W0, X, y, weights, alpha_l2)
    np.testing.assert_allclose(kernel_grad, expected, rtol=1e-6, atol=1e-9)
    expected_loss = np.sum(weights * log_loss_per_sample(_decision(W0, X), y))
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-12)


def _decision(W, X):
    decision = np.asarray(X @ W[:, :-1].T) + W[:, -1]
    return decision.ravel() if W.shape[0] == 1 else decision


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("penalty", ["l2", None])
def test_one_sample_binary_update_is_the_objective_gradient(rng, weighted, penalty):
    """One CSR row, one output, plain SGD: the default update on text-like rows."""
    X, y, weights, W0 = make_problem(rng, 2, True, weighted)
    row = int(np.argmax(np.diff(X.indptr)))  # a row with nonzeros
    X, y, weights = X[row], y[row : row + 1], weights[row : row + 1]
    alpha = {"l2": 0.05, None: 0.0}[penalty]
    eta = 0.1
    state, _, loss = run_one_update(X, y, weights, W0, hyper_for(penalty, alpha=alpha), eta)
    # the kernel's objective is the weighted sum of the losses (weights of mean one over a
    # fit), plus the penalty: here weight * loss + alpha / 2 ||coef||^2
    expected = weights[0] * numeric_gradient(W0, X, y, weights, 0.0)
    expected[:, :-1] += alpha * W0[:, :-1]
    np.testing.assert_allclose((W0 - state.W) / eta, expected, rtol=1e-6, atol=1e-9)
    expected_loss = weights[0] * log_loss_per_sample(_decision(W0, X), y)[0]
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-12)


@pytest.mark.parametrize(("n_classes", "sparse", "weighted"), PATHS)
def test_adam_gradient_and_first_step(rng, n_classes, sparse, weighted):
    X, y, weights, W0 = make_problem(rng, n_classes, sparse, weighted)
    hyper = hyper_for("l2", solver="adam")
    eta = 0.01
    state, _, _ = run_one_update(X, y, weights, W0, hyper, eta, adaptive=True)
    # after one step the first moment is (1 - beta1) times the objective's gradient: the
    # loss gradient (finite differences) plus the L2 term on the coefficients
    full = numeric_gradient(W0, X, y, weights, 0.0)
    full[:, :-1] += 0.05 * W0[:, :-1]
    gradient = state.opt[0] / (1.0 - hyper[kernels.BETA1])
    np.testing.assert_allclose(gradient, full, rtol=1e-6, atol=1e-9)
    # first Adam step: bias-corrected moments are g and g**2 (g as the kernel has it: the
    # step divides by |g|, which would magnify the error of finite differences)
    expected = W0 - eta * gradient / (np.abs(gradient) + kernels_eps())
    np.testing.assert_allclose(state.W, expected, rtol=1e-12)


def kernels_eps():
    from sgdlogit._training import ADAM_EPS

    return ADAM_EPS


@pytest.mark.parametrize("sparse", [False, True])
def test_l1_step_is_soft_thresholding(rng, sparse):
    X, y, weights, W0 = make_problem(rng, 2, sparse, False)
    W0[:, :-1] = rng.normal(scale=0.02, size=(1, N_FEATURES))
    hyper = hyper_for("l1", alpha=0.2)
    eta = 0.1
    state, _, _ = run_one_update(X, y, weights, W0, hyper, eta)
    gradient = numeric_gradient(W0, X, y, weights, 0.0)
    moved = W0 - eta * gradient
    threshold = eta * 0.2
    expected = np.sign(moved[:, :-1]) * np.maximum(np.abs(moved[:, :-1]) - threshold, 0.0)
    np.testing.assert_allclose(state.W[:, :-1], expected, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(state.W[:, -1], moved[:, -1], rtol=1e-6)
    assert np.any(state.W[:, :-1] == 0.0), "the step should zero some coefficients exactly"


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_python_kernel_matches_compiled(rng, sparse, n_classes):
    """The pure-Python version of each kernel (seen by coverage) computes the same."""
    X, y, weights, W0 = make_problem(rng, n_classes, sparse, True)
    hyper = hyper_for("elasticnet")
    compiled, _, loss_c = run_one_update(X, y, weights, W0, hyper, 0.1, n_chunks=2)
    python, _, loss_p = run_one_update(X, y, weights, W0, hyper, 0.1, jit=False, n_chunks=2)
    np.testing.assert_allclose(python.W, compiled.W, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(loss_p, loss_c, rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_float32_kernel_matches_float64(rng, sparse):
    X, y, weights, W0 = make_problem(rng, 3, sparse, True)
    X32 = X.astype(np.float32)
    hyper = hyper_for("l2")
    s64, _, loss64 = run_one_update(X, y, weights, W0, hyper, 0.1)
    s32, _, loss32 = run_one_update(X32, y, weights.astype(np.float32), W0, hyper, 0.1)
    assert s32.W.dtype == np.float32
    np.testing.assert_allclose(s32.W, s64.W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)


@pytest.mark.parametrize("n_chunks", [1, 2])
@pytest.mark.parametrize("n_rows", [1, 2, 15, 16, 17, 33, 50])
def test_float32_binary_rows_by_groups_match_float64_by_pairs(rng, n_rows, n_chunks):
    # float32 binary rows go by groups of GROUP_ROWS (the last one partial, an odd row out
    # paired with itself), float64 ones by pairs: the same update and loss
    X = rng.normal(size=(n_rows, 5)) * 3
    y = rng.integers(0, 2, n_rows).astype(np.int32)
    weights = rng.uniform(0.5, 2.0, n_rows)
    W0 = rng.normal(size=(1, 6))
    hyper = hyper_for("l2")
    s64, _, loss64 = run_one_update(X, y, weights, W0, hyper, 0.1, n_chunks=n_chunks)
    s32, _, loss32 = run_one_update(
        X.astype(np.float32), y, weights.astype(np.float32), W0, hyper, 0.1, n_chunks=n_chunks
    )
    assert s32.W.dtype == np.float32
    np.testing.assert_allclose(s32.W, s64.W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5)


def test_extreme_logits_give_finite_loss_and_bounded_gradient():
    """Logits far beyond exp's range: the loss stays finite and the derivative in [-1, 1]."""
    X = np.array([[1e200], [-1e200]])
    y = np.array([0, 1], dtype=np.int32)
    W0 = np.array([[1e200, 0.0]])
    hyper = hyper_for(None)
    state, _, loss = run_one_update(X, y, np.ones(2), W0, hyper, 1e-300)
    assert np.isfinite(loss) and loss > 0
    assert np.all(np.isfinite(state.W))
    # each sample's loss derivative is clipped to 1: the step is at most eta * |x|
    assert abs(state.W[0, 0] - W0[0, 0]) <= 1e-300 * 1e200 * 1.0001


def test_sample_gradient_is_clipped():
    """A per-sample loss derivative beyond the 1e12 guard is clipped (sklearn's rule)."""
    X = np.array([[1.0], [1.0]])
    y = np.array([1, 1], dtype=np.int32)
    weights = np.array([1e20, 1.0])
    W0 = np.zeros((1, 2))
    hyper = hyper_for(None)
    state, _, _ = run_one_update(X, y, weights, W0, hyper, 1.0)
    # sample 0: weight * (sigmoid(0) - 1) = -5e19, clipped to -1e12, then / batch size 2
    expected_step = (kernels.MAX_DLOSS + 0.5) / 2
    np.testing.assert_allclose(state.W[0, 0], expected_step, rtol=1e-12)


@pytest.mark.parametrize("n_chunks", [1, 2, 5])
def test_parallel_dense_kernel_is_bit_identical_to_serial(rng, n_chunks):
    X, y, weights, W0 = make_problem(rng, 3, False, True)
    hyper = hyper_for("elasticnet")
    serial, _, loss_s = run_one_update(X, y, weights, W0, hyper, 0.1, n_chunks=n_chunks)
    threaded, _, loss_t = run_one_update(
        X, y, weights, W0, hyper, 0.1, n_chunks=n_chunks, parallel=True
    )
    assert np.array_equal(serial.W, threaded.W)
    assert loss_s == loss_t


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("n_chunks", [1, 2, 3])
def test_threads_handing_batches_over_match_the_serial_kernel(
    rng, n_classes, n_chunks, dtype, centered
):
    """Many small batches: every update waits for the chunks of its batch, and every chunk
    for the update before it. A missed wait or an unpublished write changes the bits."""
    n_rows, n_features, batch_size = 3000, 24, 64
    X = rng.normal(size=(n_rows, n_features)).astype(dtype)
    center = rng.normal(size=n_features) if centered else np.zeros(0)
    y = rng.integers(0, n_classes, n_rows).astype(np.int32)
    weights = rng.uniform(0.5, 2.0, n_rows).astype(dtype)
    order = rng.permutation(n_rows).astype(np.int64)
    steps = np.full(-(-n_rows // batch_size), 0.05)
    n_outputs = 1 if n_classes == 2 else n_classes
    hyper = hyper_for("elasticnet", alpha=0.05)  # a decay scale far from 1

    def run(kernel, on_pages=False):
        state = TrainingState.zeros(
            n_outputs, n_features, X.dtype, l1=True, adaptive=False, average=True
        )
        shapes = ((2 * n_outputs,), (n_outputs, n_features + 1), (kernels.LOSS_COLUMNS,))
        dtypes = (dtype, dtype, np.float64)
        if on_pages:  # as fits allocate them; NaN in the padding, which no kernel may read
            buffers = [
                page_slots(n_chunks, s, d, 64 * i)
                for i, (s, d) in enumerate(zip(shapes, dtypes, strict=True))
            ]
            for buffer in buffers:
                buffer.fill(np.nan)
        else:
            buffers = [
                np.empty((n_chunks, *s), dtype=d) for s, d in zip(shapes, dtypes, strict=True)
            ]
        model = (state.W, state.q, state.opt, state.avg, state.counters, hyper)
        centering = (center, np.empty(n_outputs))
        loss = kernel(X, y, weights, order, batch_size, steps, 10, *model, *buffers, *centering)
        return np.concatenate([state.W.ravel(), state.avg.ravel(), state.q.ravel(), [loss]])

    serial = run(kernels.dense_epoch)
    assert np.all(np.isfinite(serial))
    np.testing.assert_array_equal(run(kernels.dense_epoch, on_pages=True), serial)
    for _ in range(3):
        np.testing.assert_array_equal(run(kernels.dense_epoch_parallel), serial)
        np.testing.assert_array_equal(run(kernels.dense_epoch_parallel, on_pages=True), serial)
    # one thread for all the chunks: the threads never all arrive, and the one there
    # takes every task from the shared queue instead of waiting for the others
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        np.testing.assert_array_equal(run(kernels.dense_epoch_parallel), serial)
    finally:
        numba.set_num_threads(previous)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("offset", [0, 64, 1024, 4032])
@pytest.mark.parametrize(
    "shape", [(1,), (2,), (20,), (513,), (1, 101), (10, 51), (8, 64), (3, 700), (1000, 5)]
)
def test_page_slots_give_each_slot_pages_of_its_own(shape, offset, dtype):
    n_slots = 3
    slots = page_slots(n_slots, shape, dtype, offset)
    assert slots.flags.c_contiguous
    assert slots.dtype == dtype
    assert slots.shape[0] == n_slots
    assert all(padded >= size for padded, size in zip(slots.shape[1:], shape, strict=True))
    used_bytes = math.prod(shape[:-1]) * slots.shape[-1] * slots.itemsize  # whole rows
    if len(shape) == 1:
        used_bytes = shape[0] * slots.itemsize
    pages = []
    for slot in slots:
        start = slot.ctypes.data
        assert start % PAGE_BYTES == offset
        pages.append(set(range(start // PAGE_BYTES, (start + used_bytes - 1) // PAGE_BYTES + 1)))
    for t in range(n_slots - 1):
        assert not pages[t] & pages[t + 1]
        assert max(pages[t]) < min(pages[t + 1])
    # every page in use lies wholly inside the allocation: no other array shares one
    raw = slots.base
    while raw.base is not None:
        raw = raw.base
    assert raw.ctypes.data <= min(pages[0]) * PAGE_BYTES
    assert (max(pages[-1]) + 1) * PAGE_BYTES <= raw.ctypes.data + raw.nbytes


def _loss_in_total(total, linear, extras, weights):
    """The running loss of rows added one by one to ``total`` (as CSR and softmax rows)."""
    for lin, extra, weight in zip(linear, extras, weights, strict=True):
        kernels._add_loss(total, lin, extra, weight)


def _loss_in_registers(total, linear, extras, weights):
    """The same rows summed in registers, flushed per row and folded once (dense pairs)."""
    linear_sum, product = 0.0, 1.0
    for lin, extra, weight in zip(linear, extras, weights, strict=True):
        linear_sum, product = kernels._with_row_loss(linear_sum, product, lin, extra, weight)
        linear_sum, product = kernels._flushed(linear_sum, product)
    kernels._fold_loss(total, linear_sum, product)


@pytest.mark.parametrize("add_rows", [_loss_in_total, _loss_in_registers])
def test_running_loss_matches_a_sum_of_log1p(rng, add_rows):
    # extras in (0, 1) (binary), tiny ones that 1 + x would round away, and large ones
    # (softmax over up to 10 classes) that force the product to be flushed into a log
    extras = np.concatenate(
        [rng.uniform(0, 1, 3000), 10.0 ** rng.uniform(-40, -6, 500), rng.uniform(1, 9, 1500)]
    )
    rng.shuffle(extras)
    linear = rng.uniform(0, 3, extras.size)
    weights = np.where(rng.uniform(size=extras.size) < 0.8, 1.0, rng.uniform(0, 4, extras.size))
    total = np.array([0.0, 1.0])
    add_rows(total, linear, extras, weights)
    # the unit-weight factors multiply to far beyond a double: the product was flushed
    assert np.sum(np.log1p(extras[weights == 1.0])) > 3 * np.log(kernels.LOG_FLUSH)
    expected = math.fsum(weights * (linear + np.log1p(extras)))
    assert total[0] + np.log(total[1]) == pytest.approx(expected, rel=1e-14)
    # a sum of only tiny losses keeps its digits (1 + x would have lost them all)
    tiny, extras = np.array([0.0, 1.0]), 10.0 ** rng.uniform(-300, -20, 100)
    add_rows(tiny, np.zeros(extras.size), extras, np.ones(extras.size))
    assert tiny[0] + np.log(tiny[1]) == pytest.approx(math.fsum(extras), rel=1e-14)


@pytest.mark.parametrize("unit_weights", [True, False])
def test_group_loss_matches_a_sum_of_log1p(rng, unit_weights):
    """Groups of binary rows as the float32 kernel lays them out in a chunk's ``total``."""
    total = np.array([0.0, 1.0] + [np.nan] * (kernels.LOSS_COLUMNS - 2))
    expected = []
    for n in [kernels.GROUP_ROWS] * 200 + [2, 6]:  # 3,208 rows: the product is flushed
        extras = rng.uniform(0, 1, n)
        extras[rng.uniform(size=n) < 0.1] = 10.0 ** rng.uniform(-40, -8)  # tiny
        linear = rng.uniform(0, 3, n)
        weights = np.ones(n) if unit_weights else rng.choice([0.0, 0.5, 1.0, 3.0], n)
        total[kernels.LOGIT_AT : kernels.LOGIT_AT + n] = linear
        total[kernels.EXTRA_AT : kernels.EXTRA_AT + n] = extras
        total[kernels.WEIGHT_AT : kernels.WEIGHT_AT + n] = weights
        kernels._add_group_loss(total, n, unit_weights)
        expected.extend(weights * (linear + np.log1p(extras)))
    assert total[0] + np.log(total[1]) == pytest.approx(math.fsum(expected), rel=1e-14)


@pytest.mark.parametrize("n_nonzero", range(10))
def test_sparse_dot_matches_numpy(rng, n_nonzero):
    """Four partial sums and a tail: every row length sums every nonzero once."""
    w = rng.normal(size=50)
    indices = rng.choice(50, size=n_nonzero + 3, replace=False).astype(np.int32)
    data = rng.normal(size=n_nonzero + 3)
    got = kernels._sparse_dot(w, indices, data, 2, 2 + n_nonzero)
    expected = math.fsum(w[indices[2 : 2 + n_nonzero]] * data[2 : 2 + n_nonzero])
    assert got == pytest.approx(expected, rel=1e-13, abs=1e-15)


def test_dense_kernels_refuse_a_logits_buffer_too_narrow_for_a_pair_of_rows(rng):
    X = rng.normal(size=(20, 3))
    y = rng.integers(0, 3, 20).astype(np.int32)
    state = TrainingState.zeros(3, 3, X.dtype, l1=False, adaptive=False, average=False)
    model = (state.W, state.q, state.opt, state.avg, state.counters, hyper_for("l2", 0.01))
    head = (X, y, np.ones(20), np.arange(20), 4, np.full(5, 0.1), 10)
    buffers = (
        np.empty((1, 5)),
        np.empty((1, 3, 4)),
        np.empty((1, kernels.LOSS_COLUMNS)),
        np.zeros(0),
        np.empty(3),
    )
    for kernel in (kernels.dense_epoch, kernels.dense_epoch_parallel):
        with pytest.raises(ValueError, match="2 \\* n_outputs"):
            kernel(*head, *model, *buffers)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_kernels_refuse_a_losses_buffer_too_narrow_for_a_group_of_rows(rng, dtype):
    # float32 binary rows keep a group of rows in the chunk's row of losses
    X = rng.normal(size=(40, 3)).astype(dtype)
    y = rng.integers(0, 2, 40).astype(np.int32)
    state = TrainingState.zeros(1, 3, X.dtype, l1=False, adaptive=False, average=False)
    model = (state.W, state.q, state.opt, state.avg, state.counters, hyper_for("l2", 0.01))
    head = (X, y, np.ones(40, dtype), np.arange(40), 32, np.full(2, 0.1), 10)
    buffers = (
        np.empty((1, 2), dtype),
        np.empty((1, 1, 4), dtype),
        np.empty((1, kernels.LOSS_COLUMNS - 1)),
        np.zeros(0),
        np.empty(1),
    )
    for kernel in (kernels.dense_epoch, kernels.dense_epoch_parallel):
        with pytest.raises(ValueError, match="LOSS_COLUMNS"):
            kernel(*head, *model, *buffers)


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(
    "penalty, momentum, solver",
    [
        ("l2", 0.0, "sgd"),
        ("elasticnet", 0.0, "sgd"),
        ("l2", 0.9, "sgd"),
        ("elasticnet", 0.0, "adam"),
    ],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_centered_updates_train_the_centered_model(
    rng, n_classes, penalty, momentum, solver, parallel
):
    """Updates centered at ``c`` on rows ``x`` are the plain updates of the model
    ``w . (x - c) + b'`` on the rows ``x - c``, written back as ``b = b' - w . c``: the
    same iterates (and averages) of the same objective, to rounding."""
    n_rows, n_features, batch_size = 300, 5, 16
    X = rng.normal(size=(n_rows, n_features)) + rng.normal(scale=20.0, size=n_features)
    center = X[:100].mean(axis=0)  # any point: the reparametrization is exact
    y = rng.integers(0, n_classes, n_rows).astype(np.int32)
    weights = rng.uniform(0.5, 2.0, n_rows)
    order = rng.permutation(n_rows).astype(np.int64)
    steps = np.full(-(-n_rows // batch_size), 0.002)
    n_outputs = 1 if n_classes == 2 else n_classes
    hyper = hyper_for(penalty, alpha=0.01, momentum=momentum, solver=solver)
    W0 = rng.normal(scale=0.1, size=(n_outputs, n_features + 1))

    def epochs(rows, start, centered_at):
        state = TrainingState.zeros(
            n_outputs, n_features, np.float64,
            l1=penalty != "l2", adaptive=momentum > 0 or solver == "adam", average=True,
        )  # fmt: skip
        state.W[:] = start
        kernel = kernels.dense_epoch_parallel if parallel else kernels.dense_epoch
        buffers = (
            np.empty((2, 2 * n_outputs)), np.empty((2, n_outputs, n_features + 1)),
            np.empty((2, kernels.LOSS_COLUMNS)), centered_at, np.empty(n_outputs),
        )  # fmt: skip
        model = (state.W, state.q, state.opt, state.avg, state.counters, hyper)
        losses = [
            kernel(rows, y, weights, order, batch_size, steps, 3, *model, *buffers)
            for _ in range(3)
        ]
        return state, losses

    centered, losses = epochs(X, W0, center)
    shifted_start = W0.copy()
    shifted_start[:, -1] += W0[:, :-1] @ center
    reference, reference_losses = epochs(X - center, shifted_start, np.zeros(0))
    for got, trained in ((centered.W, reference.W), (centered.avg, reference.avg)):
        expected = trained.copy()
        expected[:, -1] -= trained[:, :-1] @ center
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    np.testing.assert_allclose(losses, reference_losses, rtol=1e-9)
    # and they differ from plain updates on the rows as they are
    plain, _ = epochs(X, W0, np.zeros(0))
    assert not np.allclose(plain.W, centered.W, rtol=1e-3)
