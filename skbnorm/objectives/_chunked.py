"""The row backend of a fit on a dask array: a design in row chunks.

A :class:`ChunkedDesign` answers the solvers' questions about ``X`` as an
in-memory :class:`~._design.Design` does, with the same methods, while the
rows stay in chunks where dask put them. Each pass is a map over the chunks
-- the chunk's own :class:`~._design.Design` running the package's numba
kernels, on the worker that holds it -- and, for the passes that sum over
rows, a sum of the chunks' partial results on the driver, in chunk order (a
result does not depend on which worker ran what). The driver holds ``O(d)``
state; what has one entry per row (targets, weights, margins, loss
derivatives) is a :class:`Rows`: one part per chunk, kept next to the chunk.

Communication per pass is ``O(d)`` per chunk. The solvers' code is the one
that runs in memory: they use ``Rows`` as they use arrays (``s * t``,
``s @ y``, ``abs(r)``, ``t *= s``) and reach the rows only through the
design.

dask is not imported here: the chunks are handed over by an executor
(:class:`ActorExecutor` for a ``distributed`` cluster, :class:`LocalExecutor`
for chunks held in this process).
"""

import contextlib
import operator

import numpy as np

from .._validation import column_max_abs, weighted_rms
from ._design import Design, _wsq
from ._margins import (
    combine_columns,
    fill_subspace,
    margin_pass,
    scale_eval,
    subspace_eval,
)


class LocalExecutor:
    """Chunks held in this process: a part is the chunk's array itself."""

    def run(self, fn, arg_lists, n_keep, ret):
        """``fn(*args)`` for each chunk's ``args``, in chunk order.

        ``fn`` returns ``n_keep`` outputs to keep with the chunk, preceded by
        one to bring to the driver if ``ret``. Returns ``(results, kept)``:
        the results (or None), and the parts of each kept output.
        """
        res = [fn(*args) for args in arg_lists]
        if n_keep == 0:
            return res, []
        if n_keep == 1 and not ret:
            return None, [res]
        first = 1 if ret else 0
        kept = [[r[first + k] for r in res] for k in range(n_keep)]
        return ([r[0] for r in res] if ret else None), kept

    def release(self, parts):
        """The parts are no longer used (arrays: nothing to do)."""

    def close(self):
        """The fit is over."""


class Slot:
    """A part kept on a worker: entry ``i`` (the chunk) of the store's slot
    ``key``."""

    __slots__ = ("key", "i")

    def __init__(self, key, i):
        self.key = key
        self.i = i

    def __reduce__(self):
        return (Slot, (self.key, self.i))


#: the slots of a :class:`ChunkStore` holding the validated inputs
X_KEY, Y_KEY, SW_KEY = 0, 1, 2


class ChunkStore:
    """The chunks of one worker, and the per-row vectors computed from them.

    A ``distributed`` actor: the driver calls it directly (about 2 ms a
    round trip here, against 11-25 ms for tasks through the scheduler,
    whose batched messages wait 2-10 ms at each hop), and what it computes
    stays in its slots until the driver's :class:`Rows` is dropped.
    """

    def __init__(self, parts):
        self.slots = {X_KEY: {}, Y_KEY: {}, SW_KEY: {}}
        for i, (X, y, sw, _) in parts.items():
            self.slots[X_KEY][i] = X
            self.slots[Y_KEY][i] = y
            self.slots[SW_KEY][i] = sw

    def run(self, batch, dead):
        """Run the calls of ``batch`` in order and return the last one's
        results; then drop the slots ``dead``.

        Each call is ``(fn, chunk_calls, keys, ret)``: ``fn`` on each
        ``(chunk, args)`` of ``chunk_calls``, its outputs kept in the slots
        ``keys``, preceded by one returned if ``ret`` (see
        :meth:`LocalExecutor.run`). The slots dropped last: a call queued
        before a vector was released may still read it.
        """
        slots = self.slots
        out = None
        try:
            for fn, calls, keys, ret in batch:
                out = []
                for i, args in calls:
                    vals = [slots[a.key][a.i] if type(a) is Slot else a
                            for a in args]
                    r = fn(*vals)
                    if ret:
                        out.append(r[0] if keys else r)
                        r = r[1:] if keys else ()
                    elif len(keys) == 1:
                        r = (r,)
                    for k, v in zip(keys, r, strict=True):
                        slots.setdefault(k, {})[i] = v
        finally:
            for k in dead:
                slots.pop(k, None)
        return out


