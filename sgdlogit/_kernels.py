"""Compiled kernels: one mini-batch SGD epoch over dense or CSR rows.

The kernels are pure functions over arrays and scalars. Python draws the row order and the
step sizes, allocates every buffer once per fit, and owns the epoch loop; a kernel runs one
epoch, updates the model arrays in place and returns the weighted training loss it saw.

Model layout shared by every kernel: ``W`` has shape ``(n_outputs, n_features + 1)``; the
first ``n_features`` columns are the coefficients, the last one the intercepts.
``n_outputs`` is 1 for a binary model (sigmoid of one logit) and ``K`` for a multinomial
model (softmax over ``K`` logits).

Penalty: the L2 part is applied as weight decay; plain SGD keeps ``W = scale * V`` so the
decay costs O(1) per update (the scale is folded back into ``W`` when it gets small and at
the end of every epoch). The L1 part uses the cumulative-penalty truncation of Tsuruoka,
Tsujii and Ananiadou (2009), so L1 yields exact zeros.

Inlining: helpers called per row or per nonzero are inlined by numba (``inline="always"``),
as a call each cost 15-20% of an epoch. Helpers called per chunk or per batch are compiled
once and called: numba types an inlined helper again at every call site, and inlining them
made the first fit of a fresh install compile for 9 s (dense float64) and 12 s (threaded)
instead of 5 s each, for a cost below the noise at the default batch size (up to 10% with
two threads on batches of 32 rows).
"""

import ctypes
import math
import sys

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from sgdlogit._kernel_cache import caching_possible
from sgdlogit._simd import pair_dots, quad_axpy

# False only where numba can write no cache at all (see _kernel_cache)
CACHE = caching_possible(__file__)

# Indices into the ``hyper`` array of scalar hyper-parameters.
ALPHA_L2 = 0
ALPHA_L1 = 1
MOMENTUM = 2
BETA1 = 3
BETA2 = 4
ADAM_EPS = 5
INTERCEPT_SCALE = 6
FIT_INTERCEPT = 7
USE_ADAM = 8
N_HYPER = 9

# Indices into the ``counters`` array of state that persists across epochs.
L1_TOTAL = 0  # cumulative L1 penalty u of Tsuruoka et al.
N_AVERAGED = 1  # number of updates summed into the averaged model
ADAM_STEPS = 2
N_COUNTERS = 3

# sklearn's guard: a per-sample loss derivative is clipped to this magnitude.
MAX_DLOSS = 1e12
# Logits beyond this are saturated; capping them keeps exp/log finite for any input.
MAX_LOGIT = 1e30
# Loss sums: unit-weight rows multiply their factor 1 + extra (>= 1, at most the number of
# classes) into a running product whose log is taken once it exceeds LOG_FLUSH, instead of a
# log1p per row. Extras below TINY_EXTRA are added as they are (log1p(x) = x to double
# precision), since 1 + x would round them away.
LOG_FLUSH = 1e250
TINY_EXTRA = 2.0**-26
# Fold the decay scale back into W before it underflows.
MIN_SCALE = 1e-9
# Rows ahead of the current one whose memory is requested in advance: shuffled rows are
# scattered in memory, and without prefetching every row waits for DRAM (about 4x slower).
PREFETCH_AHEAD = 32
CSR_PREFETCH_AHEAD = 8
# Rows scored together by the prediction kernel, and at most this many blocks per task of
# its threads (one workspace each).
SCORE_BLOCK = 64
MAX_BLOCKS_PER_TASK = 16
CACHE_LINE = 64
# float32 binary rows go by groups of this many (see _binary_rows_by_groups); the group's
# logits, labels, weights, derivatives and exps wait in the chunk's row of ``losses``,
# after its running loss (columns 0 and 1), at these offsets.
GROUP_ROWS = 16  # a multiple of 4: the axpys go by fours
LOGIT_AT = 2
LABEL_AT = LOGIT_AT + GROUP_ROWS
WEIGHT_AT = LABEL_AT + GROUP_ROWS
DLOSS_AT = WEIGHT_AT + GROUP_ROWS
EXTRA_AT = DLOSS_AT + GROUP_ROWS
LOSS_COLUMNS = EXTRA_AT + GROUP_ROWS  # columns each chunk's row of ``losses`` needs
# exp(x) in plain arithmetic (see _exp_nonpositive): log2(e), ln 2 as a 32-bit head
# (so that k * head is exact for every k that occurs) plus the rest, the point below which
# exp(x) rounds to 0, the shift that keeps 2^k normal down there, 2^-shift / n!, and
# 1.5 * 2^52, which rounds the sum with it to an integer held in its low bits.
LOG2_E = 1.4426950408889634
LN2_HIGH = 6.93147180369123816490e-01
LN2_LOW = 1.90821492927058770002e-10
EXP_UNDERFLOW = -746.0
EXP_SHIFT = 54
_EXP_TAYLOR = tuple(2.0**-EXP_SHIFT / math.factorial(n) for n in range(14))
EXP_ROUNDER = 1.5 * 2.0**52
# added to the bits of EXP_ROUNDER + k, it leaves k + 1023 + EXP_SHIFT in the low bits
EXP_BIAS = 1023 + EXP_SHIFT - int(np.float64(EXP_ROUNDER).view(np.int64))
# Dot products and axpys vectorize only if sums may be reordered; no other fast-math flag
# (they would let the compiler assume finite values and break the divergence checks).
_REASSOCIATE = {"reassoc", "contract"}
# The parallel region of an epoch is its prange loop and nothing else (no numpy call turned
# into a parallel loop, no fusion of loops).
_PRANGE_ONLY = {"prange": True, "numpy": False, "fusion": False}


@intrinsic
def _prefetch(typingctx, array, index):
    """Hint the CPU to load the cache line holding ``array[index]`` (1-D array) into L2."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = builder.gep(view.data, [args[1]])
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
            "llvm.prefetch.p0",
        )
        # read access, locality 2 (x86 prefetcht1: into L2, not L1), data cache. Into
        # L1, the rows prefetched ahead probably crowded it: the binary kernel over
        # 800,000 x 100 float64 rows in shuffled blocks of 16 took 110 ns a row on one
        # thread with prefetcht0, 65 with prefetcht1; rows in order 85 against 40 (an AMD
        # EPYC host; not measured on Intel).
        arguments = [builder.bitcast(pointer, byte_pointer)]
        arguments += [ir.Constant(int32, 0), ir.Constant(int32, 2), ir.Constant(int32, 1)]
        builder.call(function, arguments)
        return context.get_dummy_value()

    return types.void(array, types.intp), codegen


@intrinsic
def _zero_like(typingctx, array):
    """A zero of ``array``'s dtype: float32 sums stay in float32 (twice the SIMD lanes)."""

    def codegen(context, builder, signature, args):
        return context.get_constant(signature.return_type, 0)

    return array.dtype(array), codegen


@intrinsic
def _items_per_line(typingctx, array):
    """``CACHE_LINE // itemsize`` of ``array`` as a compile-time constant.

    ``array.itemsize`` is read at run time: a range with that step costs integer divisions
    for every prefetched row (a D1 epoch on one thread took 55 ms instead of 40).
    """
    items = max(1, CACHE_LINE * 8 // array.dtype.bitwidth)

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, items)

    return types.intp(array), codegen


def _element_pointer(context, builder, signature, args):
    view = context.make_array(signature.args[0])(context, builder, args[0])
    return builder.gep(view.data, [args[1]])


@intrinsic
def _atomic_add(typingctx, array, index, value):
    """``array[index] += value`` as one atomic step; returns the value before (int64 array)."""

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature, args)
        return builder.atomic_rmw("add", pointer, args[2], "seq_cst")

    return types.int64(array, types.intp, types.int64), codegen


@intrinsic
def _compare_and_swap(typingctx, array, index, expected, value):
    """Set ``array[index]`` (int64) to ``value`` if it holds ``expected``, atomically."""

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature, args)
        builder.cmpxchg(pointer, args[2], args[3], "seq_cst", "seq_cst")
        return context.get_dummy_value()

    return types.void(array, types.intp, types.int64, types.int64), codegen


@intrinsic
def _load_acquire(typingctx, array, index):
    """``array[index]`` (int64), with every write published before it visible after it."""

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature, args)
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(array, types.intp), codegen


@intrinsic
def _store_release(typingctx, array, index, value):
    """``array[index] = value`` (int64), publishing every write made before it."""

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature, args)
        builder.store_atomic(args[2], pointer, "release", 8)
        return context.get_dummy_value()

    return types.void(array, types.intp, types.int64), codegen


