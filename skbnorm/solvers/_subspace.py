r"""gdnp's Rayleigh--Ritz directional step: Newton on a small subspace.

Kohler et al.'s directional step moves ``w`` along ``-grad_w f`` by a step
length taken from a model of the objective, then searches the scale. The
objective is invariant to the length of ``w``, so the scale search and the
step can be done together and exactly on a subspace: with ``v_0 = w/||w||_S``,
``v_1 = grad_w f`` and ``v_2 = p`` the previous move (``v_1`` and ``v_2``
scaled to unit ``S``-norm: the subproblem stays well scaled as the gradient
vanishes),

.. math::

    \min_{c, b}\; \sum_i s_i\, l\big(\textstyle\sum_j c_j\, x_{ci}^\top v_j
    + b,\ y_i\big) + \frac{\alpha}{2}\, c^\top Q c,
    \qquad Q_{jk} = v_j^\top v_k,

and ``w~ <- sum_j c_j v_j`` (``g = ||w~||_S``, ``w = w~/g``). The margins
``x_ci^T v_j`` are cached (``v_0``'s are the current ones, ``v_2``'s are
combined from the last iteration's), so a Newton step on ``(c, b)`` costs one
O(n) pass; an iteration reads ``X`` twice, for ``grad`` and the margins of
``v_1``, as gdnp's does. On ``span{v_0, v_1}`` alone it is the Rayleigh--Ritz
step of eigensolvers; ``v_2`` adds the momentum of LOBPCG.

The free coefficient on ``v_0`` is the length--direction decoupling: without
it (``w~ <- w~ + c_1 v_1 + c_2 v_2``, ``b`` moved along the same two
directions) the step is the conjugate gradient method with an exact
two-dimensional search. The free length costs CG's finite termination on a
quadratic (least squares without intercept, ``d = 8``: gradient norm 0.035
after ``d + 2`` steps against CG's 4e-15) and gains on logistic regression:
to a relative suboptimality of 1e-6, 96 iterations against 111 on centered
a9a and 675 against 1023 on raw a9a with an intercept (this step against a
NumPy prototype of the CG variant, same start).

The subproblem is solved by Newton's method with Armijo backtracking (a
gradient step when the Hessian is not positive definite), started from the
current iterate ``c = (g, 0, 0)``, so the objective never increases. Convex
losses only: the sigmoid's subproblem is not convex.
"""

import math

import numpy as np
from numba import prange

from .._numba import jit, pjit
from ..objectives._linear import block_sum, n_blocks
from ..objectives._losses import loss_derivs

#: the subspace holds at most three directions; with the intercept, four unknowns
MAX_DIM = 4


@jit
def _subspace_rows(code, T, c, b, y, s, r, r2, cached, lo, hi, out):
    """Rows ``lo:hi`` of :func:`subspace_eval`, into ``out`` (length 15).

    With ``cached`` the per-row ``r = s l'`` and ``r2 = s l''`` are read
    instead of evaluated (and the loss, ``out[0]``, is left at 0); otherwise
    they are evaluated at the margins ``T c + b`` and stored.
    """
    c0 = c[0]
    c1 = c[1]
    c2 = c[2]
    f = g0 = g1 = g2 = g3 = 0.0
    h00 = h01 = h02 = h03 = h11 = h12 = h13 = h22 = h23 = h33 = 0.0
    for i in range(lo, hi):
        z0 = T[i, 0]
        z1 = T[i, 1]
        z2 = T[i, 2]
        if cached:
            r1 = r[i]
            q2 = r2[i]
        else:
            val, d1, d2 = loss_derivs(code, c0 * z0 + c1 * z1 + c2 * z2 + b,
                                      y[i])
            si = s[i]
            f += si * val
            r1 = si * d1
            q2 = si * d2
            r[i] = r1
            r2[i] = q2
        g0 += r1 * z0
        g1 += r1 * z1
        g2 += r1 * z2
        g3 += r1
        a0 = q2 * z0
        a1 = q2 * z1
        a2 = q2 * z2
        h00 += a0 * z0
        h01 += a0 * z1
        h02 += a0 * z2
        h03 += a0
        h11 += a1 * z1
        h12 += a1 * z2
        h13 += a1
        h22 += a2 * z2
        h23 += a2
        h33 += q2
    out[0] = f
    out[1] = g0
    out[2] = g1
    out[3] = g2
    out[4] = g3
    out[5] = h00
    out[6] = h01
    out[7] = h02
    out[8] = h03
    out[9] = h11
    out[10] = h12
    out[11] = h13
    out[12] = h22
    out[13] = h23
    out[14] = h33


#: positions of the Hessian's upper triangle in :func:`subspace_eval`'s output
_UPPER = ((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 2),
          (2, 3), (3, 3))


