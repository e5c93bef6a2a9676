"""One place for the numba compilation policy of every kernel.

Every kernel is serial, ``nogil`` and cached to disk (``cache=True``), so
that a second process does not recompile it; parallelism comes from
:mod:`skbnorm._threads`, which runs a kernel on several row blocks at once.

``jit``
    The default: no fast-math, because the kernels evaluate ``exp`` and
    ``log`` and rely on IEEE semantics for their NaN/inf guards.
``jit_reassoc``
    Innermost dense dot products only: ``reassoc`` lets LLVM vectorise the
    sum (SIMD lanes, a fixed order for a given build) and nothing else; NaN
    and inf keep their IEEE meaning.

Kernels take a design either as a dense array or as a CSR record and are
written against the row primitives of :mod:`skbnorm.objectives._rows`, which
numba resolves at compile time: a specialisation compiles only the branch
its design needs.
"""

import numba

#: options of every compiled function (also given to the row overloads)
JIT_OPTIONS = {"cache": True, "nogil": True}


def jit(func):
    """Compile ``func`` with the package's numba policy (cached, no fastmath)."""
    return numba.njit(**JIT_OPTIONS)(func)


def jit_reassoc(func):
    """Like :func:`jit`, letting LLVM reassociate (vectorise) the sums."""
    return numba.njit(fastmath={"reassoc"}, **JIT_OPTIONS)(func)
