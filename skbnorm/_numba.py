"""One place for the numba compilation policy of every kernel.

Kernels are cached to disk (``cache=True``) so that a second process does not
recompile them. ``fastmath`` is never enabled: the kernels evaluate ``exp`` and
``log`` and rely on IEEE semantics for their NaN/inf guards, and a fit must be
reproducible bit for bit.
"""

import numba


def jit(func):
    """Compile ``func`` with the package's numba policy (cached, no fastmath)."""
    return numba.njit(cache=True, nogil=True)(func)
