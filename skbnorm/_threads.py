"""The package's own thread pool for passes over row blocks.

Every pass over the rows of ``X`` is a serial numba kernel (``nogil``) that
processes a range of *blocks*: the rows are split into
:func:`n_blocks` blocks, a number fixed by the shape of the problem alone,
each block writes its own partial result, and the partials are added in
block order afterwards. A result is therefore the same bit for bit whatever
the number of threads, and from run to run.

Why not numba's ``parallel=True``:

* compile time -- a ``prange`` kernel takes about 0.4 s to compile here
  against 0.07-0.1 s for the same loop without it (measured, numba 0.68), and
  the old core had a dozen of them: 20 s of a 29 s cold first fit;
* oversubscription -- numba's OpenMP layer busy-waits between parallel
  regions; two fits started in two processes on two cores each took 19-30
  times their time alone. The workers here block on a queue when idle, so
  sharing the cores costs what sharing costs (about 2x), never more.

The price is the latency of waking a worker (about 45 us measured here), so
passes over fewer than :data:`MIN_PARALLEL_WORK` stored values run in the
calling thread. The number of threads is ``NUMBA_NUM_THREADS`` when set
(joblib's process backends set it in their workers, so a grid search does
not oversubscribe the cores), else the number of usable cores.
"""

import os
import queue
import threading

import numpy as np

from ._numba import jit

#: a block has at least this many rows: a smaller share of a pass costs less
#: than handing it to a thread
MIN_BLOCK_ROWS = 512
#: more blocks than this buys no balance on any machine we target, and the
#: serial reduction of the partial sums costs ``n_blocks * d``
MAX_BLOCKS = 64
#: a pass of less work than this (in stored values read; a row of an O(n)
#: pass with a transcendental function counts as :data:`ROW_WORK`) runs in
#: the calling thread: waking a worker costs about as much as the work
MIN_PARALLEL_WORK = 1 << 16
#: the work the calling thread does while a worker wakes up (about 30 us)
WAKE_WORK = 30000
#: the work of one row of an O(n) pass over margins (``exp``/``log1p`` take
#: about 20 ns, a stored value of ``X`` about 1 ns, measured)
ROW_WORK = 16


def n_blocks(n, d, nnz):
    """Number of row blocks of a pass over ``nnz`` entries of an ``n x d`` design.

    A function of the shape alone, so that the partial sums, and hence every
    result, do not depend on the number of threads. The serial reduction of
    the ``n_blocks x d`` partial sums is kept below an eighth of the pass.
    """
    nb = min(int(n) // MIN_BLOCK_ROWS, MAX_BLOCKS)
    if d > 0:
        nb = min(nb, int(nnz) // (8 * int(d)))
    return max(nb, 1)


@jit
def block_sum(part, out):
    """``out[q] <- sum_blk part[blk, q]``, added in block order (fixed rounding)."""
    out[:] = 0.0
    for blk in range(part.shape[0]):
        for q in range(part.shape[1]):
            out[q] += part[blk, q]


def _default_threads():
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class _Pool:
    """Daemon workers, each with its own job queue; the caller works too."""

    def __init__(self, n_threads):
        self.n_threads = n_threads
        self.queues = []
        for _ in range(n_threads - 1):
            q = queue.SimpleQueue()
            threading.Thread(target=self._work, args=(q,), daemon=True).start()
            self.queues.append(q)

    @staticmethod
    def _work(q):
        while True:
            kernel, args, done, errors = q.get()
            try:
                kernel(*args)
            except BaseException as exc:  # re-raised in the calling thread
                errors.append(exc)
            done.release()


_state = {"pool": None, "n_threads": None}
_lock = threading.Lock()


def _reset_after_fork():
    # threads do not survive fork: a child process starts its own pool
    _state["pool"] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def get_num_threads():
    """Number of threads the passes over ``X`` use."""
    if _state["n_threads"] is None:
        _state["n_threads"] = _default_threads()
    return _state["n_threads"]


def set_num_threads(n_threads):
    """Set the number of threads of the passes (results do not depend on it)."""
    n_threads = int(n_threads)
    if n_threads < 1:
        raise ValueError(f"n_threads must be at least 1; got {n_threads}.")
    with _lock:
        _state["n_threads"] = n_threads
        _state["pool"] = None


def _pool():
    pool = _state["pool"]
    n = get_num_threads()
    if pool is None or pool.n_threads != n:
        with _lock:
            pool = _state["pool"]
            if pool is None or pool.n_threads != n:
                pool = _state["pool"] = _Pool(n)
    return pool


def run_blocks(kernel, args, nb, work):
    """Call ``kernel(*args, b0, b1)`` on block ranges covering ``0 .. nb``.

    ``work`` (stored values the pass reads) decides whether the blocks are
    shared among threads; the blocks themselves, and so the result, are the
    same either way.
    """
    n_threads = min(get_num_threads(), nb)
    if n_threads <= 1 or work < MIN_PARALLEL_WORK:
        kernel(*args, 0, nb)
        return
    pool = _pool()
    n_threads = min(n_threads, pool.n_threads)
    # the workers start a wake-up later than the caller: give the caller the
    # share of blocks it can do meanwhile (which thread computes which block
    # changes no result)
    head = min(0.5, WAKE_WORK / work) if work > 0 else 0.0
    share = (1.0 + head * (n_threads - 1)) / n_threads
    first = min(nb - (n_threads - 1), max(1, int(round(share * nb))))
    bounds = [0, first] + [first + (nb - first) * t // (n_threads - 1)
                           for t in range(1, n_threads)]
    done = threading.Semaphore(0)
    errors = []
    for t in range(1, n_threads):
        pool.queues[t - 1].put((kernel, (*args, bounds[t], bounds[t + 1]),
                                done, errors))
    try:
        kernel(*args, bounds[0], bounds[1])
    finally:
        for _ in range(1, n_threads):
            done.acquire()
    if errors:
        raise errors[0]


class _BlasLimit:
    """BLAS on one thread while the package's threads run the passes.

    OpenBLAS's own threads spin after each call; left at their default they
    competed with the package's threads for the cores (measured: the O(n)
    passes after a multithreaded BLAS Hessian lost their two-thread
    speed-up). The dense Hessian and the factorisations run their BLAS
    calls on the package's threads instead.
    """

    controller = None

    def __init__(self, work):
        self.work = work

    def __enter__(self):
        # also with one thread of ours, so that results do not depend on how
        # many threads BLAS would use; but not for problems too small to be
        # shared among threads, whose BLAS calls OpenBLAS runs on one thread
        # anyway (and the limit costs 20-50 us)
        if self.work < MIN_PARALLEL_WORK:
            self.ctx = None
            return self
        if _BlasLimit.controller is None:
            from threadpoolctl import ThreadpoolController

            _BlasLimit.controller = ThreadpoolController()
        self.ctx = _BlasLimit.controller.limit(limits=1, user_api="blas")
        self.ctx.__enter__()
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.__exit__(*exc)
        return False


def blas_single_thread(work=MIN_PARALLEL_WORK):
    """Context manager: BLAS limited to one thread (see :class:`_BlasLimit`).

    ``work``: the stored values of the design; below
    :data:`MIN_PARALLEL_WORK` nothing is changed.
    """
    return _BlasLimit(work)


def partials(nb, width):
    """Zeroed per-block partial sums (``nb x width``)."""
    return np.zeros((nb, width))