def release_actors(futures, proxies):
    """End the actors of ``futures`` now: each actor's proxy holds a future
    of its own, kept alive by a reference cycle inside the proxy until the
    next garbage collection, so all are released by hand."""
    for f in futures:
        f.release()
    for a in proxies:
        f = getattr(a, "_future", None)
        if f is not None:
            f.release()


class ActorExecutor:
    """Chunks held by the :class:`ChunkStore` actors of a ``distributed``
    cluster, one per worker.

    A call whose results stay on the workers (``X w``, ``s * t``, ...) is
    queued, and the queue goes with the next call that brings something
    back, in one message per store, run in order: a round trip per result
    the solver waits for, not per operation (the subspace step's iteration
    makes about 20 calls, 9 of them with a result).
    """

    def __init__(self, actors, owner):
        self.actors = list(actors)
        self.owner = list(owner)  # the actor of each chunk
        self._mine = [[i for i, o in enumerate(self.owner) if o == a]
                      for a in range(len(self.actors))]
        self.dead = []
        self.pending = []
        self._next = SW_KEY + 1

    def run(self, fn, arg_lists, n_keep, ret):
        keys = list(range(self._next, self._next + n_keep))
        self._next += n_keep
        n = len(self.owner)
        kept = [[Slot(k, i) for i in range(n)] for k in keys]
        # a queued call is serialised later: the solver's O(d) arrays may be
        # updated in place meanwhile, so it keeps copies of them
        arg_lists = [[a.copy() if isinstance(a, np.ndarray) else a for a in args]
                     for args in arg_lists]
        self.pending.append((fn, arg_lists, keys, ret))
        if not ret:
            return None, kept
        ops, self.pending = self.pending, []
        dead, self.dead = self.dead, []
        calls = []
        for actor, idx in zip(self.actors, self._mine, strict=True):
            if idx:
                batch = [(f, [(i, al[i]) for i in idx], k, r)
                         for f, al, k, r in ops]
                calls.append((idx, actor.run(batch, dead)))
        out = [None] * n
        for idx, fut in calls:
            for i, r in zip(idx, fut.result(), strict=True):
                out[i] = r
        return out, kept

    def release(self, parts):
        # sent with the next call: a finaliser must not talk to the cluster;
        # the chunks of X stay until the stores close
        if parts and type(parts[0]) is Slot and parts[0].key != X_KEY:
            self.dead.append(parts[0].key)

    def close(self):
        """End the stores, and with them their chunks (the fit is over: a
        cycle of references could keep them on the workers until the next
        garbage collection)."""
        release_actors(getattr(self, "futures", ()), self.actors)
        self.futures = []
        self.actors = []
        self.pending = []


class _XChunk:
    """Stands for the chunk of ``X`` in the arguments of a per-chunk task."""


X_CHUNK = _XChunk()


class Chunks:
    """The row chunks of ``X`` (dense or CSR) and how to reach them.

    Parameters
    ----------
    executor : LocalExecutor or ActorExecutor
    parts : list
        One part per chunk (an array, or a :class:`Slot` of one), in row
        order.
    n_rows, nnz : list of int
        Rows and stored values of each chunk.
    n_features : int
    sparse : bool
    dtype : numpy dtype
    """

    def __init__(self, executor, parts, n_rows, nnz, n_features, sparse, dtype):
        self.executor = executor
        self.parts = list(parts)
        self.n_rows = [int(k) for k in n_rows]
        self.nnz = int(sum(nnz))
        self.shape = (int(sum(self.n_rows)), int(n_features))
        self.sparse = bool(sparse)
        self.dtype = np.dtype(dtype)

    def __len__(self):
        return len(self.parts)

    def close(self):
        self.executor.close()
        self.parts = []

    def _args(self, i, args):
        out = []
        for a in args:
            if a is X_CHUNK:
                out.append(self.parts[i])
            elif isinstance(a, Rows):
                out.append(a.parts[i])
            else:
                out.append(a)
        return out

    def _run(self, fn, args, n_keep, ret):
        return self.executor.run(fn, [self._args(i, args)
                                      for i in range(len(self))], n_keep, ret)

    def map(self, fn, *args):
        """``fn(*args)`` on every chunk (``X_CHUNK`` and :class:`Rows`
        arguments replaced by the chunk's part); its parts, kept with the
        chunks."""
        return self._run(fn, args, 1, False)[1][0]

    def reduce(self, fn, *args, n_keep=0):
        """``fn(*args)`` on every chunk, its results brought to the driver in
        chunk order; with ``n_keep``, ``fn`` returns ``(result, *kept)`` and
        the parts of the kept outputs follow the results."""
        res, kept = self._run(fn, args, n_keep, True)
        return (res, *kept) if n_keep else res

    def rows(self, parts):
        return Rows(self, parts)

    def column_max_abs(self, columns=None, n_features=None):
        """``max_i |x_ij|`` per column (of ``columns``), chunk by chunk."""
        tops = self.reduce(column_max_abs, X_CHUNK, columns, self.shape[1])
        return np.max(np.stack(tops), axis=0) if tops else np.zeros(0)


