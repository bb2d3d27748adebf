"""Training state and the one place where dense and CSR input part ways.

:class:`TrainingState` holds every array a fit keeps between epochs (and between
``partial_fit`` calls); :func:`make_epoch_runner` binds the data to the compiled kernel that
fits it and returns a function running one epoch.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numba
import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs

from sgdlogit import _kernels as kernels
from sgdlogit._objective import penalty_strengths

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8

# Threads pay off from about this many multiply-adds per batch (rows x features x outputs)
# and rows per thread. Epochs over 800,000 shuffled rows on 2 threads against 1: 10
# features, batches of 32 rows 0.84x the time, of 16 rows 1.08x; 50 features, batches of 32
# 0.95x, of 16 1.16x; 100 features (D1), batches of 16 0.70x.
MIN_PARALLEL_WORK = 256
MIN_ROWS_PER_CHUNK = 16
_PARALLEL_LOCK = threading.Lock()
# Each chunk's work buffers sit on memory pages of their own: two threads writing to one
# page slow each other even a few cache lines apart (the CPU's prefetchers fetch lines
# near those a core touches, within its page). D2, two threads: 17-19 ms an epoch with the
# chunks' buffers 128 bytes apart, 12.2-12.5 ms on pages of their own (one thread: 22 ms).
PAGE_BYTES = 4096
# Where in its page each kind of work buffer starts. With the gradients at the start of a
# page, D2 took 14.6-14.9 ms in five processes out of five; at 1 KB, 12.1-12.9 ms in 28 of 32.
LOGITS_OFFSET, GRADS_OFFSET, LOSSES_OFFSET = 2048, 1024, 0


def _l1_buffer(shape, needed):
    """The L1 penalty applied so far to each coefficient (empty unless ``needed``)."""
    return np.zeros((shape[0], shape[1] - 1)) if needed else np.zeros((0, 0))


def _optimizer_buffer(shape, needed):
    """Momentum's velocity, or Adam's two moments (empty unless ``needed``).

    float64 as the other buffers: Adam's second moment, the square of a gradient,
    overflows float32 from gradients of 2e19 (float32 features of 1e20).
    """
    return np.zeros((2, *shape)) if needed else np.zeros((0, 0, 0))


_ARRAYS = ("W", "q", "opt", "avg", "counters", "center")


@dataclass
class TrainingState:
    """Arrays and counters of a model under training.

    ``W`` stacks the coefficients and the intercepts, ``(n_outputs, n_features + 1)``;
    ``q``, ``opt`` and ``avg`` are empty unless L1, momentum/Adam or averaging use them;
    ``center`` is empty unless dense updates are centered (see ``kernels.dense_epoch``).
    """

    W: np.ndarray
    q: np.ndarray
    opt: np.ndarray
    avg: np.ndarray
    counters: np.ndarray = field(default_factory=lambda: np.zeros(kernels.N_COUNTERS))
    center: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_updates: int = 0
    n_samples_seen: int = 0
    eta: float = 0.0  # current step of the 'adaptive' schedule

    @classmethod
    def zeros(cls, n_outputs, n_features, dtype, *, l1, adaptive, average):
        """A model at zero with the optional arrays allocated as needed."""
        shape = (n_outputs, n_features + 1)
        return cls(
            W=np.zeros(shape, dtype=dtype),
            q=_l1_buffer(shape, l1),
            opt=_optimizer_buffer(shape, adaptive),
            avg=np.zeros(shape) if average else np.zeros((0, 0)),
        )

    def own_arrays(self):
        """Copy the arrays that cannot be written: the next epoch writes into them.

        Those of a model loaded by ``joblib.load(..., mmap_mode="r")`` are read-only.
        """
        for name in _ARRAYS:
            array = getattr(self, name)
            if not array.flags.writeable:
                setattr(self, name, array.copy())

    def __setstate__(self, state):
        # a state pickled before ``center`` existed (sgdlogit 0.1.0 dev) trains uncentered
        self.__dict__.update({"center": np.zeros(0), **state})

    def copy(self):
        """A state of its own: training the copy leaves this one as it is."""
        arrays = {name: getattr(self, name).copy() for name in _ARRAYS}
        return replace(self, **arrays)

    def provide_for(self, hyper):
        """Allocate the optional arrays that ``hyper`` needs and the state does not have yet.

        A ``partial_fit`` after ``set_params`` may turn on L1, momentum or Adam in a state
        started without them: the kernels would write into its empty arrays.
        """
        if hyper[kernels.ALPHA_L1] > 0.0 and self.q.size == 0:
            self.q = _l1_buffer(self.W.shape, True)
        if (hyper[kernels.MOMENTUM] > 0.0 or hyper[kernels.USE_ADAM] != 0.0) and not self.opt.size:
            self.opt = _optimizer_buffer(self.W.shape, True)

    def is_finite(self):
        """Whether every array of the state is finite (an overflow can hide in any)."""
        # checked every epoch: the method calls cost a third of np.all's dispatch, and the
        # empty arrays of unused options nothing (breast_cancer fits about 3% faster)
        arrays = (self.W, self.q, self.opt, self.avg)
        return all(array.size == 0 or bool(np.isfinite(array).all()) for array in arrays)

    def averaged_model(self):
        """The averaged ``W`` when any update was averaged, else the current ``W``."""
        n_averaged = self.counters[kernels.N_AVERAGED]
        if n_averaged == 0:
            return self.W
        return (self.avg / n_averaged).astype(self.W.dtype)

    def reset_optimizer(self):
        """Start the optimizer's state (velocity, Adam's moments and step count) afresh."""
        self.opt[...] = 0.0
        self.counters[kernels.ADAM_STEPS] = 0.0

    def set_averaging(self, on):
        """Average the coming updates (a new average if there was none), or stop averaging."""
        if bool(self.avg.size) != on:
            self.avg = np.zeros(self.W.shape if on else (0, 0))
            self.counters[kernels.N_AVERAGED] = 0.0

    def restart_average(self):
        """Drop the updates averaged so far: the average starts again from the next one."""
        self.avg[...] = 0.0
        self.counters[kernels.N_AVERAGED] = 0.0


def restarts_average(epoch):
    """Whether a tail average restarts before ``epoch`` (counted from 1): 2, 4, 8, ...

    After epoch ``e``, the average then covers the epochs from the largest power of two
    ``2**k <= e`` on: between the last epoch alone (``e = 2**k``) and the last half.
    Iterates far from the optimum leave the average; the window stays long enough to
    average out the gradient noise.
    """
    return epoch >= 2 and epoch & (epoch - 1) == 0


def make_hyper(*, alpha, penalty, l1_ratio, momentum, solver, fit_intercept, intercept_scale):
    """Pack the scalar hyper-parameters into the float64 array the kernels read."""
    hyper = np.zeros(kernels.N_HYPER)
    hyper[kernels.ALPHA_L2], hyper[kernels.ALPHA_L1] = penalty_strengths(penalty, alpha, l1_ratio)
    hyper[kernels.MOMENTUM] = momentum if solver == "sgd" else 0.0
    hyper[kernels.BETA1] = ADAM_BETA1
    hyper[kernels.BETA2] = ADAM_BETA2
    hyper[kernels.ADAM_EPS] = ADAM_EPS
    hyper[kernels.INTERCEPT_SCALE] = intercept_scale
    hyper[kernels.FIT_INTERCEPT] = float(fit_intercept)
    hyper[kernels.USE_ADAM] = float(solver == "adam")
    return hyper


def _read_only(array):
    """Return a read-only view of ``array``.

    The kernels are compiled for read-only inputs only, so writable, read-only and
    memory-mapped arrays all share one specialization.
    """
    view = array.view()
    view.flags.writeable = False
    return view


@contextmanager
def parallel_section(n_threads):
    """Yield whether a parallel kernel may run now on ``n_threads`` threads (set for it).

    One parallel section at a time: numba's workqueue threading layer cannot run two at
    once. A caller told no runs the serial twin of its kernel, which gives the same results.
    """
    if n_threads <= 1 or not _PARALLEL_LOCK.acquire(blocking=False):
        yield False
        return
    try:
        previous = numba.get_num_threads()
        wanted = min(n_threads, numba.config.NUMBA_NUM_THREADS)
        if wanted != previous:  # a setting costs 1 us, twice per predict_proba
            numba.set_num_threads(wanted)
        try:
            yield True
        finally:
            if wanted != previous:
                numba.set_num_threads(previous)
    finally:
        _PARALLEL_LOCK.release()


def n_chunks_for(n_jobs, batch_size, n_features, n_outputs, sparse):
    """Chunks each dense batch is split into: ``n_jobs`` where threads pay off, else 1.

    A parallel section costs a few microseconds per batch, so threads only help when each
    gets enough rows and work; CSR batches always run on one thread.
    """
    n_jobs = effective_n_jobs(n_jobs)
    work = batch_size * n_features * n_outputs
    if sparse or n_jobs <= 1 or work < MIN_PARALLEL_WORK:
        return 1
    return max(1, min(n_jobs, batch_size // MIN_ROWS_PER_CHUNK))


def epoch_order(rows, rng, block, out=None, *, run_blocks=1, n_streams=1):
    """``rows`` in a random order: shuffled blocks of ``block`` consecutive rows.

    With ``run_blocks > 1``, shuffled runs of that many consecutive blocks, ``n_streams``
    runs side by side, one block of each in turn (see :func:`kernels.shuffled_blocks`).
    The last ``len(rows) % block`` rows (fewer than a block) come last. The shuffle runs in
    a compiled kernel without the GIL (numpy's permutation holds it), so that fits in
    parallel threads do not queue for it every epoch. ``out`` (intp, ``len(rows)``), if
    given, is written and may be returned: an epoch's new array of 800,000 positions cost
    D1's default fit 2 ms of page faults over its three epochs.
    """
    n_rows = rows.shape[0]
    uniforms = rng.random(-(-(n_rows // block) // run_blocks))
    positions = np.empty(n_rows, dtype=np.intp) if out is None else out
    kernels.shuffled_blocks(block, run_blocks, n_streams, uniforms, positions)
    contiguous = n_rows > 0 and rows[-1] - rows[0] == n_rows - 1
    if contiguous:
        if rows[0]:  # a pass over the order (D1: 0.5 ms an epoch) only if it moves
            positions += rows[0]
        return positions
    return rows[positions]


def _round_up(n, step):
    """The smallest multiple of ``step`` that is at least ``n``."""
    return -(-n // step) * step


def page_slots(n_slots, shape, dtype, offset=0):
    """An empty array of ``n_slots`` slots of at least ``shape``, each on pages of its own.

    Returns a C-contiguous array of shape ``(n_slots, *padded)``, ``padded >= shape``
    elementwise (``shape`` has one or two dimensions). Slot ``t`` starts ``offset`` bytes
    (a multiple of the cache line) into a page, and its first ``shape`` elements end
    before the page of slot ``t + 1`` starts: no page holds data of two slots or of any
    other array. Each row of a 2-D slot is padded to a power of two of cache lines (or to
    whole pages), and rows are added until the slot fills whole pages.
    """
    itemsize = np.dtype(dtype).itemsize
    page = PAGE_BYTES // itemsize
    line = kernels.CACHE_LINE // itemsize
    offset //= itemsize
    *rows, cols = shape
    if rows:
        cols = _round_up(cols, line)
        cols = 1 << (cols - 1).bit_length() if cols < page else _round_up(cols, page)
        slot = _round_up(rows[0] * cols + offset, max(cols, page))  # a multiple of both
        padded = (slot // cols, cols)
    else:
        slot = _round_up(cols + offset, page)
        padded = (slot,)
    raw = np.empty((n_slots + 1) * slot + page, dtype=dtype)
    start = (-raw.ctypes.data % PAGE_BYTES) // itemsize + offset
    return raw[start : start + n_slots * slot].reshape(n_slots, *padded)


def make_epoch_runner(X, y_index, sample_weight, state, hyper, batch_size, n_chunks=1):
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
    n_chunks : int, default=1
        Dense input only: chunks per batch, run on up to ``n_chunks`` threads (see
        :func:`n_chunks_for`). The result depends on ``n_chunks``, never on the threads.
    """
    state.own_arrays()
    state.provide_for(hyper)
    dtype = state.W.dtype
    n_outputs, n_cols = state.W.shape
    y_index = _read_only(np.ascontiguousarray(y_index, dtype=np.int32))
    sample_weight = _read_only(np.ascontiguousarray(sample_weight, dtype=dtype))
    model = (state.W, state.q, state.opt, state.avg, state.counters, hyper)

    if sp.issparse(X):
        data = _read_only(np.ascontiguousarray(X.data, dtype=dtype))
        # int32 index arrays stay int32 and int64 ones int64, without a copy (mixed or other
        # widths, which scipy does not build itself, become int64: one kernel per width)
        index = np.int32 if X.indices.dtype == X.indptr.dtype == np.int32 else np.int64
        indices = _read_only(np.ascontiguousarray(X.indices, dtype=index))
        indptr = _read_only(np.ascontiguousarray(X.indptr, dtype=index))
        logits = np.empty((batch_size, n_outputs), dtype=dtype)
        grad = np.empty_like(state.W) if state.opt.size else np.empty((0, 0), dtype)
        marks = np.empty(n_cols - 1)
        total = np.empty(2)

        def run(order, steps, first_averaged):
            order = _read_only(order)
            return kernels.csr_epoch(
                data, indices, indptr, y_index, sample_weight, order, batch_size, steps,
                first_averaged, *model, logits, grad, marks, total,
            )  # fmt: skip

        return run

    X = _read_only(np.ascontiguousarray(X))
    buffers = (
        page_slots(n_chunks, (2 * n_outputs,), dtype, LOGITS_OFFSET),
        page_slots(n_chunks, (n_outputs, n_cols), dtype, GRADS_OFFSET),
        page_slots(n_chunks, (kernels.LOSS_COLUMNS,), np.float64, LOSSES_OFFSET),
        state.center,
        np.empty(n_outputs),
    )

    def run(order, steps, first_averaged):
        order = _read_only(order)
        args = (X, y_index, sample_weight, order, batch_size, steps, first_averaged)
        with parallel_section(n_chunks) as parallel:
            epoch = kernels.dense_epoch_parallel if parallel else kernels.dense_epoch
            return epoch(*args, *model, *buffers)

    return run
