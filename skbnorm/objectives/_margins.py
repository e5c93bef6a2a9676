"""O(n) passes over cached margins: the loss and its derivatives row by row.

Once the margins ``t = X_c w`` of a direction are known, every quantity the
length (scale) and subspace searches need is a sum over rows of the loss
``l(m_i, y_i)`` and its derivatives at ``m_i = scale * t_i + b`` (or at a
combination of several cached margin columns). These passes do not touch
``X``. Like the passes over ``X`` they run over fixed row blocks
(:func:`skbnorm._threads.n_blocks` with ``d = 1``) and add the per-block
partials in block order, so their results do not depend on the number of
threads.
"""

import numpy as np

from .._numba import jit
from .._threads import ROW_WORK, block_sum, n_blocks, partials, run_blocks
from ._losses import loss_derivs


def _blocks(n):
    return int(n_blocks(n, 1, n))


@jit
def _margin_pass(code, t, scale, b, y, s, r, r2, part, nb, b0, b1):
    n = t.shape[0]
    keep_r2 = r2.shape[0] > 0
    for blk in range(b0, b1):
        f = 0.0
        sum_r = 0.0
        e1 = 0.0
        e2 = 0.0
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            val, d1, d2 = loss_derivs(code, scale * t[i] + b, y[i])
            si = s[i]
            f += si * val
            ri = si * d1
            r[i] = ri
            sum_r += ri
            e1 -= y[i] * ri
            e2 += si * d2
            if keep_r2:
                r2[i] = si * d2
        part[blk, 0] = f
        part[blk, 1] = sum_r
        part[blk, 2] = e1
        part[blk, 3] = e2


def margin_pass(code, t, scale, b, y, s, r, r2):
    """Loss, ``r = s l'`` and the moments ``E[phi'], E[phi'']`` at ``scale t + b``.

    Returns ``(sum s l, sum r, E[phi'], E[phi''])``: for the halfspace losses
    ``phi'(z^T w~) = -y l'`` and ``phi'' = l''`` (the moments of Kohler et
    al.'s ``h``). Unless ``r2`` is empty it receives ``s l''``.
    """
    n = t.shape[0]
    nb = _blocks(n)
    part = partials(nb, 4)
    run_blocks(_margin_pass, (code, t, scale, b, y, s, r, r2, part, nb), nb,
               ROW_WORK * n)
    sums = np.empty(4)
    block_sum(part, sums)
    return sums[0], sums[1], sums[2], sums[3]


@jit
def _margin_loss(code, t, scale, b, y, s, r, part, nb, b0, b1):
    n = t.shape[0]
    for blk in range(b0, b1):
        f = 0.0
        sum_r = 0.0
        sum_rt = 0.0
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            val, d1, _ = loss_derivs(code, scale * t[i] + b, y[i])
            f += s[i] * val
            ri = s[i] * d1
            r[i] = ri
            sum_r += ri
            sum_rt += ri * t[i]
        part[blk, 0] = f
        part[blk, 1] = sum_r
        part[blk, 2] = sum_rt


def margin_loss(code, t, scale, b, y, s, r):
    """Weighted loss of margins ``m = scale * t + b``; ``r <- s * l'(m, y)``.

    Returns ``(sum_i s_i l(m_i), sum_i r_i, sum_i r_i t_i)``: the data term and
    the two contractions the scale/intercept derivatives need, all in O(n).
    """
    n = t.shape[0]
    nb = _blocks(n)
    part = partials(nb, 3)
    run_blocks(_margin_loss, (code, t, scale, b, y, s, r, part, nb), nb,
               ROW_WORK * n)
    sums = np.empty(3)
    block_sum(part, sums)
    return sums[0], sums[1], sums[2]


@jit
def _scale_eval(code, t, inv_norm, y, s, g, b, second, part, nb, b0, b1):
    n = t.shape[0]
    for blk in range(b0, b1):
        f = 0.0
        dg = 0.0
        db = 0.0
        hgg = 0.0
        hgb = 0.0
        hbb = 0.0
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            th = t[i] * inv_norm
            val, d1, d2 = loss_derivs(code, g * th + b, y[i])
            si = s[i]
            f += si * val
            if second:
                dg += si * d1 * th
                db += si * d1
                hgg += si * d2 * th * th
                hgb += si * d2 * th
                hbb += si * d2
        part[blk, 0] = f
        part[blk, 1] = dg
        part[blk, 2] = db
        part[blk, 3] = hgg
        part[blk, 4] = hgb
        part[blk, 5] = hbb


def scale_eval(code, t, inv_norm, y, s, g, b, second):
    """Data term in ``(g, b)`` on cached margins, with derivatives if asked.

    Returns ``(f, df/dg, df/db, d2f/dg2, d2f/dgdb, d2f/db2)`` of
    ``sum_i s_i l(g t_i/||w|| + b, y_i)``.
    """
    n = t.shape[0]
    nb = _blocks(n)
    part = partials(nb, 6)
    run_blocks(_scale_eval, (code, t, inv_norm, y, s, g, b, second, part, nb),
               nb, ROW_WORK * n)
    sums = np.empty(6)
    block_sum(part, sums)
    return sums


@jit
def _subspace_eval(code, T, k, c, b, y, s, r, r2, cached, part, nb, b0, b1):
    n = T.shape[0]
    m = k + 1
    z = np.empty(m)
    for blk in range(b0, b1):
        out = part[blk]
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            for j in range(k):
                z[j] = T[i, j]
            z[k] = 1.0
            if cached:
                r1 = r[i]
                q2 = r2[i]
            else:
                acc = 0.0
                for j in range(k):
                    acc += c[j] * z[j]
                val, d1, d2 = loss_derivs(code, acc + b, y[i])
                si = s[i]
                out[0] += si * val
                r1 = si * d1
                q2 = si * d2
                r[i] = r1
                r2[i] = q2
            q = 1 + m
            for j in range(m):
                out[1 + j] += r1 * z[j]
                a = q2 * z[j]
                for l in range(j, m):
                    out[q] += a * z[l]
                    q += 1


def subspace_width(k):
    """Length of :func:`subspace_eval`'s output for ``k`` directions."""
    m = k + 1
    return 1 + m + m * (m + 1) // 2


def subspace_eval(code, T, k, c, b, y, s, r, r2, cached=False):
    """Loss, gradient and Hessian in ``(c_0 .. c_{k-1}, b)`` on cached margins.

    ``T`` holds the margins of ``k`` directions in its first ``k`` columns;
    the model's margins are ``T c + b``. Returns ``[f, grad (k + 1), upper
    triangle of the Hessian (row by row)]`` of the data term
    ``sum_i s_i l(m_i, y_i)``; the intercept is the last unknown. ``r`` and
    ``r2`` receive ``s l'`` and ``s l''`` at the point. With ``cached`` they
    are read instead (the derivatives at a point whose per-row derivatives
    are known, without a transcendental function); ``f`` is then 0.
    """
    n = T.shape[0]
    nb = _blocks(n)
    part = partials(nb, subspace_width(k))
    work = (k + 1) * (k + 2) * n + (0 if cached else ROW_WORK * n)
    run_blocks(_subspace_eval, (code, T, k, c, b, y, s, r, r2, cached, part, nb),
               nb, work)
    out = np.empty(part.shape[1])
    block_sum(part, out)
    return out