def _ordered_sum(values):
    """The values added in chunk order (fixed rounding)."""
    it = iter(values)
    total = next(it)
    total = total.copy() if isinstance(total, np.ndarray) else total
    for v in it:
        total = total + v
    return total


def _dot(a, b):
    return float(np.dot(a, b))


def _max_abs_where(z, s):
    if s is not None:
        z = z[s > 0]
    return float(np.max(np.abs(z), initial=0.0))


class Rows:
    """A vector with one entry per row, in parts kept with the row chunks.

    Supports what the solvers do with per-row arrays: arithmetic with
    scalars and other ``Rows`` (also in place, which rebinds the parts),
    ``@`` (a sum over the chunks, in chunk order), ``abs``, comparisons.
    """

    # numpy scalars and arrays defer to the reflected operators
    __array_ufunc__ = None

    def __init__(self, chunks, parts):
        self.chunks = chunks
        self.parts = list(parts)

    def __del__(self):
        self.chunks.executor.release(self.parts)

    def _rebind(self, parts):
        """Make ``parts`` this vector's (an in-place update)."""
        self.chunks.executor.release(self.parts)
        self.parts = list(parts)

    @property
    def shape(self):
        return (self.chunks.shape[0],)

    def map(self, fn, *args):
        """``Rows`` of ``fn(part, *args)`` (``Rows`` arguments by part)."""
        return Rows(self.chunks, self.chunks.map(fn, self, *args))

    def _bin(self, op, other):
        return self.map(op, other)

    def _rbin(self, op, other):
        return self.map(_flip, op, other)

    def __mul__(self, o):
        return self._bin(operator.mul, o)

    def __rmul__(self, o):
        return self._rbin(operator.mul, o)

    def __add__(self, o):
        return self._bin(operator.add, o)

    def __radd__(self, o):
        return self._rbin(operator.add, o)

    def __sub__(self, o):
        return self._bin(operator.sub, o)

    def __rsub__(self, o):
        return self._rbin(operator.sub, o)

    def __truediv__(self, o):
        return self._bin(operator.truediv, o)

    def __gt__(self, o):
        return self._bin(operator.gt, o)

    def __neg__(self):
        return self.map(operator.neg)

    def __abs__(self):
        return self.map(np.abs)

    def __imul__(self, o):
        self._rebind(self.chunks.map(operator.mul, self, o))
        return self

    def __matmul__(self, o):
        return _ordered_sum(self.chunks.reduce(_dot, self, o))

    def __getitem__(self, key):
        """Column ``j`` of a per-row matrix: ``T[:, j]`` (a copy)."""
        return self.map(_get_item, key)

    def __setitem__(self, key, value):
        """``T[:, j] = value`` (another ``Rows``, or a scalar), in place."""
        self._rebind(self.chunks.map(_set_item, self, key, value))

    def sum(self):
        return _ordered_sum(self.chunks.reduce(_sum, self))

    def combine(self, cols, c):
        """``sum_j c_j T[:, cols[j]]`` of a per-row matrix, chunk by chunk
        (:func:`~._margins.combine_columns`)."""
        return self.map(combine_columns, cols, c)

    def scale_eval(self, code, inv_norm, y, s, g, b, second):
        """:func:`~._margins.scale_eval` on margins in row chunks."""
        return _ordered_sum(self.chunks.reduce(scale_eval, code, self, inv_norm,
                                               y, s, g, b, second))

    def max_abs(self, where=None):
        """``max |z_i|`` (over the rows with ``where > 0``, if given)."""
        return max(self.chunks.reduce(_max_abs_where, self, where), default=0.0)

    def weighted_rms(self, s):
        """``sqrt(sum s z^2)``: each chunk's by
        :func:`skbnorm._validation.weighted_rms`, combined as that function
        combines rows (scaled by the largest, so that nothing is squared
        out of float64)."""
        rms = np.array(self.chunks.reduce(weighted_rms, self, s))
        return float(weighted_rms(rms[:, None], np.ones(rms.size))[0])


