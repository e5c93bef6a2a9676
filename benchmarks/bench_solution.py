"""Time to solution on a9a: skbnorm's solvers against scikit-learn's.

Two settings, both the *mean* logistic loss with ``alpha=0``:

(a) centered a9a, no intercept: ``Xc = X - mean(X)`` dense, the minimiser
    exists, ``f* = 0.526341643356763``;
(b) raw (sparse) a9a with an intercept: no minimiser exists, the infimum is
    ``0.322620707902194`` (see ``benchmarks/a9a_raw_intercept.py``).

The target is a relative suboptimality ``(f - f*)/f* <= 1e-6``. For every
solver the smallest iteration budget reaching it is found first (skbnorm: the
first hit in ``loss_curve_`` of one long fit, since ``max_iter=k+1`` returns
iterate ``k``; scikit-learn: ``max_iter`` by doubling, then bisection), then
fresh fits with exactly that budget are timed side by side, interleaved.

"gdnp" is Kohler et al.'s step (``direction_step="paper"``), "gdnp-subspace"
the subspace step along ``grad_w f`` (``metric="identity"``); the other
solvers have no such options.
"""

import time
import warnings

import numpy as np
from _harness import Table, interleaved
from sklearn.linear_model import LogisticRegression

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import load_a9a
from skbnorm.objectives import Design
from skbnorm.objectives._losses import SOFTPLUS
from skbnorm.solvers import Problem, SolverOptions, Status, make_solver

F_STAR_CENTERED = 0.526341643356763
F_INF_RAW = 0.322620707902194
TARGET = 1e-6
SKB_SOLVERS = ("gd", "agd", "bn", "wn", "gdnp", "gdnp-subspace")
SKL_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky")
SKL_TOL = 1e-12

# iteration caps of the budget search (skbnorm: the long fit; sklearn: the
# largest max_iter tried). Known needs: centered agd ~375, gdnp ~5800, gd
# ~9500, bn ~8800, wn ~17700; raw agd ~3800, gdnp >> 40000.
FULL = {
    "centered": {"gd": 12000, "agd": 2000, "bn": 12000, "wn": 20000, "gdnp": 8000,
                 "gdnp-subspace": 500},
    "raw": {"gd": 20000, "agd": 6000, "bn": 20000, "wn": 20000, "gdnp": 20000,
            "gdnp-subspace": 2000},
    "sklearn": 5000,
    "repeat": 3,
}
QUICK = {
    "centered": {"agd": 1000, "gdnp": 1000, "gdnp-subspace": 500},
    "sklearn": 1000,
    "repeat": 1,
}


def mean_logistic_loss(X, y, coef, intercept):
    """The objective: mean softplus loss of the margins (alpha=0)."""
    t = np.asarray(X @ coef).ravel() + intercept
    return float(np.mean(np.logaddexp(0.0, -y * t)))


class Contender:
    """One solver on one representation of the data.

    ``fit(max_iter)`` returns ``(coef, intercept, loss_curve or None,
    n_iter)``; the loss is always re-evaluated on ``loss_X`` (the uncentered
    or explicitly centered array the objective is defined on).
    """

    def __init__(self, name, library, x_label, fit, loss_X, y, f_star, cap):
        self.name = name
        self.library = library
        self.x_label = x_label
        self.fit = fit
        self.loss_X = loss_X
        self.y = y
        self.f_star = f_star
        self.cap = cap
        self.budget = None  # None: target not reached within cap
        self.search_rel = np.nan
        self.search_seconds = np.nan
        self.search_iters = 0
        self.last = None

    def rel(self, coef, intercept):
        f = mean_logistic_loss(self.loss_X, self.y, coef, intercept)
        return (f - self.f_star) / self.f_star

    def run(self, max_iter):
        with warnings.catch_warnings():
            # ConvergenceWarning at every capped budget, newton-cholesky's
            # fallback to lbfgs on the rank-deficient centered design, ...
            warnings.simplefilter("ignore")
            self.last = self.fit(max_iter)
        return self.last


def _solver_options(name):
    """``"gdnp"``: Kohler et al.'s step; ``"gdnp-subspace"``: the subspace
    step along ``grad_w f`` (both in the identity metric)."""
    if name == "gdnp":
        return "gdnp", {"direction_step": "paper", "metric": "identity"}
    if name == "gdnp-subspace":
        return "gdnp", {"direction_step": "subspace", "metric": "identity"}
    return name, {}


