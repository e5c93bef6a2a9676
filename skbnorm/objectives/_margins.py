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
    if not isinstance(t, np.ndarray):  # margins in row chunks (a dask fit)
        return t.scale_eval(code, inv_norm, y, s, g, b, second)
    n = t.shape[0]
    nb = _blocks(n)
    part = partials(nb, 6)
    run_blocks(_scale_eval, (code, t, inv_norm, y, s, g, b, second, part, nb),
               nb, ROW_WORK * n)
    sums = np.empty(6)
    block_sum(part, sums)
    return sums


@jit
def _subspace_eval(code, T, c0, c1, c2, b, y, s, r, r2, cached, part, nb, b0,
                   b1):
    n = T.shape[0]
    for blk in range(b0, b1):
        f = g0 = g1 = g2 = g3 = 0.0
        h00 = h01 = h02 = h03 = h11 = h12 = h13 = h22 = h23 = h33 = 0.0
        q00 = q01 = q02 = q11 = q12 = q22 = 0.0
        for i in range(blk * n // nb, (blk + 1) * n // nb):
            z0 = T[i, 0]
            z1 = T[i, 1]
            z2 = T[i, 2]
            if cached:
                r1 = r[i]
                q2 = r2[i]
                # the directions' S-inner products, for the independence test
                si = s[i]
                w0 = si * z0
                w1 = si * z1
                q00 += w0 * z0
                q01 += w0 * z1
                q02 += w0 * z2
                q11 += w1 * z1
                q12 += w1 * z2
                q22 += si * z2 * z2
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
        out = part[blk]
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
        out[15] = q00
        out[16] = q01
        out[17] = q02
        out[18] = q11
        out[19] = q12
        out[20] = q22


#: the sums of :func:`subspace_eval` in the full layout: ``f``, the gradient
#: in ``(c_0, c_1, c_2, b)``, the Hessian's upper triangle, the S-Gram
_UPPER4 = ((0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3), (2, 2),
           (2, 3), (3, 3))
_GRAM3 = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def combine_columns(T, cols, c):
    """``sum_j c_j T[:, cols[j]]`` in column order (the old kernel's rounding)."""
    out = T[:, cols[0]] * c[0]
    for j in range(1, len(cols)):
        out += T[:, cols[j]] * c[j]
    return out


# The subspace step writes its three margin columns and, after the solve,
# combines them twice (the new iterate and the move) and takes both S-norms:
# as NumPy column operations that was nine passes over strided columns, about
# 0.3 of a 2.4 ms iteration on a9a. These two serial loops compute the same
# values in the same order (the columns a step leaves out are zero, and adding
# a zero product changes no sum), so the iterates are unchanged. Below
# FUSED_MIN_ROWS rows the Design runs the NumPy operations instead: there
# they cost microseconds, and a first fit on small data (breast_cancer) does
# not compile the two loops (0.25 s of a cold first fit).
FUSED_MIN_ROWS = 4096


@jit
def _fill_subspace(T, t, inv, tg, tp, has_dir, have_p):
    for i in range(T.shape[0]):
        T[i, 0] = t[i] * inv if has_dir else 0.0
        T[i, 1] = tg[i]
        T[i, 2] = tp[i] if have_p else 0.0


def fill_subspace(T, t, inv, tg, tp, has_dir, have_p):
    """``T``'s columns: ``inv t`` (or 0 without ``has_dir``), ``tg`` and
    ``tp`` (or 0 without ``have_p``); by column operations on fewer than
    :data:`FUSED_MIN_ROWS` rows, or on margins in row chunks."""
    if isinstance(T, np.ndarray) and T.shape[0] >= FUSED_MIN_ROWS:
        _fill_subspace(T, t, inv, tg, tp, has_dir, have_p)
        return
    T[:, 0] = t * inv if has_dir else 0.0
    T[:, 1] = tg
    T[:, 2] = tp if have_p else 0.0


@jit
def _combine_pair(T, c0, c1, c2, d0, d1, d2, s, tt, tp):
    sq_t = 0.0
    sq_p = 0.0
    for i in range(T.shape[0]):
        z0 = T[i, 0]
        z1 = T[i, 1]
        z2 = T[i, 2]
        u = z0 * c0 + z1 * c1 + z2 * c2
        v = z0 * d0 + z1 * d1 + z2 * d2
        tt[i] = u
        tp[i] = v
        sq_t += s[i] * u * u
        sq_p += s[i] * v * v
    return sq_t, sq_p


def combine_pair(T, cols, c, dc, s):
    """``(T c, T dc, ||T c||_s^2, ||T dc||_s^2)`` for coefficients on the
    columns ``cols`` of ``T``: the values of :func:`combine_columns` and
    ``weighted_sq_norm``, in one pass, provided the columns of ``T`` not in
    ``cols`` are zero (they enter the sums with a zero coefficient, where a
    NaN or inf would not vanish)."""
    full_c = [0.0, 0.0, 0.0]
    full_d = [0.0, 0.0, 0.0]
    for j, col in enumerate(cols):
        full_c[col] = float(c[j])
        full_d[col] = float(dc[j])
    n = T.shape[0]
    tt = np.empty(n)
    tp = np.empty(n)
    sq_t, sq_p = _combine_pair(T, *full_c, *full_d, s, tt, tp)
    return tt, tp, sq_t, sq_p


def subspace_width(k):
    """Length of :func:`subspace_eval`'s output for ``k`` directions."""
    m = k + 1
    return 1 + m + m * (m + 1) // 2


def subspace_eval(code, T, cols, c, b, y, s, r, r2, cached=False):
    """Loss, gradient and Hessian in ``(c, b)`` on cached margins.

    ``T`` is ``n x 3`` (C order): the margins of up to three directions, of
    which ``cols`` (increasing) are in use, with coefficients ``c``; the
    model's margins are ``sum_j c_j T[:, cols[j]] + b`` (the other columns
    must be zero). Returns ``[f, grad (k + 1), upper triangle of the Hessian
    (row by row)]`` of the data term ``sum_i s_i l(m_i, y_i)`` in the
    unknowns ``(c, b)``, the intercept last, ``k = len(cols)``; ``r`` and
    ``r2`` receive ``s l'`` and ``s l''`` at the point. With ``cached`` they
    are read instead (the derivatives at a point whose per-row derivatives
    are known, without a transcendental function; ``f`` is then 0), and the
    second value returned is the ``3 x 3`` S-Gram matrix of ``T``'s columns.

    The row loop accumulates the fifteen sums of three directions and an
    intercept in registers (a loop over ``k`` cost 1.7 times as much here).
    """
    n = T.shape[0]
    nb = _blocks(n)
    part = partials(nb, 21)
    full = np.zeros(3)
    for j, col in enumerate(cols):
        full[col] = c[j]
    work = 16 * n + (0 if cached else ROW_WORK * n)
    run_blocks(_subspace_eval, (code, T, full[0], full[1], full[2], b, y, s, r,
                                r2, cached, part, nb), nb, work)
    sums = np.empty(21)
    block_sum(part, sums)
    out = sums[_gather(cols)]
    if not cached:
        return out
    return out, sums[_GRAM_INDEX]


#: the positions in subspace_eval's 21 sums of its output, per tuple of
#: directions in use (a gather: a fit calls it a few times an iteration)
_GATHERS = {}


def _gather(cols):
    key = tuple(cols)
    index = _GATHERS.get(key)
    if index is None:
        idx = list(key) + [3]
        m = len(idx)
        pos = {pair: 5 + q for q, pair in enumerate(_UPPER4)}
        index = [0] + [1 + i for i in idx]
        index += [pos[(idx[j], idx[l])] for j in range(m) for l in range(j, m)]
        index = _GATHERS[key] = np.array(index, dtype=np.intp)
    return index


def _gram_index():
    index = np.empty((3, 3), dtype=np.intp)
    for q, (j, l) in enumerate(_GRAM3):
        index[j, l] = index[l, j] = 15 + q
    return index


#: the S-Gram matrix of T's three columns in subspace_eval's sums
_GRAM_INDEX = _gram_index()