def _flip(a, op, b):
    return op(b, a)


def _get_item(part, key):
    return np.array(part[key])


def _set_item(part, key, value):
    part[key] = value
    return part


def _sum(part):
    return float(np.sum(part))


# -- per-chunk tasks (module level: a worker imports them by name) ----------

def _chunk_matvec(X, xbar, w):
    return Design(X, xbar).matvec(w, np.empty(X.shape[0]))


def _chunk_rmatvec(X, xbar, a):
    return Design(X, xbar).rmatvec(a, np.empty(X.shape[1]))


def _chunk_value_grad(X, xbar, code, y, s, coef, b):
    g = np.empty(X.shape[1])
    f, sum_r = Design(X, xbar).value_grad(code, y, s, 0.0, coef, b, g)
    return f, sum_r, g


def _chunk_column_sq_means(X, s):
    return Design(X).column_sq_means(s)


def _chunk_hessian(X, xbar, h, intercept):
    return Design(X, xbar).hessian(h, intercept)


def _chunk_margin_pass(code, t, scale, b, y, s, want_r2):
    r = np.empty(t.shape[0])
    r2 = np.empty(t.shape[0] if want_r2 else 0)
    sums = margin_pass(code, t, scale, b, y, s, r, r2)
    return np.array(sums), r, r2


def _chunk_loss_rmatvec2(X, xbar, code, t, scale, b, y, s, r, r2, want_Sw, w,
                         have_r):
    d = X.shape[1]
    G = np.empty(d)
    Sw = np.empty(d) if want_Sw else None
    sums = Design(X, xbar).loss_rmatvec2(code, t, scale, b, y, s, r, r2, G, Sw,
                                         w, have_r)
    return np.array(sums), G, Sw


def _chunk_subspace_eval(code, T, cols, c, b, y, s, r, r2, cached):
    out = subspace_eval(code, T, cols, c, b, y, s, r, r2, cached)
    return out if cached else (out, None)


def _chunk_row_pair_count(X):
    return Design(X).row_pair_count()


def _chunk_empty(X, width):
    return np.empty(X.shape[0] if width is None else (X.shape[0], width))


def _chunk_wsq(t, s):
    return _wsq(t, s)


def _chunk_full(X, value, width):
    shape = X.shape[0] if width is None else (X.shape[0], width)
    return np.full(shape, value, dtype=np.float64)