def skb_estimator(name, X, y, fit_intercept):
    """Fit ``NormalizedLogisticRegression`` as a user would."""
    solver, options = _solver_options(name)

    def fit(max_iter):
        est = NormalizedLogisticRegression(
            solver=solver, fit_intercept=fit_intercept, C=np.inf, tol=0.0,
            max_iter=max_iter, random_state=0, **options)
        est.fit(X, y)
        return est.coef_[0], float(est.intercept_[0]), est.loss_curve_, \
            int(est.n_iter_[0])

    return fit


def skb_driver_centered(name, X, y):
    """The solver on sparse ``X`` with implicit centering and no intercept.

    Not reachable from the estimator (``fit_intercept=False`` does not
    center); uses the internal driver as ``benchmarks/a9a_iterations.py``.
    """

    solver, options = _solver_options(name)

    def fit(max_iter):
        n = X.shape[0]
        s = np.full(n, 1.0 / n)
        xbar = np.asarray(X.T @ s).ravel()
        # centered (xbar), no intercept; tol=0 runs the whole budget
        p = Problem(Design(X, xbar), y, s, SOFTPLUS, 0.0, False, 0.0)
        drv = make_solver(solver, p, SolverOptions(**options))
        drv.start(None, 0.0, np.random.RandomState(0))
        for k in range(max_iter):  # the estimator's loop (_iterate)
            if drv.evaluate() != Status.RUNNING or k == max_iter - 1:
                break
            if drv.step() != Status.RUNNING:
                break
        coef, _ = drv.result()
        curve = np.asarray(drv.loss_curve, dtype=np.float64)
        return coef, 0.0, curve, int(curve.size)

    return fit


def skl_estimator(solver, X, y, fit_intercept):
    def fit(max_iter):
        est = LogisticRegression(C=np.inf, solver=solver,
                                 fit_intercept=fit_intercept, tol=SKL_TOL,
                                 max_iter=max_iter)
        est.fit(X, y)
        return est.coef_[0], float(est.intercept_[0]), None, int(est.n_iter_[0])

    return fit


def search_skbnorm(c):
    """One long fit; the budget is one more than the first iterate on target."""
    c.run(2)  # load or compile the kernels outside the timed search fit
    start = time.perf_counter()
    _, _, curve, n_iter = c.run(c.cap)
    c.search_seconds = time.perf_counter() - start
    c.search_iters = n_iter
    rel = (np.asarray(curve) - c.f_star) / c.f_star
    hit = np.flatnonzero(rel <= TARGET)
    if hit.size:
        c.budget = int(hit[0]) + 1
    else:
        c.search_rel = float(np.nanmin(rel))


