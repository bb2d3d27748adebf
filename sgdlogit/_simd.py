"""Dot products and axpys over dense rows, written as explicit SIMD loops (numba intrinsics).

Written as plain loops, LLVM vectorizes a dot product four vectors at a time (64 float32
lanes with AVX-512), then runs what is left through a second, narrower vector loop and
then a scalar one, each with its own chain of dependent adds and its own horizontal sum.
A 100-feature float32 row (64 + 32 + 4) spends most of its dot product in those tails: a
pair of dot products over rows in L1 took 6.3 ns a row at 100 features, 5.2 at 128. Here
the loop goes one vector at a time, then the few elements left (``n`` modulo the lanes)
one by one into sums of their own, and the vector sums are added up last.

The axpy takes its partial vector with masked loads, and writes it whole where the row
written to has room for a whole vector (the lanes past ``n`` get their own values back): a
masked store cannot be forwarded to the next read of those elements, which then waits for
it (on D1's 100-feature rows 21.7 against 21.3 ns a row, within the noise). The dot
products do not use masked loads: they read rows as they come from memory, and on the AMD
Zen 4 host the kernel took 15-24% longer on rows of 50 features with them (the axpy reads
the same rows again, from L1).

Used by the float32 binary kernel (``_binary_rows_by_groups``), which is bound by its
arithmetic. The float64 kernel, bound by memory, keeps the compiler's loops: with these it
was 1.5-2% slower.

A vector holds ``VECTOR_BYTES`` bytes, 16 float32 or 8 float64 lanes (one AVX-512
register); LLVM splits it where registers are narrower. Sums go in a fixed order (lane by
lane, then halves of the vector) with no fast-math flags, so the compiler does not
reorder them; multiply-adds of vectors are fused where the CPU has FMA (``llvm.fmuladd``).

The intrinsics take 1-D C-contiguous arrays of one float dtype (rows of C-contiguous
matrices; anything else does not type) and a count ``n`` of leading elements to use, which
must not exceed any of their lengths: they do not check it, as the kernels pass the
lengths of their own rows.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

VECTOR_BYTES = 64  # one AVX-512 register

_INT32 = ir.IntType(32)


def _lanes(dtype):
    return VECTOR_BYTES * 8 // dtype.bitwidth


def _is_row(array, dtype):
    return (
        isinstance(array, types.Array)
        and array.ndim == 1
        and array.layout == "C"
        and array.dtype == dtype
    )


def _rows_and_count(arrays, count):
    """The float dtype shared by ``arrays`` if they are all rows of it, else None."""
    dtype = arrays[0].dtype if isinstance(arrays[0], types.Array) else None
    if dtype not in (types.float32, types.float64) or not isinstance(count, types.Integer):
        return None
    return dtype if all(_is_row(array, dtype) for array in arrays) else None


class _Vectors:
    """IR for loops over the first ``n`` elements of rows, one vector of ``dtype`` at a time."""

    def __init__(self, context, builder, dtype):
        self.builder = builder
        self.lanes = _lanes(dtype)
        self.type = ir.VectorType(context.get_value_type(dtype), self.lanes)
        self.zero = ir.Constant(self.type, None)
        name = f"v{self.lanes}f{dtype.bitwidth}"
        pointer = self.type.as_pointer()
        mask = ir.VectorType(ir.IntType(1), self.lanes)
        module = builder.module
        self._masked_load = cgutils.get_or_insert_function(
            module, ir.FunctionType(self.type, [pointer, _INT32, mask, self.type]),
            f"llvm.masked.load.{name}.p0",
        )  # fmt: skip
        self._masked_store = cgutils.get_or_insert_function(
            module, ir.FunctionType(ir.VoidType(), [self.type, pointer, _INT32, mask]),
            f"llvm.masked.store.{name}.p0",
        )  # fmt: skip
        self._fmuladd = cgutils.get_or_insert_function(
            module, ir.FunctionType(self.type, [self.type] * 3), f"llvm.fmuladd.{name}"
        )

    def broadcast(self, value, vector_type=None):
        """A vector with ``value`` in every lane (of ``self.type`` unless given)."""
        b = self.builder
        vector_type = vector_type or self.type
        one = b.insert_element(ir.Constant(vector_type, ir.Undefined), value, _INT32(0))
        every_lane = ir.Constant(ir.VectorType(_INT32, self.lanes), None)
        return b.shuffle_vector(one, one, every_lane)

    def multiply_add(self, a, b, c):
        """``a * b + c`` lane by lane, fused where the CPU has FMA."""
        return self.builder.call(self._fmuladd, [a, b, c])

    def whole(self, n, body):
        """Emit ``body(j, load, load, store)`` for every whole vector at ``j`` below ``n``.

        Returns the number of elements they cover. ``load(data, j)`` and ``store(value,
        data, j)`` read and write the vector of a row at element ``j``.
        """
        b = self.builder
        intp = n.type
        n_whole = b.sub(n, b.srem(n, intp(self.lanes)))
        with cgutils.for_range_slice(b, intp(0), n_whole, intp(self.lanes)) as (j, _):
            body(j, self._load, self._load, self._store)
        return n_whole

    def over(self, n, body, room):
        """:meth:`whole`, then ``body(j, load, load_target, store)`` on the partial vector.

        In the partial vector ``load`` (of the rows summed from) gives zero past ``n``;
        ``load_target`` and ``store`` read and write the row written to whole if it has
        ``room`` elements for it, else only below ``n``.
        """
        b = self.builder
        n_whole = self.whole(n, body)
        intp = n.type
        lane = ir.Constant(ir.VectorType(intp, self.lanes), list(range(self.lanes)))
        mask = b.icmp_signed("<", lane, self.broadcast(b.sub(n, n_whole), lane.type))

        def load_masked(data, j):
            return b.call(self._masked_load, [self._pointer(data, j), _INT32(1), mask, self.zero])

        def store_masked(value, data, j):
            b.call(self._masked_store, [value, self._pointer(data, j), _INT32(1), mask])

        fits = b.icmp_signed("<=", b.add(n_whole, intp(self.lanes)), room)
        with b.if_else(fits) as (whole, partial):
            with whole:
                body(n_whole, load_masked, self._load, self._store)
            with partial:
                body(n_whole, load_masked, load_masked, store_masked)

    def _pointer(self, data, j):
        return self.builder.bitcast(self.builder.gep(data, [j]), self.type.as_pointer())

    def _load(self, data, j):
        return self.builder.load(self._pointer(data, j), align=1)

    def _store(self, value, data, j):
        self.builder.store(value, self._pointer(data, j), align=1)

    def total(self, vector):
        """Sum of the lanes of ``vector``, adding halves until one lane is left."""
        b = self.builder
        width = self.lanes
        while width > 1:
            width //= 2
            halves = [
                b.shuffle_vector(vector, vector, ir.Constant(ir.VectorType(_INT32, width), lanes))
                for lanes in (list(range(width)), list(range(width, 2 * width)))
            ]  # fmt: skip
            vector = b.fadd(*halves)
        return b.extract_element(vector, _INT32(0))


def _array(context, builder, array_type, array):
    """The array's structure: its ``data`` pointer and ``shape``."""
    return context.make_array(array_type)(context, builder, array)