class ChunkedDesign:
    """A :class:`~._design.Design` of ``X`` in row chunks (see the module).

    Parameters
    ----------
    chunks : Chunks
    xbar : ndarray of shape (n_features,), default=None
    """

    chunked = True

    def __init__(self, chunks, xbar=None):
        self.chunks = chunks
        self.X = chunks
        self.shape = chunks.shape
        self.nnz = chunks.nnz
        self.sparse = chunks.sparse
        d = self.shape[1]
        self.xbar = np.zeros(d) if xbar is None else np.asarray(xbar, np.float64)
        self._constant = None

    # the per-row vectors

    def empty_rows(self, width=None):
        """A per-row vector to be written by a pass (allocated on the
        workers: the kernels write their outputs in place)."""
        return Rows(self.chunks, self.chunks.map(_chunk_empty, X_CHUNK, width))

    def full_rows(self, value, width=None):
        return Rows(self.chunks, self.chunks.map(_chunk_full, X_CHUNK, value,
                                                 width))

    def weighted_sq_norm(self, t, s):
        return _ordered_sum(self.chunks.reduce(_chunk_wsq, t, s))

    def margin_pass(self, code, t, scale, b, y, s, r, r2):
        want_r2 = isinstance(r2, Rows)
        sums, r_parts, r2_parts = self.chunks.reduce(
            _chunk_margin_pass, code, t, scale, b, y, s, want_r2, n_keep=2)
        r._rebind(r_parts)
        if want_r2:
            r2._rebind(r2_parts)
        else:
            Rows(self.chunks, r2_parts)  # released at once: nothing kept
        total = _ordered_sum(sums)
        return total[0], total[1], total[2], total[3]

    def subspace_eval(self, code, T, cols, c, b, y, s, r, r2, cached=False):
        outs, grams = zip(*self.chunks.reduce(
            _chunk_subspace_eval, code, T, cols, c, b, y, s, r, r2, cached),
            strict=True)
        out = _ordered_sum(outs)
        return (out, _ordered_sum(grams)) if cached else out

    def fill_subspace(self, T, t, inv, tg, tp, has_dir, have_p):
        """:func:`~._margins.fill_subspace` (its column operations, on the
        chunks)."""
        fill_subspace(T, t, inv, tg, tp, has_dir, have_p)

    def combine_pair(self, T, cols, c, dc, s):
        """:func:`~._margins.combine_pair` with the chunks' own operations."""
        tt = T.combine(cols, c)
        tp = T.combine(cols, dc)
        return tt, tp, self.weighted_sq_norm(tt, s), self.weighted_sq_norm(tp, s)

    def row_pair_count(self):
        return _ordered_sum(self.chunks.reduce(_chunk_row_pair_count, X_CHUNK))

    # the passes over X

    def loss_rmatvec2(self, code, t, scale, b, y, s, r, r2, G, Sw, w=None,
                      have_r=False):
        """:meth:`~._design.Design.loss_rmatvec2`, chunk by chunk (``t``,
        ``r``, ``r2`` written in place where the chunks are)."""
        res = self.chunks.reduce(_chunk_loss_rmatvec2, X_CHUNK, self.xbar, code,
                                 t, scale, b, y, s, r, r2, Sw is not None, w,
                                 have_r)
        sums = _ordered_sum(r[0] for r in res)
        G[:] = _ordered_sum(r[1] for r in res)
        if Sw is not None:
            Sw[:] = _ordered_sum(r[2] for r in res)
        return sums[0], sums[1], sums[2], sums[3], sums[4], sums[5]

    def matrix(self):
        raise TypeError("a chunked design has no matrix on the driver")

    def matvec(self, w, out):
        out._rebind(self.chunks.map(_chunk_matvec, X_CHUNK, self.xbar, w))
        return out

    def rmatvec(self, a, out):
        out[:] = _ordered_sum(self.chunks.reduce(_chunk_rmatvec, X_CHUNK,
                                                 self.xbar, a))
        return out

    def value_grad(self, code, y, s, alpha, coef, b, grad):
        res = self.chunks.reduce(_chunk_value_grad, X_CHUNK, self.xbar, code, y,
                                 s, coef, b)
        f = _ordered_sum(r[0] for r in res)
        sum_r = _ordered_sum(r[1] for r in res)
        grad[:] = _ordered_sum(r[2] for r in res)
        grad += alpha * coef
        return f + 0.5 * alpha * float(coef @ coef), sum_r

    def column_sq_means(self, s):
        return _ordered_sum(self.chunks.reduce(_chunk_column_sq_means, X_CHUNK,
                                               s))

    constant_columns = Design.constant_columns

    def hessian(self, h, intercept):
        H = _ordered_sum(self.chunks.reduce(_chunk_hessian, X_CHUNK, self.xbar,
                                            h, intercept))
        d = self.shape[1]
        # each chunk's matrix is symmetric; their sum is made so exactly
        C = np.triu(H[:d, :d])
        H[:d, :d] = C + np.triu(C, 1).T
        return H


@contextlib.contextmanager
def released(X):
    """Close ``X``'s chunks when the block ends, if ``X`` is :class:`Chunks`."""
    try:
        yield
    finally:
        if isinstance(X, Chunks):
            X.close()


def is_chunked(X):
    """Whether ``X`` is the :class:`Chunks` of a dask array."""
    return isinstance(X, Chunks)
