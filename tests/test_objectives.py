"""The math layer: losses, the linear objective and the BN/WN chain rule."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skbnorm.objectives import (
    CURVATURE_BOUND,
    LOSS_CODES,
    LinearObjective,
    loss_value_derivs,
)
from skbnorm.reparam import bn_chain, wn_chain

LOSSES = ["squared", "softplus", "sigmoid"]


def stencil(fun, x, h):
    """Five-point central difference of a scalar function of a scalar."""
    return (-fun(x + 2 * h) + 8 * fun(x + h) - 8 * fun(x - h) + fun(x - 2 * h)) / (
        12 * h
    )


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("y", [-1.0, 1.0])
def test_loss_derivatives_match_stencil(loss, y):
    m = np.linspace(-8, 8, 41)
    val, d1, d2 = loss_value_derivs(loss, m, y)
    h = 1e-3
    fd1 = stencil(lambda t: loss_value_derivs(loss, t, y)[0], m, h)
    fd2 = stencil(lambda t: loss_value_derivs(loss, t, y)[1], m, h)
    np.testing.assert_allclose(d1, fd1, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(d2, fd2, rtol=1e-7, atol=1e-10)


def test_loss_closed_forms():
    m = np.array([-3.0, 0.0, 2.0])
    v, d1, _ = loss_value_derivs("softplus", m, 1.0)
    np.testing.assert_allclose(v, np.log1p(np.exp(-m)))
    np.testing.assert_allclose(d1, -1 / (1 + np.exp(m)))
    v, _, _ = loss_value_derivs("sigmoid", m, -1.0)
    np.testing.assert_allclose(v, 1 / (1 + np.exp(-m)))
    v, d1, d2 = loss_value_derivs("squared", m, 0.5)
    np.testing.assert_allclose(v, 0.5 * (m - 0.5) ** 2)
    np.testing.assert_allclose(d2, 1.0)


@pytest.mark.parametrize("loss", ["softplus", "sigmoid"])
def test_losses_overflow_free_and_bounded_curvature(loss):
    m = np.array([-1e308, -1e5, -800.0, -30.0, 0.0, 30.0, 800.0, 1e5, 1e308])
    with np.errstate(all="raise"):
        val, d1, d2 = loss_value_derivs(loss, m, 1.0)
    assert np.all(np.isfinite(val)) and np.all(np.isfinite(d1))
    assert np.all(np.isfinite(d2))
    grid = np.linspace(-20, 20, 200001)
    _, _, d2 = loss_value_derivs(loss, grid, 1.0)
    bound = CURVATURE_BOUND[LOSS_CODES[loss]]
    assert np.max(np.abs(d2)) <= bound * (1 + 1e-12)
    assert np.max(np.abs(d2)) >= bound * (1 - 1e-6)  # the bound is tight


def _data(n=60, d=5, sparse=False, seed=0, loss="softplus"):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    X[:, 1] = np.where(rng.rand(n) < 0.3, X[:, 1], 0.0)
    y = rng.standard_normal(n) if loss == "squared" else rng.choice([-1.0, 1.0], n)
    sw = rng.uniform(0.5, 2.0, n)
    return (sp.csr_matrix(X) if sparse else X), y, sw


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_objective_entry_points_agree_and_match_stencil(loss, sparse, alpha):
    X, y, sw = _data(sparse=sparse, loss=loss)
    obj = LinearObjective(loss, alpha=alpha)
    rng = np.random.RandomState(1)
    coef = rng.standard_normal(X.shape[1])
    b = 0.3
    f, gc, gb = obj.loss_gradient(X, y, coef, b, sample_weight=sw)
    assert f == obj.loss(X, y, coef, b, sample_weight=sw)
    gc2, gb2 = obj.gradient(X, y, coef, b, sample_weight=sw)
    np.testing.assert_array_equal(gc, gc2)
    assert gb == gb2
    # reference value in NumPy
    Xd = X.toarray() if sparse else X
    val, _, _ = loss_value_derivs(loss, Xd @ coef + b, y)
    np.testing.assert_allclose(f, sw @ val / sw.sum() + 0.5 * alpha * coef @ coef)
    h = 1e-4
    for j in range(X.shape[1]):
        e = np.zeros_like(coef)
        e[j] = 1.0
        fd = stencil(lambda t, e=e: obj.loss(X, y, coef + t * e, b, sw), 0.0, h)
        np.testing.assert_allclose(gc[j], fd, rtol=1e-7, atol=1e-9)
    fd = stencil(lambda t: obj.loss(X, y, coef, b + t, sw), 0.0, h)
    np.testing.assert_allclose(gb, fd, rtol=1e-7, atol=1e-9)


def _bn_setup(seed=0, weight_norm=False):
    X, y, sw = _data(seed=seed)
    s = sw / sw.sum()
    Xc = X - s @ X
    S = Xc.T @ (s[:, None] * Xc)
    M = np.eye(X.shape[1]) if weight_norm else S
    obj = LinearObjective("softplus", alpha=0.1)

    def f_of(w, g):
        wt = g * w / np.sqrt(w @ M @ w)
        return obj.loss(Xc, y, wt, 0.2, sw)

    rng = np.random.RandomState(seed + 1)
    w = rng.standard_normal(X.shape[1])
    g = 1.7
    wt = g * w / np.sqrt(w @ M @ w)
    G = obj.gradient(Xc, y, wt, 0.2, sw)[0]
    return f_of, w, g, G, S, M


@pytest.mark.parametrize("weight_norm", [False, True])
def test_chain_rule_matches_stencil(weight_norm):
    f_of, w, g, G, S, M = _bn_setup(weight_norm=weight_norm)
    grad_w = np.empty_like(w)
    if weight_norm:
        dg = wn_chain(G, w, g, grad_w)
    else:
        dg = bn_chain(G, w, g, S @ w, w @ S @ w, grad_w)
    h = 1e-4
    fd_g = stencil(lambda t: f_of(w, g + t), 0.0, h)
    np.testing.assert_allclose(dg, fd_g, rtol=1e-7)
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = 1.0
        fd = stencil(lambda t, e=e: f_of(w + t * e, g), 0.0, h)
        np.testing.assert_allclose(grad_w[j], fd, rtol=1e-6, atol=1e-10)
    # scale invariance: the direction gradient is orthogonal to w
    assert abs(w @ grad_w) <= 1e-12 * np.linalg.norm(w) * np.linalg.norm(grad_w)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    X=arrays(np.float64, (12, 3), elements=finite),
    coef=arrays(np.float64, 3, elements=st.floats(-10, 10)),
    b=st.floats(-10, 10),
    loss=st.sampled_from(LOSSES),
    labels=arrays(np.float64, 12, elements=st.sampled_from([-1.0, 1.0])),
)
def test_objective_property_finite_and_consistent(X, coef, b, loss, labels):
    obj = LinearObjective(loss, alpha=0.05)
    f, gc, gb = obj.loss_gradient(X, labels, coef, b)
    assert np.isfinite(f) and np.all(np.isfinite(gc)) and np.isfinite(gb)
    # Mean value theorem: the central difference equals the slope at some
    # point within h, and the gradient is Lipschitz with constant Lf, so
    # |fd - slope| <= Lf h |d|^2, plus the rounding of the two evaluations.
    direction = np.array([0.3, -0.5, 0.8])
    curv = CURVATURE_BOUND[LOSS_CODES[loss]]
    Lf = curv * np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1] + 0.05
    h = 1e-4 / np.sqrt(1.0 + Lf)
    fd = (obj.loss(X, labels, coef + h * direction, b)
          - obj.loss(X, labels, coef - h * direction, b)) / (2 * h)
    slope = gc @ direction
    bound = Lf * h * (direction @ direction) + 1e-13 * (1 + abs(f)) / h
    assert abs(fd - slope) <= bound


@pytest.mark.parametrize("shape", [(1, 3), (7, 5), (1003, 37), (3001, 41)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_design_passes_match_numpy(shape, dtype, n_threads):
    # the matvec and the column squares against NumPy; 3001 x 41 runs in 5
    # blocks, shared between two threads when there are two
    from skbnorm import _threads

    before = _threads.get_num_threads()
    _threads.set_num_threads(n_threads)
    try:
        _check_design_passes(shape, dtype)
    finally:
        _threads.set_num_threads(before)


def _check_design_passes(shape, dtype):
    from skbnorm.objectives._design import Design

    rng = np.random.RandomState(shape[0])
    X = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(shape[1])
    xbar = rng.standard_normal(shape[1])
    s = rng.uniform(0.0, 1.0, shape[0])
    X64 = X.astype(np.float64)
    for design in (Design(X, xbar), Design(sp.csr_matrix(X), xbar)):
        out = np.empty(shape[0])
        design.matvec(w, out)
        np.testing.assert_allclose(out, X64 @ w - xbar @ w, rtol=1e-12,
                                   atol=1e-12 * np.abs(X64).sum(1).max())
        np.testing.assert_allclose(design.column_sq_means(s), s @ (X64 ** 2),
                                   rtol=1e-12)
    # float32 values squared in float64: no overflow at 1e20
    big = Design(np.full((3, 2), 1e20, dtype=np.float32), np.zeros(2))
    np.testing.assert_allclose(big.column_sq_means(np.ones(3)),
                               3 * np.float64(np.float32(1e20)) ** 2)


@pytest.mark.parametrize("d, dtype, rows", [
    (20, np.float64, 25), (123, np.float64, 4), (600, np.float64, 1),
    (123, np.float32, 8)])
def test_fused_dense_passes_in_sub_blocks_match_numpy(d, dtype, rows):
    # the fused passes' dense sub-blocks hold 4 KB of rows (25, 4 or 1 at
    # these widths, twice as many float32 rows), with a remainder at each
    # block's end (1003 rows in one block, 3001 in five): the values are
    # NumPy's whatever the size
    from numba import njit

    from skbnorm.objectives._design import Design
    from skbnorm.objectives._rows import sub_rows

    # the kernels take the size from the overload, Python from the body
    # (without the JIT njit returns the body itself)
    compiled = njit(lambda X: sub_rows(X))
    # the widest case in one block only (its pure-Python run is the slow one)
    for n in (1003, 3001) if d < 600 else (1003,):
        rng = np.random.RandomState(d + n)
        X = rng.standard_normal((n, d)).astype(dtype)
        assert sub_rows(X) == rows
        assert compiled(X) == rows
        X64 = X.astype(np.float64)
        xbar = rng.standard_normal(d) * 0.1
        Xc = X64 - xbar
        des = Design(X, xbar)
        w = rng.standard_normal(d) / np.sqrt(d)
        y = np.where(rng.rand(n) < 0.5, -1.0, 1.0)
        s = rng.uniform(0.5, 2.0, n)
        s /= s.sum()
        code = LOSS_CODES["softplus"]
        grad = np.empty(d)
        f, gb = des.value_grad(code, y, s, 0.0, w, 0.2, grad)
        val, d1, d2 = loss_value_derivs("softplus", Xc @ w + 0.2, y)
        np.testing.assert_allclose(f, s @ val, rtol=1e-12)
        np.testing.assert_allclose(grad, Xc.T @ (s * d1), rtol=1e-10,
                                   atol=1e-14)
        # the loss and both backward products of bn (margins given) and of
        # wn (margins formed in the same pass)
        t = Xc @ w
        r, r2 = np.empty(n), np.empty(n)
        G, Sw = np.empty(d), np.empty(d)
        sums = des.loss_rmatvec2(code, t, 1.5, 0.2, y, s, r, r2, G, Sw)
        val, d1, d2 = loss_value_derivs("softplus", 1.5 * t + 0.2, y)
        np.testing.assert_allclose(sums[0], s @ val, rtol=1e-12)
        np.testing.assert_allclose(r2, s * d2, rtol=1e-13)
        np.testing.assert_allclose(G, Xc.T @ (s * d1), rtol=1e-10,
                                   atol=1e-14)
        np.testing.assert_allclose(Sw, Xc.T @ (s * t), rtol=1e-10,
                                   atol=1e-14)
        t2 = np.empty(n)
        des.loss_rmatvec2(code, t2, 1.5, 0.2, y, s, r, np.empty(0), G, None,
                          w=w)
        np.testing.assert_allclose(t2, t, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(G, Xc.T @ (s * d1), rtol=1e-10,
                                   atol=1e-14)


@pytest.mark.parametrize("shape", [(10, 4), (3001, 41)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_all_finite(shape, dtype):
    # 3001 x 41: the threaded pass, 5 blocks of 600-601 rows
    from skbnorm.objectives._design import dense_all_finite

    rng = np.random.RandomState(0)
    X = rng.standard_normal(shape).astype(dtype)
    assert dense_all_finite(X)
    # finite values whose sum overflows are finite
    assert dense_all_finite(np.full(shape, np.finfo(dtype).max, dtype=dtype))
    n = shape[0]
    for bad in (np.nan, np.inf, -np.inf):
        # first and last entries, a block's last row and the next's first
        for i, j in [(0, 0), (n - 1, shape[1] - 1), (n // 2, 1),
                     (n * 4 // 5 - 1, 3), (n * 4 // 5, 0)]:
            Y = X.copy()
            Y[i, j] = bad
            assert not dense_all_finite(Y)


@pytest.mark.parametrize("n", [1001, 5003])
@pytest.mark.parametrize("cols", [[0, 1, 2], [1, 2], [0, 1], [0, 2], [1]])
def test_subspace_columns_match_numpy(cols, n):
    # the subspace step's fused column passes give the NumPy column
    # operations' values bit for bit (a step's iterates depend on them)
    # both paths: NumPy's operations below FUSED_MIN_ROWS, the loops above
    from skbnorm.objectives import Design
    from skbnorm.objectives._design import weighted_sq_norm
    from skbnorm.objectives._margins import combine_columns

    rng = np.random.RandomState(1)
    design = Design(np.zeros((n, 1)), np.zeros(1))
    t, tg, tp = (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3)
                 for _ in range(3))
    s = rng.uniform(0, 1, n)
    inv = 0.37
    T = np.full((n, 3), np.nan)
    design.fill_subspace(T, t, inv, tg, tp, 0 in cols, 2 in cols)
    ref = np.column_stack([t * inv, tg, tp])
    for j in range(3):
        np.testing.assert_array_equal(
            T[:, j], ref[:, j] if j in cols or j == 1 else 0.0)
    for j in range(3):  # a column the step dropped is zeroed
        if j not in cols:
            T[:, j] = 0.0
    c = rng.standard_normal(len(cols))
    dc = rng.standard_normal(len(cols))
    tt, tq, sq_t, sq_p = design.combine_pair(T, cols, c, dc, s)
    np.testing.assert_array_equal(tt, combine_columns(T, cols, c))
    np.testing.assert_array_equal(tq, combine_columns(T, cols, dc))
    assert sq_t == weighted_sq_norm(combine_columns(T, cols, c), s)
    assert sq_p == weighted_sq_norm(combine_columns(T, cols, dc), s)