@intrinsic
def pair_dots(typingctx, w, x, x2, n):
    """``(w[:n] @ x[:n], w[:n] @ x2[:n])``: each load of ``w`` serves two rows.

    Whole vectors, then the elements left one by one (no masked loads, see above).
    """
    dtype = _rows_and_count((w, x, x2), n)
    if dtype is None:
        return None

    def codegen(context, builder, signature, args):
        vectors = _Vectors(context, builder, dtype)
        w, x, x2 = (_array(context, builder, signature.args[p], args[p]).data for p in range(3))
        sums = [cgutils.alloca_once_value(builder, vectors.zero) for _ in range(2)]

        def body(j, load, _, __):
            w_j = load(w, j)
            for row, total in zip((x, x2), sums, strict=True):
                builder.store(vectors.multiply_add(w_j, load(row, j), builder.load(total)), total)

        n = args[3]
        n_whole = vectors.whole(n, body)
        zero = ir.Constant(vectors.type.element, 0.0)
        rests = [cgutils.alloca_once_value(builder, zero) for _ in range(2)]
        with cgutils.for_range_slice(builder, n_whole, n, n.type(1)) as (j, _):
            w_j = builder.load(builder.gep(w, [j]))
            for row, rest in zip((x, x2), rests, strict=True):
                product = builder.fmul(w_j, builder.load(builder.gep(row, [j])))
                builder.store(builder.fadd(builder.load(rest), product), rest)
        products = [
            builder.fadd(vectors.total(builder.load(total)), builder.load(rest))
            for total, rest in zip(sums, rests, strict=True)
        ]
        return context.make_tuple(builder, signature.return_type, products)

    return types.UniTuple(dtype, 2)(w, x, x2, n), codegen


@intrinsic
def quad_axpy(typingctx, g, d, x, d2, x2, d3, x3, d4, x4, n):
    """``g[:n] += (d * x[:n] + d2 * x2[:n]) + (d3 * x3[:n] + d4 * x4[:n])``.

    ``g`` is read and written once per four rows; its partial vector whole if ``g`` has
    room for it (page-padded gradient buffers do), else in a masked store.
    """
    factors = (d, d2, d3, d4)
    dtype = _rows_and_count((g, x, x2, x3, x4), n)
    if dtype is None or not all(isinstance(f, (types.Float, types.Integer)) for f in factors):
        return None

    def codegen(context, builder, signature, args):
        vectors = _Vectors(context, builder, dtype)
        g_array = _array(context, builder, signature.args[0], args[0])
        g = g_array.data
        factors = [
            vectors.broadcast(context.cast(builder, args[p], signature.args[p], dtype))
            for p in (1, 3, 5, 7)
        ]  # fmt: skip
        rows = [_array(context, builder, signature.args[p], args[p]).data for p in (2, 4, 6, 8)]

        def body(j, load, load_target, store):
            terms = [builder.fmul(factors[p], load(rows[p], j)) for p in (0, 2)]
            pairs = [
                vectors.multiply_add(factors[p + 1], load(rows[p + 1], j), terms[p // 2])
                for p in (0, 2)
            ]
            store(builder.fadd(load_target(g, j), builder.fadd(*pairs)), g, j)

        room = cgutils.unpack_tuple(builder, g_array.shape)[0]
        vectors.over(args[9], body, room)
        return context.get_dummy_value()

    return types.void(g, d, x, d2, x2, d3, x3, d4, x4, n), codegen