def search_sklearn(c):
    """Smallest ``max_iter`` on target (to 1%): doubling, then bisection."""
    tried = {}

    def ok(m):
        start = time.perf_counter()
        coef, b, _, n_iter = c.run(m)
        seconds = time.perf_counter() - start
        r = c.rel(coef, b)
        tried[m] = (r, n_iter, seconds)
        return r <= TARGET

    lo, m = 0, 1
    while True:
        if ok(m):
            hi = m
            break
        r, n_iter, seconds = tried[m]
        if n_iter < m - 1 or m >= c.cap:
            # stopped on its own tolerance (newton-cholesky counts one fewer
            # than max_iter when it runs out), or the cap: not reached
            c.search_rel, c.search_iters, c.search_seconds = r, n_iter, seconds
            return
        lo, m = m, min(2 * m, c.cap)
    # bisection to within 1% (each try is a whole fit)
    while hi - lo > max(1, hi // 100):
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    c.budget = hi


def time_setting(title, note, contenders, repeat):
    """Search every contender's budget, time them interleaved, make a table."""
    for c in contenders:
        if c.library == "skbnorm":
            search_skbnorm(c)
        else:
            search_sklearn(c)
    reached = [c for c in contenders if c.budget is not None]
    results = {}

    def timed(c):
        def call():
            results[id(c)] = c.run(c.budget)
        return call

    seconds = interleaved({id(c): timed(c) for c in reached}, repeat=repeat,
                          warmup=0) if reached else {}
    skl = [seconds[id(c)] for c in reached if c.library == "sklearn"]
    best = min(skl) if skl else None
    table = Table(title, ["solver", "library", "X", "iterations", "seconds",
                          "ms/iter", "rel. subopt.", "vs fastest sklearn"], note,
                  formats={"rel. subopt.": "{:.2e}"})
    for c in contenders:
        if c.budget is not None:
            coef, b, _, n_iter = results[id(c)]
            t = seconds[id(c)]
            iters = c.budget if c.library == "skbnorm" else n_iter
            table.add(solver=c.name, library=c.library, X=c.x_label,
                      iterations=iters, seconds=t, **{
                          "ms/iter": 1e3 * t / max(iters, 1),
                          "rel. subopt.": c.rel(coef, b),
                          "vs fastest sklearn": t / best if best else None})
        else:
            t = c.search_seconds
            ratio = f">{t / best:.3g}" if best else None
            table.add(solver=c.name, library=c.library, X=c.x_label,
                      iterations=f"not reached (rel={c.search_rel:.2e} after "
                                 f"{c.search_iters})",
                      seconds=t, **{
                          "ms/iter": 1e3 * t / max(c.search_iters, 1),
                          "rel. subopt.": c.search_rel,
                          "vs fastest sklearn": ratio})
    return table


def _note(f_star, repeat, extra=""):
    return (
        f"Target (f - f*)/f* <= {TARGET:g} with f* = {f_star!r} (mean logistic "
        "loss, alpha=0). iterations: the smallest max_iter reaching the target "
        "(skbnorm: evaluated iterates; scikit-learn: n_iter_ of the timed fit, "
        "max_iter found by doubling and bisection to within 1%). "
        f"seconds: median of {repeat} fresh fits with that budget, all contenders "
        "interleaved in the same process, including input validation. "
        "'not reached': the target was not met within the cap; seconds is "
        "then the single capped fit and the ratio a lower bound. "
        f"scikit-learn: LogisticRegression(C=np.inf, tol={SKL_TOL:g}); "
        "skbnorm: C=np.inf, tol=0, random_state=0; gdnp is Kohler et al.'s "
        "step (direction_step='paper'), gdnp-subspace the subspace step along "
        "grad_w f (metric='identity')." + extra
    )


def run(quick):
    cfg = QUICK if quick else FULL
    repeat = cfg["repeat"]
    X, y = load_a9a()
    xbar = np.asarray(X.mean(axis=0)).ravel()
    Xc = np.ascontiguousarray(X.toarray() - xbar)
    tables = []

    caps = cfg["centered"]
    cont = [Contender(s, "skbnorm", "dense centered",
                      skb_estimator(s, Xc, y, False), Xc, y, F_STAR_CENTERED, cap)
            for s, cap in caps.items()]
    if not quick:
        cont += [Contender(s, "skbnorm", "sparse, implicit centering (driver)",
                           skb_driver_centered(s, X, y), Xc, y, F_STAR_CENTERED,
                           cap)
                 for s, cap in caps.items()]
    cont += [Contender(s, "sklearn", "dense centered",
                       skl_estimator(s, Xc, y, False), Xc, y, F_STAR_CENTERED,
                       cfg["sklearn"])
             for s in SKL_SOLVERS]
    tables.append(time_setting(
        "Time to solution: centered a9a (32561 x 123, no intercept)",
        _note(F_STAR_CENTERED, repeat,
              "" if quick else
              " The driver rows run the internal solver on the sparse matrix "
              "with implicit centering (no estimator overhead)."),
        cont, repeat))

    if not quick:
        caps = cfg["raw"]
        cont = [Contender(s, "skbnorm", "sparse", skb_estimator(s, X, y, True), X,
                          y, F_INF_RAW, cap)
                for s, cap in caps.items()]
        cont += [Contender(s, "sklearn", "sparse", skl_estimator(s, X, y, True), X,
                           y, F_INF_RAW, cfg["sklearn"])
                 for s in SKL_SOLVERS]
        tables.append(time_setting(
            "Time to solution: raw a9a with intercept (sparse)",
            _note(F_INF_RAW, repeat,
                  " f* is the infimum: no minimiser exists, the loss approaches "
                  "it as ||coef|| -> inf."),
            cont, repeat))
    return tables


if __name__ == "__main__":
    import sys

    for t in run("--quick" in sys.argv):
        print(t.markdown(), end="\n\n")
