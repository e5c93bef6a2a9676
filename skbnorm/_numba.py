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

Waiting threads sleep: unless the user has chosen otherwise, importing the
package sets ``OMP_WAIT_POLICY=PASSIVE`` for the OpenMP runtime numba loads
on its first parallel launch. GNU OpenMP's default busy-waiting makes a
parallel pass collapse when the cores are shared: one gradient on a9a took
48 ms instead of 1.6 ms with another process busy on one of the two cores
(passive: 1.6 ms; quiet machine: the same speed either way). The setting is
read once, when the runtime loads; it does not touch runtimes already loaded.
"""

import os

import numba

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def jit(func):
    """Compile ``func`` with the package's numba policy (cached, no fastmath)."""
    return numba.njit(cache=True, nogil=True)(func)


def pjit(func):
    """Like :func:`jit`, with ``parallel=True`` for its ``prange`` loops."""
    return numba.njit(cache=True, nogil=True, parallel=True)(func)


def jit_reassoc(func):
    """Like :func:`jit`, letting LLVM reassociate (vectorise) the sums."""
    return numba.njit(cache=True, nogil=True, fastmath={"reassoc"})(func)
