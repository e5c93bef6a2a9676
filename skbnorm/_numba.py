"""One place for the numba compilation policy of every kernel.

Kernels are cached to disk (``cache=True``) so that a second process does not
recompile them. Two decorators:

``jit``
    Serial kernels. No fast-math: the kernels evaluate ``exp`` and ``log``
    and rely on IEEE semantics for their NaN/inf guards.
``pjit``
    Kernels with a ``prange`` over a fixed partition of the rows
    (:func:`skbnorm.objectives._linear.n_blocks`). Every partial sum is
    reduced serially in block order, never by numba's reduction machinery
    (whose order follows the threads), so a fit is bit-identical whatever the
    number of threads.
``jit_reassoc``
    Innermost dense dot products only: ``reassoc`` lets LLVM vectorise the
    sum (SIMD lanes, a fixed order for a given build) and nothing else; NaN
    and inf keep their IEEE meaning.

The number of threads is numba's (``NUMBA_NUM_THREADS``,
``numba.set_num_threads``); joblib's process-based backends set
``NUMBA_NUM_THREADS`` in their workers so that a grid search does not
oversubscribe the cores.

Oversubscription: GNU OpenMP's threads busy-wait between parallel regions,
which is what makes a sub-millisecond pass scale (one scale-search pass on
a9a: 0.91 ms on one thread, 0.48 ms on two), and also what makes a pass
collapse when more threads than cores compete (48 ms instead of 1.6 ms for
one a9a gradient with other multithreaded work on both cores). Sleeping
threads (``OMP_WAIT_POLICY=PASSIVE``) avoid the collapse but wake too slowly
to gain anything at that size here (0.81 ms on two threads), so the package
leaves the policy alone; under oversubscription set ``NUMBA_NUM_THREADS=1``
(joblib's process backends do) or ``OMP_WAIT_POLICY=PASSIVE``.
"""

import numba


def jit(func):
    """Compile ``func`` with the package's numba policy (cached, no fastmath)."""
    return numba.njit(cache=True, nogil=True)(func)


def pjit(func):
    """Like :func:`jit`, with ``parallel=True`` for its ``prange`` loops."""
    return numba.njit(cache=True, nogil=True, parallel=True)(func)


def jit_reassoc(func):
    """Like :func:`jit`, letting LLVM reassociate (vectorise) the sums."""
    return numba.njit(cache=True, nogil=True, fastmath={"reassoc"})(func)
