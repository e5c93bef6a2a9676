"""``lambda_max(S)`` by Lanczos, for the step sizes of the first-order solvers."""

import math

import numpy as np
import scipy.linalg as sla

from ..objectives._design import dot


def lanczos_lmax(design, s, n_steps):
    """Largest eigenvalue of ``S = X_c^T diag(s) X_c`` by Lanczos.

    ``n_steps`` steps with full reorthogonalisation from a fixed start vector;
    the largest Ritz value converges fast to ``lambda_max`` for the
    few-hundred-dimensional problems at hand. Each step costs a pass
    ``X_c q`` and a pass ``X_c^T (s t)``; the iteration stops once the
    largest Ritz value no longer moves.
    """
    n, d = design.shape
    k = min(n_steps, d)
    Q = np.zeros((k + 1, d))
    alphas = np.zeros(k)
    betas = np.zeros(k)
    # a fixed, non-symmetric start so that no eigenvector is missed by symmetry
    q = 1.0 + 0.5 * np.sin(1.0 + 3.7 * np.arange(d))
    q /= math.sqrt(dot(q, q))
    Q[0] = q
    t = design.empty_rows()
    v = np.empty(d)
    m = 0
    prev_top = -1.0
    for it in range(k):
        design.matvec(Q[it], t)
        t *= s
        design.rmatvec(t, v)
        a = dot(v, Q[it])
        alphas[it] = a
        m = it + 1
        for _ in range(2):  # full reorthogonalisation, twice is enough
            for p in range(it + 1):
                v -= dot(v, Q[p]) * Q[p]
        beta = math.sqrt(dot(v, v))
        betas[it] = beta
        if beta <= 1e-12 * max(abs(a), 1e-300) or it == k - 1:
            break
        if it >= 4 and it % 3 == 1:
            top = _top_ritz(alphas, betas, m)
            if abs(top - prev_top) <= 1e-13 * abs(top):
                break
            prev_top = top
        Q[it + 1] = v / beta
    return max(_top_ritz(alphas, betas, m), 0.0)


def _top_ritz(alphas, betas, m):
    """Largest eigenvalue of the leading m x m Lanczos tridiagonal matrix."""
    if m == 1:
        return float(alphas[0])
    return float(sla.eigvalsh_tridiagonal(alphas[:m], betas[:m - 1],
                                          select="i",
                                          select_range=(m - 1, m - 1))[0])