@pjit
def subspace_eval(code, T, c, b, y, s, r, r2, out):
    """Loss, gradient and Hessian in ``(c_0, c_1, c_2, b)`` on the cached margins.

    ``r`` and ``r2`` receive the per-row ``s l'`` and ``s l''``: those of the
    accepted point serve the next iteration's gradient.

    ``T`` is ``n x 3`` (a column of zeros for an unused direction). ``out``
    (length 15) receives ``[f, grad (4), Hessian's upper triangle (10)]``,
    reduced over fixed row blocks in order: bit-identical whatever the number
    of threads.
    """
    n = T.shape[0]
    nb = n_blocks(n, 1, n)
    part = np.zeros((nb, 15))
    if nb == 1:
        _subspace_rows(code, T, c, b, y, s, r, r2, False, 0, n, part[0])
    else:
        for blk in prange(nb):
            _subspace_rows(code, T, c, b, y, s, r, r2, False, blk * n // nb,
                           (blk + 1) * n // nb, part[blk])
    block_sum(part, out)


@pjit
def subspace_eval_cached(T, r, r2, out):
    """:func:`subspace_eval`'s derivatives from per-row ``r = s l'``, ``r2 = s l''``.

    At the current iterate the margin pass has already evaluated the loss's
    derivatives row by row; this contracts them with the cached margins in
    one pass without a transcendental function. ``out[0]`` (the loss) is
    left at 0 for the caller.
    """
    n = T.shape[0]
    nb = n_blocks(n, 1, n)
    part = np.zeros((nb, 15))
    # with cached=True the loss code, c, b, y and s are not read
    c = np.zeros(3)
    if nb == 1:
        _subspace_rows(0, T, c, 0.0, r, np.empty(0), r, r2, True, 0, n,
                       part[0])
    else:
        for blk in prange(nb):
            _subspace_rows(0, T, c, 0.0, r, np.empty(0), r, r2, True,
                           blk * n // nb, (blk + 1) * n // nb, part[blk])
    block_sum(part, out)


@jit
def _cholesky_solve(H, rhs, m, x):
    """Solve ``H x = rhs`` for a small symmetric ``H``; False if not PD."""
    L = np.zeros((MAX_DIM, MAX_DIM))
    for j in range(m):
        acc = H[j, j]
        for q in range(j):
            acc -= L[j, q] * L[j, q]
        if not acc > 0.0:
            return False
        L[j, j] = math.sqrt(acc)
        for i in range(j + 1, m):
            acc = H[i, j]
            for q in range(j):
                acc -= L[i, q] * L[j, q]
            L[i, j] = acc / L[j, j]
    tmp = np.zeros(MAX_DIM)
    for i in range(m):
        acc = rhs[i]
        for q in range(i):
            acc -= L[i, q] * tmp[q]
        tmp[i] = acc / L[i, i]
    for i in range(m - 1, -1, -1):
        acc = tmp[i]
        for q in range(i + 1, m):
            acc -= L[q, i] * x[q]
        x[i] = acc / L[i, i]
    return True


@jit
def _objective(code, T, k, c, b, y, s, r, r2, alpha, Q, fit_b, out, grad, H,
               evaluate):
    """The subproblem's value; its gradient and Hessian in ``(c_0..c_{k-1}, b)``.

    The unknowns are packed as ``[c_0, ..., c_{k-1}, b]``: ``m = k + 1``
    entries of ``grad`` and ``H`` are set. With ``evaluate`` False the sums
    already in ``out`` are used.
    """
    if evaluate:
        subspace_eval(code, T, c, b, y, s, r, r2, out)
    full = np.zeros((MAX_DIM, MAX_DIM))
    for q in range(10):
        i, j = _UPPER[q]
        full[i, j] = out[5 + q]
        full[j, i] = out[5 + q]
    # map (c_0..c_{k-1}, b) to the full (c_0, c_1, c_2, b) layout
    idx = np.empty(MAX_DIM, dtype=np.int64)
    for j in range(k):
        idx[j] = j
    idx[k] = 3
    m = k + 1
    f = out[0]
    for j in range(m):
        grad[j] = out[1 + idx[j]]
        for q in range(m):
            H[j, q] = full[idx[j], idx[q]]
    for j in range(k):
        qc = 0.0
        for q in range(k):
            qc += Q[j, q] * c[q]
            H[j, q] += alpha * Q[j, q]
        grad[j] += alpha * qc
        f += 0.5 * alpha * c[j] * qc
    if not fit_b:
        grad[k] = 0.0
        for j in range(m):
            H[j, k] = 0.0
            H[k, j] = 0.0
        H[k, k] = 1.0
    return f


@jit
def subspace_newton(code, T, k, c, b, y, s, r, r2, alpha, Q, fit_b, max_steps,
                    curvature, grad_tol, rel_gain, init):
    """Minimise the subproblem from ``(c, b)``; ``c`` is updated in place.

    ``init`` holds :func:`subspace_eval`'s sums at the start ``(c, b)``;
    ``r``, ``r2`` are overwritten by every trial. Returns ``(f, b, steps,
    fresh, sum_r)``: ``fresh`` tells whether ``r``, ``r2`` (and ``sum_r``)
    belong to the returned point, i.e. whether its last trial was accepted.

    Returns ``(f, b, steps)``. Each step is Newton's (a gradient step scaled
    by the Hessian's trace when the Hessian is not positive definite) with
    Armijo backtracking; at most ``max_steps`` steps.
    """
    m = k + 1
    out = np.empty(15)
    grad = np.empty(MAX_DIM)
    H = np.zeros((MAX_DIM, MAX_DIM))
    grad_n = np.empty(MAX_DIM)
    H_n = np.zeros((MAX_DIM, MAX_DIM))
    step = np.zeros(MAX_DIM)
    # zeros, not empty: with k = 2 the unused c_new[2] still enters the
    # margins (times a zero column), and garbage NaN or inf would make them NaN
    c_new = np.zeros(MAX_DIM)
    out[:] = init
    f = _objective(code, T, k, c, b, y, s, r, r2, alpha, Q, fit_b, out, grad, H,
                   False)
    f_start = f
    fresh = False
    sum_r = 0.0
    steps = 0
    while steps < max_steps:
        gnorm = 0.0
        for j in range(m):
            gnorm += grad[j] * grad[j]
        if math.sqrt(gnorm) <= grad_tol:
            break
        # a relative ridge of 1e-12 keeps Newton's system solvable when two
        # directions are (numerically) parallel
        trace = 0.0
        for j in range(m):
            trace += H[j, j]
        for j in range(m):
            H[j, j] += 1e-12 * trace
        for j in range(m):
            grad_n[j] = -grad[j]
        ok = _cholesky_solve(H, grad_n, m, step)
        slope = 0.0
        for j in range(m):
            slope += grad[j] * step[j]
        rounding = 1e-15 * abs(f)
        if ok and slope < 0.0 and -slope <= rounding:
            # Newton's predicted decrease is below the rounding of f, so the
            # line search cannot judge the step; near the minimiser of a
            # convex subproblem the full Newton step is safe, and it is
            # taken when it shrinks the gradient (else: converged)
            if steps == 0:
                for j in range(k):
                    c_new[j] = c[j] + step[j]
                b_new = b + step[k] if fit_b else b
                f_new = _objective(code, T, k, c_new, b_new, y, s, r, r2, alpha,
                                   Q, fit_b, out, grad_n, H_n, True)
                fresh = False
                gnorm_new = 0.0
                for j in range(m):
                    gnorm_new += grad_n[j] * grad_n[j]
                if gnorm_new < gnorm and f_new <= f + 1e2 * rounding:
                    for j in range(k):
                        c[j] = c_new[j]
                    b = b_new
                    f = f_new
                    steps = 1
                    fresh = True
                    sum_r = out[4]
            break
        if ok and slope < 0.0 and -slope <= rel_gain * (f_start - f):
            # the predicted further decrease (half the decrement -slope) is a
            # small fraction of what this solve has already gained: more
            # steps would not change the outer iteration
            break
        if not ok or not slope < 0.0:
            # the trace bounds the largest eigenvalue of a PSD Hessian; the
            # backtracking below corrects it where it is not
            lip = max(trace, curvature) + 1e-300
            for j in range(m):
                step[j] = -grad[j] / lip
            slope = -gnorm / lip
        lam = 1.0
        accepted = False
        f_new = f
        for _ in range(30):
            for j in range(k):
                c_new[j] = c[j] + lam * step[j]
            b_new = b + lam * step[k] if fit_b else b
            f_new = _objective(code, T, k, c_new, b_new, y, s, r, r2, alpha, Q,
                               fit_b, out, grad_n, H_n, True)
            fresh = False
            if f_new <= f + 1e-4 * lam * slope:
                accepted = True
                fresh = True
                sum_r = out[4]
                break
            lam *= 0.5
        if not accepted:
            break
        steps += 1  # accepted steps only: none means no progress (stalled)
        gain = f - f_new
        for j in range(k):
            c[j] = c_new[j]
        b = b_new
        f = f_new
        for j in range(m):
            grad[j] = grad_n[j]
            for q in range(m):
                H[j, q] = H_n[j, q]
        if gain <= 1e-15 * abs(f):
            break
    return f, b, steps, fresh, sum_r