@intrinsic
def _bits_from_float(typingctx, value):
    """The IEEE-754 bit pattern of the float64 ``value``, as an int64."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(inline="always", nogil=True, cache=CACHE)
def _prefetch_span(array, start, stop):
    """Prefetch the cache lines of ``array[start:stop]`` (1-D, contiguous)."""
    step = _items_per_line(array)
    for index in range(start, stop, step):
        _prefetch(array, index)


@njit(inline="always", nogil=True, cache=CACHE)
def _add_loss(total, linear, extra, weight):
    """Add ``weight * (linear + log1p(extra))`` to the running loss ``total``.

    ``total[0] + log(total[1])`` is the loss so far. A unit-weight row costs a multiply
    instead of a log1p: the product's rounding (one ulp per factor) is that of a sum of logs.
    The same sums as :func:`_with_row_loss`, written out: built on it, 10-class float32
    epochs (which add their loss here, row by row) ran 5.6% slower.
    """
    if weight == 1.0:
        tiny = extra < TINY_EXTRA
        total[0] += linear + (extra if tiny else 0.0)
        total[1] *= 1.0 if tiny else 1.0 + extra
        if total[1] > LOG_FLUSH:
            total[0] += np.log(total[1])
            total[1] = 1.0
    else:
        total[0] += weight * (linear + np.log1p(extra))


@njit(inline="always", nogil=True, cache=CACHE)
def _with_row_loss(linear_sum, product, linear, extra, weight):
    """The running loss ``(linear_sum, product)`` with a row's added (see :func:`_add_loss`).

    Kernels that go over many rows keep the pair in registers and add it to ``total``
    once (:func:`_fold_loss` per chunk, :func:`_add_group_loss` per group): through
    ``total``, each row's addition waited on the store of the one before.
    """
    if weight == 1.0:
        tiny = extra < TINY_EXTRA
        factor = 1.0 if tiny else 1.0 + extra
        return linear_sum + (linear + (extra if tiny else 0.0)), product * factor
    return linear_sum + weight * (linear + np.log1p(extra)), product


@njit(inline="always", nogil=True, cache=CACHE)
def _flushed(linear_sum, product):
    """The running loss with its product folded into its sum once above ``LOG_FLUSH``."""
    if product > LOG_FLUSH:
        return linear_sum + np.log(product), 1.0
    return linear_sum, product


@njit(inline="always", nogil=True, cache=CACHE)
def _fold_loss(total, linear_sum, product):
    """Add a running loss held in registers to ``total`` (see :func:`_add_loss`)."""
    total[0] += linear_sum + np.log(product)


@njit(inline="always", nogil=True, cache=CACHE)
def _add_group_loss(total, n, unit_weights):
    """:func:`_add_loss` of the ``n`` rows of a group held in ``total`` from ``LOGIT_AT``.

    When all their weights are one, the group's sums go in registers, in a loop without
    branches that runs in vector lanes, and ``total`` is updated once (float32 epochs of
    100 features 3-5% faster than row by row, each addition waiting on the store of the
    one before; of 10 and 20 features 7-9%). Its factors are each at most 2 (binary rows:
    ``1 + exp(-|z|)``), so that their product cannot overflow.
    """
    if not unit_weights:
        for r in range(n):
            _add_loss(total, total[LOGIT_AT + r], total[EXTRA_AT + r], total[WEIGHT_AT + r])
        return
    linear_sum, product = 0.0, 1.0
    for r in range(n):  # weight 1.0: the compiler drops the other branch
        linear_sum, product = _with_row_loss(
            linear_sum, product, total[LOGIT_AT + r], total[EXTRA_AT + r], 1.0
        )  # fmt: skip
    total[0], total[1] = _flushed(total[0] + linear_sum, total[1] * product)


@njit(inline="always", nogil=True, cache=CACHE)
def _libm_exp(x):
    """The C library's ``exp(x)``, a call.

    Fewer steps in a row than :func:`_exp_nonpositive` (10 against 14 ns from ``x`` to
    ``exp(x)``), but the CPU does not overlap a call with another.
    """
    return np.exp(x)


@njit(inline="always", nogil=True, cache=CACHE)
def _sigmoid(z, exp):
    """``(sigmoid(z), exp(-|z|))`` from one ``exp``, overflow-free for any finite ``z``.

    A select, not a branch: the sign of a logit is a coin flip the CPU cannot predict.
    ``exp`` is :func:`_exp_nonpositive` where two rows go together (dense pairs: two exps
    in flight; the binary kernel 2-4% faster than with libm's) and :func:`_libm_exp` where
    each row waits on the one before (CSR rows one at a time: 7% faster than with the
    polynomial).
    """
    e = exp(-abs(z))
    return (1.0 if z >= 0.0 else e) / (1.0 + e), e


@njit(inline="always", nogil=True, cache=CACHE)
def _exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` within one ulp (0 for -inf and NaN), in plain arithmetic.

    A loop of ``np.exp`` calls stays scalar (libm is a call; numba's llvmlite has no vector
    math library), this one vectorizes: with it, two threads turn D1's 200,000 test logits
    into probabilities in 0.35 ms instead of 1.1 ms, and a softmax epoch over D2's 10
    classes is 10-17% faster. ``x = k ln 2 + r``, ``|r| <= ln(2) / 2``
    (ln 2 split in two so that ``k ln 2`` is exact), ``exp(r)`` by its Taylor polynomial of
    degree 13 (remainder below 5e-18) times ``2^-54``, times ``2^(k + 54)`` built from its
    bits (a normal float for every ``k >= -1076``): the one product that can round is the
    last, so subnormal results are rounded once.

    Training waits on each exp, so the steps in a row matter as much as their number:
    ``k`` comes from adding 1.5 * 2^52 (no rounding instruction, no conversion to an
    integer), the terms of degree 2 to 13 by Estrin's scheme (four steps in a row instead
    of eleven; the last two steps, whose roundings count, as Horner's), and the 2^-54 is
    in the coefficients. 14 instead of 22 ns from ``x`` to ``exp(x)``, as accurate.
    """
    x = x if x > EXP_UNDERFLOW else EXP_UNDERFLOW
    t = x * LOG2_E + EXP_ROUNDER
    k = t - EXP_ROUNDER
    r = (x - k * LN2_HIGH) - k * LN2_LOW
    c = _EXP_TAYLOR
    r2 = r * r
    r4 = r2 * r2
    low = (c[2] + c[3] * r) + (c[4] + c[5] * r) * r2
    middle = (c[6] + c[7] * r) + (c[8] + c[9] * r) * r2
    high = (c[10] + c[11] * r) + (c[12] + c[13] * r) * r2
    p = ((low + middle * r4) + high * (r4 * r4)) * r + c[1]
    return (p * r + c[0]) * _float_from_bits((_bits_from_float(t) + EXP_BIAS) << 52)


@njit(inline="always", nogil=True, cache=CACHE)
def _shifted_exp(z):
    """Overwrite the logits ``z`` (n_outputs > 1) by ``exp(z - max(z))``.

    Returns ``(max(z), others)``, ``others`` being the sum of the new ``z`` over all classes
    but one maximal class, so that log-sum-exp is ``max(z) + log1p(others)`` with all its
    digits when ``others`` is tiny.
    """
    top = 0
    for k in range(1, z.shape[0]):
        if z[k] > z[top]:
            top = k
    zmax = float(z[top])
    others = 0.0
    for k in range(z.shape[0]):
        e = _exp_nonpositive(z[k] - zmax)  # vectorizes over the classes
        z[k] = e
        others += 0.0 if k == top else e
    return zmax, others


@njit(inline="always", nogil=True, cache=CACHE)
def _binary_terms(z, label, weight, scale_out, exp):
    """Derivative and loss terms of one row of a binary model with logit ``z``.

    Returns ``(d, e, linear)``: the derivative ``weight * (sigmoid(z) - label) * scale_out``
    (clipped), and ``e = exp(-|z|)`` and ``linear = max(z, 0) - label * z``, whose
    ``linear + log1p(e)`` is the row's log-loss (see :func:`_add_loss`). No branch, so
    that a loop of them runs in vector lanes; ``exp`` as for :func:`_sigmoid`.
    """
    z = min(max(z, -MAX_LOGIT), MAX_LOGIT)
    p, e = _sigmoid(z, exp)
    g = weight * (p - label)
    return min(max(g, -MAX_DLOSS), MAX_DLOSS) * scale_out, e, max(z, 0.0) - label * z


@njit(inline="always", nogil=True, cache=CACHE)
def _binary_dloss(z, label, weight, scale_out, total, exp):
    """:func:`_loss_and_dloss` of a binary model with its one logit ``z`` in a register.

    Returns the derivative ``weight * (sigmoid(z) - label) * scale_out`` (clipped); ``exp``
    as for :func:`_sigmoid`.
    """
    d, e, linear = _binary_terms(z, label, weight, scale_out, exp)
    _add_loss(total, linear, e, weight)
    return d


@njit(inline="always", nogil=True, cache=CACHE)
def _loss_and_dloss(z, label, weight, scale_out, total):
    """Add the weighted log-loss of one sample to ``total``; replace the logits by its gradient.

    Parameters
    ----------
    z : ndarray of shape (n_outputs,)
        Logits, replaced in place by ``weight * d loss / d z * scale_out`` (clipped).
    label : int
        Class index (0 or 1 for a binary model).
    weight : float
        Sample weight.
    scale_out : float
        Factor applied to the derivative (``1 / batch size``).
    total : ndarray of shape (2,), float64
        Running loss, see :func:`_add_loss`; start it at ``[0, 1]``.
    """
    if z.shape[0] == 1:
        z[0] = _binary_dloss(float(z[0]), label, weight, scale_out, total, _libm_exp)
    else:
        _softmax_dloss(z, label, weight, scale_out, total)


@njit(inline="always", nogil=True, cache=CACHE)
def _softmax_dloss(z, label, weight, scale_out, total):
    """:func:`_loss_and_dloss` of a multinomial model (``z.shape[0] > 1``)."""
    n_outputs = z.shape[0]
    for k in range(n_outputs):
        z[k] = min(max(z[k], -MAX_LOGIT), MAX_LOGIT)
    z_label = float(z[label])
    zmax, others = _shifted_exp(z)  # one exp per class, kept in z for the gradient
    _add_loss(total, zmax - z_label, others, weight)
    inv_norm = weight / (1.0 + others)
    for k in range(n_outputs):
        g = z[k] * inv_norm - (weight if k == label else 0.0)
        z[k] = min(max(g, -MAX_DLOSS), MAX_DLOSS) * scale_out


@njit(inline="always", nogil=True, cache=CACHE)
def _truncated(w, q, total):
    """Coefficient ``w`` after the pending cumulative L1 penalty.

    ``q`` is the penalty already applied to it, ``total`` the penalty every coefficient
    should have received by now.
    """
    if w > 0.0:
        return max(0.0, w - (total + q))
    if w < 0.0:
        return min(0.0, w + (total - q))
    return w


@njit(inline="always", nogil=True, cache=CACHE)
def _truncate_l1(W, q, j, scale, total):
    """Apply the pending cumulative L1 penalty to feature ``j`` of every output.

    ``W[:, j] * scale`` are the current coefficients, ``q[:, j]`` the penalty already applied
    to them and ``total`` the penalty every coefficient should have received by now.
    """
    for k in range(W.shape[0]):
        before = W[k, j] * scale
        w = _truncated(before, q[k, j], total)
        q[k, j] += w - before
        W[k, j] = w / scale


@njit(nogil=True, cache=CACHE)
def _truncate_l1_all(W, q, scale, total):
    """:func:`_truncate_l1` of every feature (after a dense update, at the end of an epoch).

    Row by row over contiguous coefficients, without branches in the loop, so that it runs
    in vector lanes (the same values as feature by feature).
    """
    for k in range(W.shape[0]):
        w_row = W[k]
        q_row = q[k]
        for j in range(W.shape[1] - 1):
            before = w_row[j] * scale
            w = _truncated(before, q_row[j], total)
            q_row[j] += w - before
            w_row[j] = w / scale


@njit(inline="always", nogil=True, cache=CACHE)
def _adam_coefficient(w, g, m, v, step, settings):
    """One Adam step of a coefficient: its new value, moments, and its step's 1 / denominator.

    ``step`` is already divided by the first moment's bias correction. One division and one
    square root per coefficient (the bias corrections are applied as factors): both units
    take several cycles per vector and bound the update.
    """
    beta1, beta2, root_bias2, eps = settings
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    reciprocal = 1.0 / (np.sqrt(v) * root_bias2 + eps)
    return w - step * m * reciprocal, m, v, reciprocal


@njit(nogil=True, cache=CACHE, error_model="numpy")
def _adaptive_update(W, grad, opt, eta, hyper, counters, q):
    """Heavy-ball momentum or Adam step ``W -= eta * direction(grad)``, dense in W.

    ``grad`` holds the mini-batch gradient of the loss; the L2 term is added here. ``opt[0]``
    is the velocity (momentum) or first moment (Adam), ``opt[1]`` Adam's second moment.

    The L1 part of the penalty takes the step the gradient takes, so that a fixed point is
    the optimum of the objective: heavy-ball momentum moves by ``eta / (1 - momentum)``
    times a steady gradient, and its cumulative penalty grows at that rate; Adam moves each
    coefficient by its own step ``eta / (sqrt(v) + eps)``, and soft-thresholds it by that
    step times the L1 strength. (A penalty at ``eta`` converged to the optimum of
    ``alpha * (1 - momentum)``, and Adam's to none.) Adam's step is scale-free: the
    intercept takes it as it is, without the preconditioner of plain SGD.

    Every update touches every coefficient (on sparse rows too), so the loops over the
    features hold no branch, no load of a setting and no checked division (numpy's error
    model): they run in vector lanes. The intercept, with its own step and no penalty, is
    updated after them.
    """
    n_outputs, n_cols = W.shape
    n_features = n_cols - 1
    alpha_l2 = hyper[ALPHA_L2]
    alpha_l1 = hyper[ALPHA_L1]
    if hyper[USE_ADAM] != 0.0:
        beta1 = hyper[BETA1]
        beta2 = hyper[BETA2]
        eps = hyper[ADAM_EPS]
        counters[ADAM_STEPS] += 1.0
        step = eta / (1.0 - beta1 ** counters[ADAM_STEPS])
        root_bias2 = 1.0 / np.sqrt(1.0 - beta2 ** counters[ADAM_STEPS])
        adam = (beta1, beta2, root_bias2, eps)
        l1_step = eta * alpha_l1
        for k in range(n_outputs):
            w_row, g_row, m_row, v_row = W[k], grad[k], opt[0, k], opt[1, k]
            for j in range(n_features):
                g = g_row[j] + alpha_l2 * w_row[j]
                w, m, v, reciprocal = _adam_coefficient(
                    w_row[j], g, m_row[j], v_row[j], step, adam
                )
                m_row[j] = m
                v_row[j] = v
                if alpha_l1 > 0.0:
                    threshold = l1_step * reciprocal
                    w = max(0.0, w - threshold) if w > 0.0 else min(0.0, w + threshold)
                w_row[j] = w
            j = n_features
            step_j = step * hyper[FIT_INTERCEPT]
            w, m, v, _ = _adam_coefficient(w_row[j], g_row[j], m_row[j], v_row[j], step_j, adam)
            m_row[j] = m
            v_row[j] = v
            w_row[j] = w
    else:
        momentum = hyper[MOMENTUM]
        intercept_step = eta * (hyper[INTERCEPT_SCALE] * hyper[FIT_INTERCEPT])
        for k in range(n_outputs):
            w_row, g_row, v_row = W[k], grad[k], opt[0, k]
            for j in range(n_features):
                v = momentum * v_row[j] + (g_row[j] + alpha_l2 * w_row[j])
                v_row[j] = v
                w_row[j] -= eta * v
            v = momentum * v_row[n_features] + g_row[n_features]
            v_row[n_features] = v
            w_row[n_features] -= intercept_step * v
        if alpha_l1 > 0.0:
            counters[L1_TOTAL] += eta * alpha_l1 / (1.0 - momentum)
            _truncate_l1_all(W, q, 1.0, counters[L1_TOTAL])


@njit(inline="always", nogil=True, cache=CACHE)
def _decay_scale(scale, eta, alpha_l2):
    """Multiply the lazy scale by the L2 decay of one step (clamped at zero as in sklearn)."""
    return scale * max(0.0, 1.0 - eta * alpha_l2)


@njit(nogil=True, cache=CACHE)
def _fold_scale(W, scale):
    """Write ``W[:, :-1] *= scale`` and return the new scale, 1."""
    n_features = W.shape[1] - 1
    for k in range(W.shape[0]):
        for j in range(n_features):
            W[k, j] *= scale
    return 1.0


@njit(nogil=True, cache=CACHE)
def _add_to_average(W, scale, avg, counters):
    """Add the current model to the running sum ``avg`` (dense, O(n_outputs * n_features))."""
    n_features = W.shape[1] - 1
    for k in range(W.shape[0]):
        for j in range(n_features):
            avg[k, j] += W[k, j] * scale
        avg[k, n_features] += W[k, n_features]
    counters[N_AVERAGED] += 1.0


@njit(inline="always", nogil=True, cache=CACHE)
def _position_ahead(r, stop, next_first):
    """Position in ``order`` of the row a chunk prefetches while at position ``r``.

    A chunk's rows are ``order[first:stop]``; ``PREFETCH_AHEAD`` rows on, past ``stop``, it
    continues at ``next_first`` (the start of the same chunk in the next batch), so that with
    several threads each one prefetches its own next rows, not those of its neighbour. The
    caller checks the position against the end of ``order``: a branch inside an inlined
    prefetch helper made numba's code 20% slower.
    """
    ahead = r + PREFETCH_AHEAD
    return ahead + (next_first - stop if ahead >= stop else 0)


@njit(inline="always", nogil=True, cache=CACHE)
def _row_pair(X, y, sample_weight, order, r, stop, next_first):
    """The rows at positions ``r`` and ``r + 1`` of a chunk, and the weight of the second.

    An odd row out (``r + 1 == stop``) is paired with itself at weight zero. Prefetches the
    two rows ``PREFETCH_AHEAD`` positions on (see :func:`_position_ahead`), and the label
    and weight of the first: in shuffled blocks, the first row of each block found those
    out of cache, and every jump stalled the loop on them (800,000 x 100 rows in blocks of
    32, one thread: float64 52 -> 46 ns a row, float32 37 -> 31). The second row of a
    pair is nearly always the next row of the same block (blocks of 8 to 32 rows, chunks
    starting at even positions with the usual batch sizes), whose label and weight share
    the first one's cache line or the next; prefetching them too made 10-class epochs 3%
    slower. Otherwise it misses as before.
    """
    n_order = order.shape[0]
    ahead = _position_ahead(r, stop, next_first)
    if ahead < n_order:
        row = order[ahead]
        _prefetch_span(X[row], 0, X.shape[1])
        _prefetch(y, row)
        _prefetch(sample_weight, row)
    ahead = _position_ahead(r + 1, stop, next_first)
    if ahead < n_order:
        _prefetch_span(X[order[ahead]], 0, X.shape[1])
    i = order[r]
    odd = r + 1 == stop
    i2 = i if odd else order[r + 1]
    return i, i2, 0.0 if odd else sample_weight[i2]


@njit(inline="always", nogil=True, cache=CACHE)
def _score_tile(x, x2, coef, scale, intercept, k, z, z2):
    """Write the logits of classes ``k .. k + 3`` of the rows ``x``, ``x2`` to ``z``, ``z2``.

    A logit is ``scale * (coef[k] @ x) + intercept[k]``; ``coef`` may have more columns
    than ``x`` (the intercepts of a model ``W``). Eight dot products in one loop: each load
    of X serves four classes and each load of ``coef`` two rows (10 classes of 50 features:
    35 instead of 49 ns a row, one thread).
    """
    c0 = coef[k]
    c1 = coef[k + 1]
    c2 = coef[k + 2]
    c3 = coef[k + 3]
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
    for j in range(x.shape[0]):
        u = x[j]
        v = x2[j]
        a0 += u * c0[j]
        a1 += u * c1[j]
        a2 += u * c2[j]
        a3 += u * c3[j]
        b0 += v * c0[j]
        b1 += v * c1[j]
        b2 += v * c2[j]
        b3 += v * c3[j]
    z[k] = a0 * scale + intercept[k]
    z[k + 1] = a1 * scale + intercept[k + 1]
    z[k + 2] = a2 * scale + intercept[k + 2]
    z[k + 3] = a3 * scale + intercept[k + 3]
    z2[k] = b0 * scale + intercept[k]
    z2[k + 1] = b1 * scale + intercept[k + 1]
    z2[k + 2] = b2 * scale + intercept[k + 2]
    z2[k + 3] = b3 * scale + intercept[k + 3]


@njit(inline="always", nogil=True, cache=CACHE)
def _score_pair(x, x2, coef, scale, intercept, z, z2):
    """Write the logits of every class for the rows ``x`` and ``x2`` to ``z`` and ``z2``.

    Classes go by four (:func:`_score_tile`), the rest one at a time; a logit is
    ``scale * (coef[k] @ x) + intercept[k]``.
    """
    n_outputs = coef.shape[0]  # z may be longer (binary probabilities: two columns)
    n_tiled = n_outputs - n_outputs % 4
    for k in range(0, n_tiled, 4):
        _score_tile(x, x2, coef, scale, intercept, k, z, z2)
    for k in range(n_tiled, n_outputs):
        c = coef[k]
        acc = 0.0
        acc2 = 0.0
        for j in range(x.shape[0]):
            acc += x[j] * c[j]
            acc2 += x2[j] * c[j]
        z[k] = acc * scale + intercept[k]
        z2[k] = acc2 * scale + intercept[k]


@njit(inline="always", nogil=True, cache=CACHE)
def _pair_dots(w, x, x2, n_features):
    """``(w[:n] @ x, w[:n] @ x2)`` with ``n = n_features``, in the dtype of ``x``.

    One loop for both rows: each load of ``w`` serves two products.
    """
    acc = _zero_like(x)
    acc2 = _zero_like(x)
    for j in range(n_features):
        acc += w[j] * x[j]
        acc2 += w[j] * x2[j]
    return acc, acc2


@njit(inline="always", nogil=True, cache=CACHE)
def _pair_axpy(g, d, x, d2, x2, n_features):
    """``g += [d * x + d2 * x2, d + d2]`` over ``n_features`` columns and the intercept's.

    One loop for both rows: ``g`` is read and written once per pair.
    """
    for j in range(n_features):
        g[j] += d * x[j] + d2 * x2[j]
    g[n_features] += d + d2


@njit(inline="always", nogil=True, cache=CACHE)
def _binary_rows_by_pairs(
    X, y, sample_weight, order, first, stop, next_first, w, scale, inv_size, total, g, z
):
    """Add the loss gradient of rows ``order[first:stop]`` of a binary model to ``g``.

    Rows go in pairs: the two dot products, the two derivatives and one fused axpy. Each
    row's chain (dot product, exp, division, axpy) waits on itself; two independent chains
    keep the CPU busy, and ``g`` is read and written once per pair. The dot products of
    the next pair come between a pair's derivatives and its axpy: they do not depend on
    them, so the CPU works on them while the exps finish (D1 epochs 2-5% faster). The
    running loss stays in registers (:func:`_with_row_loss`; 1-2% faster on D1's rows).
    """
    n_features = w.shape[0] - 1
    if first >= stop:
        return
    i, i2, weight2 = _row_pair(X, y, sample_weight, order, first, stop, next_first)
    x = X[i]
    x2 = X[i2]
    acc, acc2 = _pair_dots(w, x, x2, n_features)
    bias = w[n_features]
    linear_sum, product = 0.0, 1.0  # the running loss of the chunk (see _with_row_loss)
    exp = _exp_nonpositive
    for r in range(first, stop, 2):
        weight = sample_weight[i]
        z[0], e, linear = _binary_terms(acc * scale + bias, y[i], weight, inv_size, exp)
        linear_sum, product = _with_row_loss(linear_sum, product, linear, e, weight)
        d = z[0]  # in the dtype of X: no conversions in the axpy
        z[0], e, linear = _binary_terms(acc2 * scale + bias, y[i2], weight2, inv_size, exp)
        linear_sum, product = _with_row_loss(linear_sum, product, linear, e, weight2)
        linear_sum, product = _flushed(linear_sum, product)
        d2 = z[0]
        # the next pair's dot products, independent of this pair's exps (the last pair
        # of the chunk has none: it keeps its rows, and nothing reads them again)
        ni, ni2, nweight2, nx, nx2 = i, i2, weight2, x, x2
        nacc = _zero_like(x)
        nacc2 = _zero_like(x)
        if r + 2 < stop:
            ni, ni2, nweight2 = _row_pair(X, y, sample_weight, order, r + 2, stop, next_first)
            nx = X[ni]
            nx2 = X[ni2]
            nacc, nacc2 = _pair_dots(w, nx, nx2, n_features)
        _pair_axpy(g, d, x, d2, x2, n_features)
        i, i2, weight2, x, x2, acc, acc2 = ni, ni2, nweight2, nx, nx2, nacc, nacc2
    _fold_loss(total, linear_sum, product)


@njit(inline="always", nogil=True, cache=CACHE)
def _quad_axpy(g, d, x, d2, x2, d3, x3, d4, x4, n_features):
    """``g += [d * x + ... + d4 * x4, d + ... + d4]`` over the columns and the intercept's.

    :func:`_pair_axpy` for four rows, in explicit vectors (:mod:`sgdlogit._simd`): ``g``
    is read and written once per four rows.
    """
    quad_axpy(g, d, x, d2, x2, d3, x3, d4, x4, n_features)
    g[n_features] += (d + d2) + (d3 + d4)


@njit(inline="always", nogil=True, cache=CACHE)
def _binary_rows_by_groups(
    X, y, sample_weight, order, first, stop, next_first, w, scale, inv_size, total, g, z
):
    """:func:`_binary_rows_by_pairs` in stages over groups of ``GROUP_ROWS`` rows.

    First the group's dot products (by pairs, sharing the loads of ``w``; these and the
    axpys are explicit vector loops, :mod:`sgdlogit._simd`, 10-14% faster), then the
    derivatives of all its rows in one branch-free loop that runs in vector lanes (the
    exps, divisions and clips of eight rows at a time), then their losses (in vector
    lanes too when their weights are all one, see :func:`_add_group_loss`), and last the
    axpys by fours (``g`` read and written once per four rows), on rows still in
    cache; a last group of fewer rows is padded with derivatives of zero, which add
    nothing. Used for float32, which is compute-bound: its epochs are 8-10% faster than by
    pairs (800,000 x 100 rows, one thread, blocks of 32: 29-30 instead of 31-32 ns a row),
    and the axpys by fours took 3-8% off that (the same epochs in one process, old and new
    kernel alternating; 20 features 5-6%, 256 to 768 features -2 to +2%). Dot products by
    fours were 4-9% slower from 256 features up. float64, bound by memory, was 10-25%
    slower this way (9% with a first version of the explicit vectors) and keeps the
    pairs. ``total`` is the chunk's row of ``losses``, which holds the group from
    ``LOGIT_AT`` on.
    """
    n_features = w.shape[0] - 1
    bias = w[n_features]
    for start in range(first, stop, GROUP_ROWS):
        n = min(GROUP_ROWS, stop - start)
        for p in range(0, n, 2):
            i, i2, weight2 = _row_pair(X, y, sample_weight, order, start + p, stop, next_first)
            acc, acc2 = pair_dots(w, X[i], X[i2], n_features)
            total[LOGIT_AT + p] = acc * scale + bias
            total[LOGIT_AT + p + 1] = acc2 * scale + bias
            total[LABEL_AT + p] = y[i]
            total[LABEL_AT + p + 1] = y[i2]
            total[WEIGHT_AT + p] = sample_weight[i]
            total[WEIGHT_AT + p + 1] = weight2  # zero for an odd row out, paired with itself
        n_paired = n + (n & 1)
        n_unit = 0  # rows of weight one: the group's loss is summed without branches
        for r in range(n_paired):
            n_unit += total[WEIGHT_AT + r] == 1.0
            d, e, linear = _binary_terms(
                total[LOGIT_AT + r], total[LABEL_AT + r], total[WEIGHT_AT + r], inv_size,
                _exp_nonpositive,
            )  # fmt: skip
            total[DLOSS_AT + r] = d
            total[EXTRA_AT + r] = e
            total[LOGIT_AT + r] = linear
        _add_group_loss(total, n_paired, n_unit == n_paired)
        for r in range(n_paired, (n + 3) & ~3):
            total[DLOSS_AT + r] = 0.0
        for p in range(0, n, 4):
            i = order[start + p]
            i2 = i if start + p + 1 >= stop else order[start + p + 1]
            i3 = i if start + p + 2 >= stop else order[start + p + 2]
            i4 = i3 if start + p + 3 >= stop else order[start + p + 3]
            z[0] = total[DLOSS_AT + p]
            d = z[0]  # in the dtype of X: no conversions in the axpy
            z[0] = total[DLOSS_AT + p + 1]
            d2 = z[0]
            z[0] = total[DLOSS_AT + p + 2]
            d3 = z[0]
            z[0] = total[DLOSS_AT + p + 3]
            d4 = z[0]
            _quad_axpy(g, d, X[i], d2, X[i2], d3, X[i3], d4, X[i4], n_features)


def _binary_rows(
    X, y, sample_weight, order, first, stop, next_first, w, scale, inv_size, total, g, z
):
    """Add the loss gradient of rows ``order[first:stop]`` of a binary model to ``g``.

    Compiled as :func:`_binary_rows_by_groups` for float32 rows and as
    :func:`_binary_rows_by_pairs` for float64 ones.
    """


# Called, not inlined: once per chunk of rows, the call costs nothing measurable, while
# inlining the overload made the first float32 fit of an empty cache compile for 18 s
# instead of 10.
@overload(_binary_rows)
def _binary_rows_impl(
    X, y, sample_weight, order, first, stop, next_first, w, scale, inv_size, total, g, z
):
    rows = _binary_rows_by_groups if X.dtype == types.float32 else _binary_rows_by_pairs

    def implementation(
        X, y, sample_weight, order, first, stop, next_first, w, scale, inv_size, total, g, z
    ):
        rows(X, y, sample_weight, order, first, stop, next_first, w, scale, inv_size, total, g, z)

    return implementation


@njit(inline="always", nogil=True, cache=CACHE)
def _multinomial_rows(
    X, y, sample_weight, order, first, stop, next_first, W, scale, inv_size, total, g, z, z2
):
    """Add the loss gradient of rows ``order[first:stop]`` of a multinomial model to ``g``.

    Rows go in pairs, as in :func:`_binary_rows_by_pairs`: their logits come from one pass over
    ``W`` (:func:`_score_pair`), and ``g`` is read and written once per pair (D2, 10
    classes: 22 instead of 30 ms an epoch on one thread).
    """
    n_outputs = W.shape[0]
    n_features = W.shape[1] - 1
    intercept = W[:, n_features]
    for r in range(first, stop, 2):
        i, i2, weight2 = _row_pair(X, y, sample_weight, order, r, stop, next_first)
        x = X[i]
        x2 = X[i2]
        _score_pair(x, x2, W, scale, intercept, z, z2)
        for second in range(2):  # one copy of the softmax code: it doubled compile time
            _softmax_dloss(
                z2 if second else z, y[i2] if second else y[i],
                weight2 if second else sample_weight[i], inv_size, total,
            )  # fmt: skip
        for k in range(n_outputs):
            d = z[k]
            d2 = z2[k]
            g_k = g[k]
            for j in range(n_features):
                g_k[j] += d * x[j] + d2 * x2[j]
            g_k[n_features] += d + d2


# _nrt=False: compiled without reference counting. It allocates nothing, and the views it
# takes per row (of X, of the logits) each cost two atomic operations on a counter that
# every thread shares (D2: 5% of a one-thread epoch). error_model="numpy": no check for a
# division by zero (none can be), which would keep the grouped derivatives scalar.
@njit(nogil=True, cache=CACHE, fastmath=_REASSOCIATE, _nrt=False, error_model="numpy")
def _chunk_gradient(
    X, y, sample_weight, order, batch_size, b, t, n_chunks, W, scale, losses, grads, logits
):  # fmt: skip
    """Write the loss gradient of chunk ``t`` of batch ``b`` to ``grads[t]``."""
    n_rows = order.shape[0]
    n_outputs = W.shape[0]
    start = b * batch_size
    size = min(batch_size, n_rows - start)
    inv_size = 1.0 / size
    g_t = grads[t]
    z = logits[t, :n_outputs]
    z2 = logits[t, n_outputs : 2 * n_outputs]
    g_t[:n_outputs] = 0.0  # rows past them only pad the buffer
    first = start + t * size // n_chunks
    stop = start + (t + 1) * size // n_chunks
    next_size = min(batch_size, max(n_rows - start - size, 0))
    next_first = start + size + t * next_size // n_chunks
    if n_outputs == 1:
        _binary_rows(
            X, y, sample_weight, order, first, stop, next_first, W[0], scale,
            inv_size, losses[t], g_t[0], z,
        )  # fmt: skip
        return
    _multinomial_rows(
        X, y, sample_weight, order, first, stop, next_first, W, scale, inv_size,
        losses[t], g_t, z, z2,
    )  # fmt: skip


@njit(nogil=True, cache=CACHE)
def _center_gradient(W, scale, grad, center, dots):
    """Turn ``grad`` into the gradient of the centered model, before an update.

    The centered model ``w . (x - center) + b'`` with ``b' = b + w . center`` is the same
    model and, the intercept being unpenalized, the same objective; but its intercept no
    longer moves with the mean row, whose direction dominates the curvature of uncentered
    data (features with offsets): trained so, the data-driven step is sized for the spread
    of the rows, not for their mean. ``W`` keeps ``(w, b)``; the coefficients' gradient
    becomes the plain one minus the intercept's times ``center``, and ``dots`` keeps
    ``w . center`` for :func:`_shift_intercepts` (``W[:, :-1]`` times ``scale`` is ``w``).
    """
    n_features = W.shape[1] - 1
    for k in range(W.shape[0]):
        g_intercept = grad[k, n_features]
        dot = 0.0
        for j in range(n_features):
            grad[k, j] -= g_intercept * center[j]
            dot += W[k, j] * center[j]
        dots[k] = dot * scale


@njit(nogil=True, cache=CACHE)
def _shift_intercepts(W, scale, center, dots):
    """After an update of the centered model, write its ``b = b' - w . center`` back.

    The update moved ``b'`` by the intercept's step; ``b`` moves by that minus the change
    of ``w . center``.
    """
    n_features = W.shape[1] - 1
    for k in range(W.shape[0]):
        dot = 0.0
        for j in range(n_features):
            dot += W[k, j] * center[j]
        W[k, n_features] -= dot * scale - dots[k]


@njit(inline="always", nogil=True, cache=CACHE)
def _batch_update(
    b, steps, first_averaged, W, q, opt, avg, counters, hyper, grads, scale, center, dots
):  # fmt: skip
    """Sum the chunk gradients of batch ``b`` in chunk order and update the model.

    Returns the new lazy L2 scale of ``W``.
    """
    n_chunks = grads.shape[0]
    n_outputs, n_cols = W.shape
    n_features = n_cols - 1
    eta = steps[b]
    grad = grads[0]
    for t in range(1, n_chunks):
        for k in range(n_outputs):
            for j in range(n_cols):
                grad[k, j] += grads[t, k, j]
    if center.shape[0]:
        _center_gradient(W, scale, grad, center, dots)
    if hyper[MOMENTUM] > 0.0 or hyper[USE_ADAM] != 0.0:
        _adaptive_update(W, grad, opt, eta, hyper, counters, q)
    else:
        scale = _decay_scale(scale, eta, hyper[ALPHA_L2])
        if scale < MIN_SCALE:
            scale = _fold_scale(W, scale)
        c = -eta / scale
        intercept_step = hyper[INTERCEPT_SCALE] * hyper[FIT_INTERCEPT]
        for k in range(n_outputs):
            for j in range(n_features):
                W[k, j] += c * grad[k, j]
            W[k, n_features] -= eta * intercept_step * grad[k, n_features]
        if hyper[ALPHA_L1] > 0.0:
            counters[L1_TOTAL] += eta * hyper[ALPHA_L1]
            _truncate_l1_all(W, q, scale, counters[L1_TOTAL])
    if center.shape[0]:
        _shift_intercepts(W, scale, center, dots)
    if b >= first_averaged:
        _add_to_average(W, scale, avg, counters)
    return scale


# A waiting thread checks this many times (some 50 us) before it gives its core away:
# 1,000 made two-thread float32 epochs 35% slower (the yield is a system call), 200,000
# made two processes with n_jobs=2 on two cores take 4x longer than 20,000.
SPINS_BEFORE_YIELD = 20_000


def _yield_function():
    """Declare the OS call that gives the core to another thread, for compiled code.

    Its address is registered under its name, so that numba links it (and its cached
    code) on any platform.
    """
    if sys.platform == "win32":
        name, function = "SwitchToThread", ctypes.windll.kernel32.SwitchToThread
    else:
        name, function = "sched_yield", ctypes.CDLL(None).sched_yield
    llvm.add_symbol(name, ctypes.cast(function, ctypes.c_void_p).value)
    return types.ExternalFunction(name, types.int32())


_yield_cpu = _yield_function()
# Slots of the synchronization counters of a threaded epoch, a cache line apart.
NEXT_TASK = 0  # tasks (batch, chunk) handed out so far
CHUNKS_DONE = 8  # chunk gradients finished so far
BATCHES_DONE = 16  # updates applied so far
ARRIVED = 24  # threads that entered the epoch
SCHEME = 32  # how the tasks are shared: UNDECIDED, FIXED_CHUNKS or SHARED_QUEUE
N_SYNC = 40
UNDECIDED, FIXED_CHUNKS, SHARED_QUEUE = 0, 1, 2


@njit(inline="always", nogil=True, cache=CACHE)
def _take_task(sync):
    """Index of the next task nobody has taken yet."""
    return _atomic_add(sync, NEXT_TASK, 1)


@njit(inline="always", nogil=True, cache=CACHE)
def _wait_for_updates(sync, n_updates):
    """Return once ``n_updates`` batch updates are applied and visible to this thread.

    Spins, which costs less than sleeping for the usual wait (a chunk or an update, about
    a microsecond); after ``SPINS_BEFORE_YIELD`` checks it gives its core away between
    checks, so that the thread it waits for runs even when threads outnumber the cores
    (two processes with ``n_jobs=2`` on two cores: D1 epochs of 10 s without it, 50 ms
    with it, 90 ms with a parallel region per batch).
    """
    spins = 0
    while _load_acquire(sync, BATCHES_DONE) < n_updates:
        spins += 1
        if spins > SPINS_BEFORE_YIELD:
            _yield_cpu()


@njit(inline="always", nogil=True, cache=CACHE)
def _agree_on_scheme(sync, n_chunks):
    """Arrive in the epoch; return this thread's arrival index and the scheme of the epoch.

    Every thread keeps the same chunk of every batch (FIXED_CHUNKS) only if all
    ``n_chunks`` threads are running: then no chunk waits for a thread that never comes.
    If they have not all arrived after ``SPINS_BEFORE_YIELD`` checks (a threading layer
    that runs the loop's iterations one after the other, fewer threads than chunks, a
    busy machine), the threads share one queue of tasks (SHARED_QUEUE), which any number
    of threads finishes. The first thread to decide sets the scheme for all.
    """
    arrival = _atomic_add(sync, ARRIVED, 1)
    spins = 0
    while _load_acquire(sync, SCHEME) == UNDECIDED:
        if _load_acquire(sync, ARRIVED) >= n_chunks:
            _compare_and_swap(sync, SCHEME, UNDECIDED, FIXED_CHUNKS)
        elif spins > SPINS_BEFORE_YIELD:
            _compare_and_swap(sync, SCHEME, UNDECIDED, SHARED_QUEUE)
        spins += 1
    return arrival, _load_acquire(sync, SCHEME)


@njit(inline="always", nogil=True, cache=CACHE)
def _finish_chunk(sync):
    """Count a finished chunk gradient; returns how many were finished before it."""
    return _atomic_add(sync, CHUNKS_DONE, 1)


@njit(inline="always", nogil=True, cache=CACHE)
def _publish_updates(sync, n_updates):
    """Make the first ``n_updates`` batch updates visible to the other threads."""
    _store_release(sync, BATCHES_DONE, n_updates)


@njit(nogil=True, cache=CACHE, fastmath=_REASSOCIATE)
def _run_tasks(
    X, y, sample_weight, order, batch_size, steps, first_averaged,
    W, q, opt, avg, counters, hyper, logits, grads, losses, center, dots, sync, shared_scale,
):  # fmt: skip
    """The work of one thread of :func:`dense_epoch_parallel`: take tasks until none is left.

    A task is chunk ``t`` of batch ``b``; a task of batch ``b`` waits for the update of
    batch ``b - 1``, and the thread finishing the last chunk of a batch applies its
    update. When all ``n_chunks`` threads are running, thread ``t`` computes chunk ``t``
    of every batch; otherwise the tasks, in the order (b, t), go to whichever thread asks
    first, so that no thread ever waits for a task nobody took: fewer threads than
    chunks, one thread included, run the same tasks to the same result (see
    :func:`_agree_on_scheme`). Compiled on its own: inlined into the parallel region, it
    made numba compile that kernel for 20 s instead of 3.
    """
    n_chunks = grads.shape[0]
    n_batches = steps.shape[0]
    arrival, scheme = _agree_on_scheme(sync, n_chunks)
    # fixed chunks: a thread's gradient buffer, and the rows it prefetched for its next
    # chunk, stay on its core (float32 D1 epochs 19-21 ms instead of 21-22.5 on 2 threads)
    fixed = scheme == FIXED_CHUNKS
    n_tasks = n_batches if fixed else n_batches * n_chunks
    task = 0 if fixed else _take_task(sync)
    while task < n_tasks:
        b = task if fixed else task // n_chunks
        t = arrival if fixed else task - b * n_chunks
        _wait_for_updates(sync, b)
        _chunk_gradient(
            X, y, sample_weight, order, batch_size, b, t, n_chunks,
            W, shared_scale[0], losses, grads, logits,
        )  # fmt: skip
        if _finish_chunk(sync) == (b + 1) * n_chunks - 1:  # the batch's last chunk
            shared_scale[0] = _batch_update(
                b, steps, first_averaged, W, q, opt, avg, counters, hyper, grads,
                shared_scale[0], center, dots,
            )  # fmt: skip
            _publish_updates(sync, b + 1)
        task = task + 1 if fixed else _take_task(sync)


@njit(inline="always", nogil=True, cache=CACHE)
def _dense_epoch(
    X, y, sample_weight, order, batch_size, steps, first_averaged,
    W, q, opt, avg, counters, hyper, logits, grads, losses, center, dots,
):  # fmt: skip
    """Body of :func:`dense_epoch`: the chunks of every batch one after the other.

    The update is :func:`_batch_update` written out, with the hyper-parameters read once:
    calling it cost 5-8% of an epoch of batches of 16 to 32 rows.
    """
    n_chunks = grads.shape[0]
    n_outputs, n_cols = W.shape
    n_features = n_cols - 1
    alpha_l2 = hyper[ALPHA_L2]
    alpha_l1 = hyper[ALPHA_L1]
    intercept_step = hyper[INTERCEPT_SCALE] * hyper[FIT_INTERCEPT]
    adaptive = hyper[MOMENTUM] > 0.0 or hyper[USE_ADAM] != 0.0
    _check_work_buffers(W, logits, losses)
    _start_losses(losses)
    scale = 1.0
    for b in range(steps.shape[0]):
        for t in range(n_chunks):
            _chunk_gradient(
                X, y, sample_weight, order, batch_size, b, t, n_chunks,
                W, scale, losses, grads, logits,
            )  # fmt: skip
        eta = steps[b]
        grad = grads[0]
        for t in range(1, n_chunks):
            for k in range(n_outputs):
                for j in range(n_cols):
                    grad[k, j] += grads[t, k, j]
        if center.shape[0]:
            _center_gradient(W, scale, grad, center, dots)
        if adaptive:
            _adaptive_update(W, grad, opt, eta, hyper, counters, q)
        else:
            scale = _decay_scale(scale, eta, alpha_l2)
            if scale < MIN_SCALE:
                scale = _fold_scale(W, scale)
            c = -eta / scale
            for k in range(n_outputs):
                for j in range(n_features):
                    W[k, j] += c * grad[k, j]
                W[k, n_features] -= eta * intercept_step * grad[k, n_features]
            if alpha_l1 > 0.0:
                counters[L1_TOTAL] += eta * alpha_l1
                _truncate_l1_all(W, q, scale, counters[L1_TOTAL])
        if center.shape[0]:
            _shift_intercepts(W, scale, center, dots)
        if b >= first_averaged:
            _add_to_average(W, scale, avg, counters)
    return _epoch_end(W, scale, losses)


@njit(nogil=True, cache=CACHE)
def _check_work_buffers(W, logits, losses):
    """Raise unless the work buffers are wide enough for what the kernels write, unchecked.

    ``logits`` holds the logits of two rows per chunk, ``losses`` a group of rows after the
    running loss (see ``LOSS_COLUMNS``).
    """
    if logits.shape[1] < 2 * W.shape[0]:
        raise ValueError("logits needs 2 * n_outputs columns")
    if losses.shape[1] < LOSS_COLUMNS:
        raise ValueError("losses needs LOSS_COLUMNS columns")


@njit(nogil=True, cache=CACHE)
def _start_losses(losses):
    """Start every chunk's running loss (see :func:`_add_loss`)."""
    for t in range(losses.shape[0]):
        losses[t, 0] = 0.0
        losses[t, 1] = 1.0


@njit(nogil=True, cache=CACHE)
def _epoch_end(W, scale, losses):
    """Fold the lazy scale into ``W``; return the epoch's loss, summed in chunk order."""
    _fold_scale(W, scale)
    loss = 0.0
    for t in range(losses.shape[0]):
        loss += losses[t, 0] + np.log(losses[t, 1])
    return loss


@njit(cache=CACHE, nogil=True, fastmath=_REASSOCIATE)
def dense_epoch(
    X, y, sample_weight, order, batch_size, steps, first_averaged,
    W, q, opt, avg, counters, hyper, logits, grads, losses, center, dots,
):  # fmt: skip
    """Run one epoch of mini-batch SGD over the rows of a dense matrix.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
        Training rows; read only.
    y : ndarray of shape (n_samples,), int32
        Class index of each row.
    sample_weight : ndarray of shape (n_samples,), dtype of X
        Per-row weights (class weights folded in), normalized to mean one over the fit.
    order : ndarray of shape (n_rows,), int64
        Rows in visiting order; batch ``b`` is ``order[b * batch_size:(b + 1) * batch_size]``.
    batch_size : int
        Rows per update; the last batch may be smaller.
    steps : ndarray of shape (n_batches,), float64
        Step size of every update.
    first_averaged : int
        Updates ``b >= first_averaged`` are added to the averaged model.
    W : ndarray of shape (n_outputs, n_features + 1), dtype of X
        Coefficients and intercepts; updated in place.
    q : ndarray of shape (n_outputs, n_features), float64, or empty
        L1 penalty applied so far per coefficient (used when ``hyper[ALPHA_L1] > 0``).
    opt : ndarray of shape (2, n_outputs, n_features + 1), dtype of X, or empty
        Momentum / Adam state (used when momentum > 0 or Adam).
    avg : ndarray of shape (n_outputs, n_features + 1), float64, or empty
        Running sum of the models of averaged updates.
    counters : ndarray of shape (N_COUNTERS,), float64
        Persistent scalar state (cumulative L1 penalty, number of averaged updates, Adam
        step count); updated in place.
    hyper : ndarray of shape (N_HYPER,), float64
        Scalar hyper-parameters, see the index constants of this module.
    logits : ndarray of shape (n_chunks, n_columns >= 2 * n_outputs), dtype of X
        Work buffer: the logits of a pair of rows per chunk.
    grads : ndarray of shape (n_chunks, n_rows, n_columns), dtype of X
        Work buffer: each batch is split into ``n_chunks`` contiguous chunks whose gradients
        are accumulated separately, then summed in chunk order. Only the first
        ``n_outputs`` rows and ``n_features + 1`` columns are used (more may pad it).
    losses : ndarray of shape (n_chunks, n_columns >= LOSS_COLUMNS), float64
        Work buffer: the running loss of each chunk (see :func:`_add_loss`) in its first two
        columns, the group of rows of :func:`_binary_rows_by_groups` in the next ones.
    center : ndarray of shape (n_features,), float64, or empty
        Point the updates are centered at (see :func:`_center_gradient`); empty for plain
        updates. Any center gives the same objective and the same fixed point.
    dots : ndarray of shape (n_outputs,), float64
        Work buffer of the centered updates.

    More rows and columns in the work buffers only pad them: with threads, each chunk's
    buffers should lie on memory pages of their own (see ``_training.page_slots``).

    Returns
    -------
    loss : float
        Sum over the epoch of ``sample_weight * log-loss``, each taken before its update.

    Notes
    -----
    Cost per update: O(batch_size * n_features * n_outputs) for the gradient plus
    O(n_chunks * n_features * n_outputs) for the update, penalty, momentum / Adam and
    averaging. The result depends on ``n_chunks`` only through rounding, and not at all on
    the number of threads.
    """
    return _dense_epoch(
        X, y, sample_weight, order, batch_size, steps, first_averaged,
        W, q, opt, avg, counters, hyper, logits, grads, losses, center, dots,
    )  # fmt: skip


@njit(cache=CACHE, nogil=True, fastmath=_REASSOCIATE)
def dense_epoch_parallel(
    X, y, sample_weight, order, batch_size, steps, first_averaged,
    W, q, opt, avg, counters, hyper, logits, grads, losses, center, dots,
):  # fmt: skip
    """:func:`dense_epoch` with the chunks of every batch spread over numba's threads.

    Gives bit-identical results to :func:`dense_epoch` with the same ``n_chunks``. The
    threads share one parallel region per epoch and hand the batches over through atomic
    counters (see :func:`_run_tasks`): a parallel region per batch costs a fork and a join
    of about 2 us, 6 ms of an epoch of 3,125 batches.
    """
    _check_work_buffers(W, logits, losses)
    _start_losses(losses)
    sync = np.zeros(N_SYNC, dtype=np.int64)
    shared_scale = np.ones(1)  # the lazy L2 scale, written by the updating thread
    _run_threads(
        X, y, sample_weight, order, batch_size, steps, first_averaged,
        W, q, opt, avg, counters, hyper, logits, grads, losses, center, dots, sync,
        shared_scale,
    )  # fmt: skip
    return _epoch_end(W, shared_scale[0], losses)


@njit(cache=CACHE, nogil=True, parallel=_PRANGE_ONLY)
def _run_threads(
    X, y, sample_weight, order, batch_size, steps, first_averaged,
    W, q, opt, avg, counters, hyper, logits, grads, losses, center, dots, sync, shared_scale,
):  # fmt: skip
    """Run :func:`_run_tasks` on as many threads as chunks, and nothing else.

    Its caller reads what the threads wrote: in the function holding the parallel loop,
    numba read ``shared_scale[0]`` after the loop as the value it had before.
    """
    for _ in prange(grads.shape[0]):
        _run_tasks(
            X, y, sample_weight, order, batch_size, steps, first_averaged,
            W, q, opt, avg, counters, hyper, logits, grads, losses, center, dots, sync,
            shared_scale,
        )  # fmt: skip


@njit(inline="always", nogil=True, cache=CACHE)
def _prefetch_csr_row(data, indices, indptr, i):
    """Prefetch ``data`` and ``indices`` of row ``i``.

    Shuffled CSR rows sit at random places in ``data``/``indices``. The weights they touch
    are not prefetched: ``W`` mostly stays in cache, and prefetching every nonzero's weight
    made a 2^18-feature epoch 10% slower.
    """
    _prefetch_span(data, indptr[i], indptr[i + 1])
    _prefetch_span(indices, indptr[i], indptr[i + 1])


@njit(inline="always", nogil=True, cache=CACHE)
def _prefetch_csr_pointer(indptr, y, sample_weight, i):
    """Prefetch the row pointer, label and weight of row ``i``.

    Called ``CSR_PREFETCH_AHEAD`` rows before :func:`_prefetch_csr_row` reads the same
    pointer: shuffled rows sit at random places in these three arrays too, and every
    row's pointer, label and weight missed the cache (D3's default fit, 14 epochs over
    400,000 text rows in blocks of 8: 1.40-1.47 -> 1.11-1.21 s).
    """
    _prefetch(indptr, i)
    _prefetch(y, i)
    _prefetch(sample_weight, i)


@njit(inline="always", nogil=True, cache=CACHE)
def _flush_average(W, scale_sum, avg, marks, j):
    """Bring feature ``j`` of the lazily averaged sum up to date (CSR plain SGD).

    Between two touches ``V[:, j]`` is constant and the coefficient is ``scale_t * V[:, j]``,
    so the sum of the coefficients over those updates is ``V[:, j] * (sum of scale_t)``.
    """
    delta = scale_sum - marks[j]
    marks[j] = scale_sum
    for k in range(W.shape[0]):  # branch-free: a test on delta costs 3x here
        avg[k, j] += W[k, j] * delta


@njit(nogil=True, cache=CACHE)
def _flush_all_averages(W, scale_sum, avg, marks):
    """:func:`_flush_average` of every feature."""
    for j in range(W.shape[1] - 1):
        _flush_average(W, scale_sum, avg, marks, j)


@njit(inline="always", nogil=True, cache=CACHE)
def _column(indices, p):
    """The column of nonzero ``p`` as an unsigned index.

    The estimator checks that the columns lie in ``[0, n_features)`` before training, so
    indexing needs no wraparound of negative values: numba's test for them cost 11-12% of
    an epoch over text rows (D3). 64 bits wide, so that int64 indices are never truncated.
    """
    return np.uint64(indices[p])


@njit(inline="always", nogil=True, cache=CACHE)
def _sparse_dot(w, indices, data, start, stop):
    """``sum(w[indices[p]] * data[p] for p in range(start, stop))`` in four partial sums.

    One sum would chain every add on the one before (about 50 adds of 4 cycles per text
    row); four independent sums let the gathers overlap.
    """
    a0 = a1 = a2 = a3 = 0.0
    p = start
    while p + 4 <= stop:
        a0 += w[_column(indices, p)] * data[p]
        a1 += w[_column(indices, p + 1)] * data[p + 1]
        a2 += w[_column(indices, p + 2)] * data[p + 2]
        a3 += w[_column(indices, p + 3)] * data[p + 3]
        p += 4
    while p < stop:
        a0 += w[_column(indices, p)] * data[p]
        p += 1
    return (a0 + a1) + (a2 + a3)


@njit(cache=CACHE, nogil=True, _nrt=False)
def csr_epoch(
    data, indices, indptr, y, sample_weight, order, batch_size, steps, first_averaged,
    W, q, opt, avg, counters, hyper, logits, grad, marks, total,
):  # fmt: skip
    """Run one epoch of mini-batch SGD over the rows of a CSR matrix.

    Parameters are those of :func:`dense_epoch`, with the matrix given as its CSR arrays
    ``data`` (float32 or float64), ``indices`` and ``indptr`` (both int32 or both int64),
    and one more work buffer ``marks`` of shape (n_features,), float64 (used when
    averaging), and ``total`` of shape (2,), float64, for the running loss. The columns
    must lie in ``[0, n_features)`` and ``indptr`` must be a row pointer: they index ``W``
    and ``data`` unchecked.

    Returns
    -------
    loss : float
        Sum over the epoch of ``sample_weight * log-loss``, each taken before its update.

    Notes
    -----
    With plain SGD an update costs O(nnz of the batch * n_outputs): the L2 decay is a scalar
    scale, the L1 truncation and the averaging are applied lazily to the features a batch
    touches and caught up for every feature once at the end of the epoch
    (O(n_features * n_outputs) per epoch). Momentum and Adam move every coefficient at every
    update, so with them an update costs O(n_features * n_outputs) on top of the gradient.

    Compiled without numba's reference counts, hence its buffers come from the caller: each
    view of a row (``W[k]``, ``logits[r]``) would otherwise cost two atomic operations
    (batches of 32 text rows: 6-10% of the epoch).
    """
    n_rows = order.shape[0]
    n_outputs = W.shape[0]
    n_features = W.shape[1] - 1
    alpha_l2 = hyper[ALPHA_L2]
    alpha_l1 = hyper[ALPHA_L1]
    intercept_step = hyper[INTERCEPT_SCALE] * hyper[FIT_INTERCEPT]
    adaptive = hyper[MOMENTUM] > 0.0 or hyper[USE_ADAM] != 0.0
    lazy_average = avg.shape[0] > 0 and not adaptive
    scale = 1.0
    scale_sum = 0.0  # sum of the scales of averaged updates since the last full flush
    marks[:] = 0.0
    if adaptive:
        grad[:] = 0.0  # each batch puts back the zeros of the entries it wrote
    total[0] = 0.0  # running loss, see _add_loss
    total[1] = 1.0
    for b in range(steps.shape[0]):
        start = b * batch_size
        size = min(batch_size, n_rows - start)
        eta = steps[b]
        inv_size = 1.0 / size
        for r in range(size):
            if start + r + 2 * CSR_PREFETCH_AHEAD < n_rows:
                _prefetch_csr_pointer(
                    indptr, y, sample_weight, order[start + r + 2 * CSR_PREFETCH_AHEAD]
                )
            if start + r + CSR_PREFETCH_AHEAD < n_rows:
                _prefetch_csr_row(data, indices, indptr, order[start + r + CSR_PREFETCH_AHEAD])
            i = order[start + r]
            for k in range(n_outputs):
                w = W[k]
                acc = _sparse_dot(w, indices, data, indptr[i], indptr[i + 1])
                logits[r, k] = acc * scale + w[n_features]
            _loss_and_dloss(logits[r], y[i], sample_weight[i], inv_size, total)
        if adaptive:
            for r in range(size):
                i = order[start + r]
                for k in range(n_outputs):
                    g = logits[r, k]
                    for p in range(indptr[i], indptr[i + 1]):
                        grad[k, _column(indices, p)] += g * data[p]
                    grad[k, n_features] += g
            _adaptive_update(W, grad, opt, eta, hyper, counters, q)
            # back to zero where the batch wrote, not over every feature (a memset of
            # the whole gradient was a fifth of a momentum update on 2^18 features)
            for r in range(size):
                i = order[start + r]
                for k in range(n_outputs):
                    for p in range(indptr[i], indptr[i + 1]):
                        grad[k, _column(indices, p)] = 0.0
                    grad[k, n_features] = 0.0
            if b >= first_averaged:
                _add_to_average(W, 1.0, avg, counters)
        else:
            scale = _decay_scale(scale, eta, alpha_l2)
            if scale < MIN_SCALE:
                if lazy_average:
                    _flush_all_averages(W, scale_sum, avg, marks)
                    scale_sum = 0.0
                    marks[:] = 0.0
                scale = _fold_scale(W, scale)
            c = -eta / scale
            for r in range(size):
                i = order[start + r]
                if lazy_average:
                    for p in range(indptr[i], indptr[i + 1]):
                        _flush_average(W, scale_sum, avg, marks, _column(indices, p))
                for k in range(n_outputs):
                    W[k, n_features] -= eta * intercept_step * logits[r, k]
                    # one output at a time, its factor in a register: the inner loop is a
                    # bare scatter-add
                    w = W[k]
                    g = c * logits[r, k]
                    for p in range(indptr[i], indptr[i + 1]):
                        w[_column(indices, p)] += g * data[p]
            if alpha_l1 > 0.0:
                counters[L1_TOTAL] += eta * alpha_l1
                for r in range(size):
                    i = order[start + r]
                    for p in range(indptr[i], indptr[i + 1]):
                        _truncate_l1(W, q, _column(indices, p), scale, counters[L1_TOTAL])
            if b >= first_averaged:
                scale_sum += scale
                for k in range(n_outputs):
                    avg[k, n_features] += W[k, n_features]
                counters[N_AVERAGED] += 1.0
    if lazy_average:
        _flush_all_averages(W, scale_sum, avg, marks)
    _fold_scale(W, scale)
    if alpha_l1 > 0.0:
        _truncate_l1_all(W, q, 1.0, counters[L1_TOTAL])
    return total[0] + np.log(total[1])


def _as_dtype_of(out, value):
    """``value`` rounded to the dtype of ``out``, as a float64 (compiled)."""


@overload(_as_dtype_of, inline="always")
def _as_dtype_of_impl(out, value):
    if out.dtype == types.float64:
        return lambda out, value: value
    return lambda out, value: float(np.float32(value))  # float32, the only other dtype


@njit(nogil=True, cache=CACHE, error_model="numpy", fastmath={"contract"})
def _softmax_by_class(work, out):
    """Write the class probabilities of a block of rows to ``out`` from their logits in ``work``.

    ``work`` (float64, ``n_classes + 2`` rows of at least ``len(out)`` values) holds the
    logits class by class: ``work[k, i]`` of row ``i``. So every step (rounding to the
    dtype of ``out``, the largest logit of each row, the shift, the exps, the sums) runs
    along the rows, in full vector lanes, where a loop over the 10 classes of one row ran
    mostly in its scalar tail; only the last step, the division of each row by its sum,
    goes row by row as ``out`` needs. The last two rows of ``work`` hold the largest logit
    and the sum of each row. Exps in float64 keep float32 probabilities correctly rounded
    (shifted and exponentiated in float32, logits near 16 lost up to 17 ulps). A largest
    logit of +inf takes all the probability. Returns the number of logits (rounded) that
    are NaN or infinite.
    """
    n_rows, n_classes = out.shape
    top = work[n_classes]
    total = work[n_classes + 1]
    n_bad = 0
    for i in range(n_rows):
        top[i] = -np.inf
        total[i] = 0.0
    for k in range(n_classes):
        z = work[k]
        for i in range(n_rows):
            v = _as_dtype_of(out, z[i])  # the logit decision_function returns
            z[i] = v
            n_bad += not np.isfinite(v)
            top[i] = v if v > top[i] else top[i]
    for k in range(n_classes):
        z = work[k]
        for i in range(n_rows):
            e = _exp_nonpositive(0.0 if z[i] == top[i] else z[i] - top[i])
            z[i] = e
            total[i] += e
    for i in range(n_rows):
        share = 1.0 / total[i]
        row = out[i]
        for k in range(n_classes):
            row[k] = work[k, i] * share
    return n_bad


@njit(inline="always", nogil=True, cache=CACHE)
def _sigmoid_columns(out):
    """Replace the logits in ``out[:, 0]`` by ``1 - sigmoid``, with ``sigmoid`` in ``out[:, 1]``.

    One loop of plain arithmetic over a flat view of the rows, which the compiler vectorizes
    (not over ``out[i, 0]``: two-index access kept the loop scalar). Neither column is 1
    minus the other, so a probability near 0 keeps all its digits in either column.
    Returns the number of logits that are NaN or infinite.
    """
    flat = out.reshape(out.size)
    n_bad = 0
    for i in range(out.shape[0]):
        z = float(flat[2 * i])
        n_bad += not np.isfinite(z)
        e = _exp_nonpositive(-abs(z))
        positive = z >= 0.0
        share = 1.0 / (1.0 + e)
        flat[2 * i] = (e if positive else 1.0) * share
        flat[2 * i + 1] = (1.0 if positive else e) * share
    return n_bad


# Compiled once and called per block (not inlined): the serial and the threaded kernel
# share it, which saves the first predict_proba a second compilation of the exp.
# "contract" lets the exp's polynomial use fused multiply-adds: 1.25 instead of 1.8 ns a
# value, and closer to the exact exp.
@njit(nogil=True, cache=CACHE, error_model="numpy", fastmath={"contract"})
def _block_sigmoid(out):
    """:func:`_sigmoid_columns`, compiled on its own (see above)."""
    return _sigmoid_columns(out)


@njit(inline="always", nogil=True, cache=CACHE)
def _score_quad(X, i, i2, i3, i4, coef, intercept, out):
    """Write the logits of the rows ``i, i2, i3, i4`` of ``X`` to ``out``, class by class.

    For models of fewer than four outputs (binary, three classes): four dot products in
    one loop, each load of ``coef`` serving four rows. The same row may come twice.
    """
    x = X[i]
    x2 = X[i2]
    x3 = X[i3]
    x4 = X[i4]
    for k in range(coef.shape[0]):
        c = coef[k]
        a = a2 = a3 = a4 = _zero_like(x)
        for j in range(x.shape[0]):
            a += x[j] * c[j]
            a2 += x2[j] * c[j]
            a3 += x3[j] * c[j]
            a4 += x4[j] * c[j]
        out[i, k] = a + intercept[k]
        out[i2, k] = a2 + intercept[k]
        out[i3, k] = a3 + intercept[k]
        out[i4, k] = a4 + intercept[k]


# Compiled once and called per block, like _block_sigmoid: inlined, the serial and
# the threaded kernel each compiled it, and the first threaded predict took 1.8 s, not 1.3.
@njit(nogil=True, cache=CACHE, fastmath=_REASSOCIATE)
def _score_block(X, coef, intercept, out):
    """Write the logits of the rows ``X`` to the rows of ``out``.

    ``out`` is a strided view (of the workspace of a multiclass ``predict_proba``, or the
    logit columns of ``out``): one compilation serves both.

    Several rows at a time share the loads of ``coef``: one row at a time, the end of
    every dot product (a horizontal sum) left the loads of X waiting, and two threads
    scored D1's test rows in 1.6-1.8x the time of numpy's ``X @ coef.T``. Models of fewer
    than four outputs take rows by four (:func:`_score_quad`; pairs took 10% longer on
    200,000 x 100 float64 rows), others by two with four classes at a time
    (:func:`_score_pair`).
    """
    n_rows = X.shape[0]
    if coef.shape[0] < 4:
        for i in range(0, n_rows - n_rows % 4, 4):
            _score_quad(X, i, i + 1, i + 2, i + 3, coef, intercept, out)
        if n_rows % 4:
            # the last rows by the same code (the four last rows, or the few rows with
            # repeats): a row's logits never depend on the rows scored with it (float32
            # rows left over were summed in float64)
            first = max(n_rows - 4, 0)
            last = n_rows - 1
            _score_quad(
                X, first, min(first + 1, last), min(first + 2, last), last, coef, intercept, out
            )
        return
    for i in range(0, n_rows, 2):
        i2 = min(i + 1, n_rows - 1)  # an odd last row is scored twice
        _score_pair(X[i], X[i2], coef, 1.0, intercept, out[i], out[i2])


# Compiled once and called per task, like _block_sigmoid: the threaded kernel compiles only
# its loop over the tasks (its first call took 1.3 s, 2.2 s with this inlined).
@njit(nogil=True, cache=CACHE)
def _score_task(X, coef, intercept, proba, out, first_row, stop_row):
    """Write the logits or probabilities of the rows ``first_row:stop_row``.

    Returns the number of logits that are NaN or infinite. A block of rows has its logits
    written (:func:`_score_block`) and then, still in cache, turned into probabilities. A
    multiclass model writes them class by class to a workspace, for
    :func:`_softmax_by_class`; the others write them to ``out``.
    """
    n_outputs = coef.shape[0]
    by_class = proba and n_outputs > 1
    work = np.empty((n_outputs + 2 if by_class else 0, SCORE_BLOCK))
    n_bad = 0
    for first in range(first_row, stop_row, SCORE_BLOCK):
        stop = min(first + SCORE_BLOCK, stop_row)
        # non-finite logits are counted where they are read again, in vector lanes
        if by_class:
            _score_block(X[first:stop], coef, intercept, work[:n_outputs, : stop - first].T)
            n_bad += _softmax_by_class(work, out[first:stop])
            continue
        rows = out[first:stop]
        _score_block(X[first:stop], coef, intercept, out[first:stop, :n_outputs])
        if proba:
            n_bad += _block_sigmoid(rows)
            continue
        flat = rows.reshape(rows.size)
        for t in range(flat.shape[0]):
            n_bad += not np.isfinite(flat[t])
    return n_bad


@njit(inline="always", nogil=True, cache=CACHE)
def _dense_scores(X, coef, intercept, proba, out):
    """Body of :func:`dense_scores` and :func:`dense_scores_parallel` (see there).

    Tasks of up to ``MAX_BLOCKS_PER_TASK`` blocks, and at least 16 tasks when there are 16
    blocks, so that threads share even a few wide rows.
    """
    n_rows = X.shape[0]
    n_blocks = (n_rows + SCORE_BLOCK - 1) // SCORE_BLOCK
    rows_per_task = SCORE_BLOCK * min(MAX_BLOCKS_PER_TASK, max(1, n_blocks // 16))
    n_bad = 0
    for task in prange((n_rows + rows_per_task - 1) // rows_per_task):
        first = np.intp(task) * rows_per_task  # intp, as in the serial kernel: one compilation
        stop = min(first + rows_per_task, n_rows)
        n_bad += _score_task(X, coef, intercept, proba, out, first, stop)
    return n_bad


# error_model="numpy": no division here can be by zero, and numba's default checks every
# division for it, which keeps the loop of _sigmoid_columns scalar.
@njit(cache=CACHE, nogil=True, fastmath=_REASSOCIATE, error_model="numpy")
def dense_scores(X, coef, intercept, proba, out):
    """Logits or class probabilities of the rows of a dense matrix, in one pass over X.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
        Samples; read only.
    coef : ndarray of shape (n_outputs, n_features)
        Coefficients, in the dtype of ``out``; read only.
    intercept : ndarray of shape (n_outputs,)
        Intercepts, in the dtype of ``out``; read only.
    proba : bool
        Write probabilities instead of logits.
    out : ndarray of shape (n_samples, n_columns)
        Written in place: the logits (``n_columns == n_outputs``) or the probabilities of
        every class (``n_columns == 2`` for a binary model, ``n_outputs`` otherwise).

    Returns
    -------
    n_bad : int
        Number of logits that are NaN or infinite (a non-finite feature always makes one).
    """
    return _dense_scores(X, coef, intercept, proba, out)


@njit(cache=CACHE, nogil=True, parallel=_PRANGE_ONLY, fastmath=_REASSOCIATE, error_model="numpy")
def dense_scores_parallel(X, coef, intercept, proba, out):
    """:func:`dense_scores` with rows split among numba's threads (same results)."""
    return _dense_scores(X, coef, intercept, proba, out)


@njit(cache=CACHE, nogil=True)
def shuffled_blocks(block, run_blocks, n_streams, uniforms, out):
    """Write ``0 .. len(out) - 1`` to ``out`` in shuffled blocks of ``block`` consecutive values.

    The blocks are grouped in runs of ``run_blocks`` consecutive blocks; the runs are
    shuffled, and taken ``n_streams`` at a time, one block of each in turn: the first
    block of each of the ``n_streams`` runs, then the second of each, and so on. A run's
    next block then starts where the CPU's prefetcher left that run, while the other
    runs' blocks come between: an epoch over 800,000 x 100 float64 rows, one thread, took
    43.9 ns a row in runs of 4 blocks of 32 rows, 16 side by side, against 47.1 in
    shuffled blocks of 32 (57.5 against 68.8 with blocks of 8). ``run_blocks = 1``
    shuffles the blocks themselves, whatever ``n_streams``.

    Parameters
    ----------
    block : int
        Rows per block (1 shuffles single rows).
    run_blocks : int
        Blocks per run (the last run may have fewer).
    n_streams : int
        Runs visited side by side.
    uniforms : ndarray of shape (n_runs,), float64
        Uniform draws in [0, 1) that drive the Fisher-Yates shuffle of the runs, where
        ``n_runs = ceil((len(out) // block) / run_blocks)``.
    out : ndarray of shape (n_rows,), intp
        Written in place; the ``n_rows % block`` last values stay last, in order.
    """
    n_blocks = out.shape[0] // block
    n_runs = uniforms.shape[0]
    runs = np.arange(n_runs)
    for i in range(n_runs - 1, 0, -1):
        j = min(int(uniforms[i] * (i + 1)), i)
        runs[i], runs[j] = runs[j], runs[i]
    r = 0
    for group in range(0, n_runs, n_streams):
        group_stop = min(group + n_streams, n_runs)
        for step in range(run_blocks):
            for s in range(group, group_stop):
                b = runs[s] * run_blocks + step
                if b < n_blocks:  # the last run may be short
                    first = b * block
                    for k in range(block):
                        out[r] = first + k
                        r += 1
    for r in range(n_blocks * block, out.shape[0]):
        out[r] = r
