"""Kohler et al.'s Theorem 2 in practice: gradient-norm curves to convergence.

Gaussian halfspace data (x | y ~ N(y mu, Sigma)), 2000 x 10, centered, no
intercept, softplus loss, ``C=np.inf`` (the theorem's setting); gdnp with
Kohler et al.'s step (``direction_step="paper", metric="identity"``)
against gd and agd (Nesterov with adaptive restart) from the same random
start, and the default solver for reference, for condition numbers of
Sigma from 2 to 50 (the separation shrinks with the conditioning so that
the unpenalised loss keeps a finite minimiser). Each fit runs until its
gradient norm stops falling
(``tol=0``, at most ``MAX_ITER`` iterations). The table gives, per solver,
the first iteration at which ``||grad F_t|| / ||grad F_0||`` falls below
1e-3, 1e-6 and 1e-9, the wall time to 1e-6 (iterations times the fit's mean
time per iteration), and, for gdnp and agd, the crossover: the first
iteration from which agd's best gradient norm so far stays below gdnp's
(until either reaches 1e-9).

    python benchmarks/gaussian_halfspace_rates.py
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skbnorm import NormalizedLogisticRegression
from skbnorm.datasets import make_gaussian_halfspace

CASES = [(2.0, 1.0), (5.0, 1.0), (10.0, 1.0), (20.0, 0.5), (50.0, 0.3)]
LEVELS = (1e-3, 1e-6, 1e-9)
MAX_ITER = 5000
SOLVERS = {
    "gdnp (paper)": dict(solver="gdnp", direction_step="paper",
                         metric="identity"),
    "gd": dict(solver="gd"),
    "agd": dict(solver="agd"),
    "default": dict(),
}


def curve(X, y, options):
    est = NormalizedLogisticRegression(fit_intercept=False, C=np.inf,
                                       max_iter=MAX_ITER, tol=0.0,
                                       random_state=0, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - t0
    g = np.asarray(est.grad_norm_curve_)
    return g / g[0], seconds / max(len(g), 1)


def first_below(rel, level):
    hit = np.flatnonzero(np.minimum.accumulate(rel) <= level)
    return int(hit[0]) if hit.size else None


def crossover(a, b, floor):
    """First iteration from which ``b``'s best so far stays below ``a``'s,
    up to where either reaches ``floor`` (beyond, both are at rounding)."""
    n = min(len(a), len(b))
    ma, mb = np.minimum.accumulate(a[:n]), np.minimum.accumulate(b[:n])
    ends = [k for k in (first_below(a, floor), first_below(b, floor))
            if k is not None]
    n = min(ends + [n])
    ahead = mb[:n] < ma[:n]
    if not ahead.any() or not ahead[-1]:
        return None
    behind = np.flatnonzero(~ahead)
    return 0 if behind.size == 0 else int(behind[-1]) + 1


def main():
    curve(*make_gaussian_halfspace(50, 3, random_state=0), {})  # compile
    head = " ".join(f"{'<' + format(v, '.0e'):>8}" for v in LEVELS)
    print(f"{'cond':>5} {'sep':>4} {'solver':<13} {head} {'s to 1e-6':>10}")
    for cond, sep in CASES:
        X, y = make_gaussian_halfspace(2000, 10, condition_number=cond,
                                       separation=sep, random_state=0)
        X = X - X.mean(0)
        curves = {}
        for name, options in SOLVERS.items():
            rel, per_iter = curve(X, y, options)
            curves[name] = rel
            its = [first_below(rel, v) for v in LEVELS]
            cells = " ".join(f"{'-' if k is None else k:>8}" for k in its)
            t6 = "-" if its[1] is None else f"{its[1] * per_iter:.4f}"
            print(f"{cond:>5g} {sep:>4g} {name:<13} {cells} {t6:>10}")
        cross = crossover(curves["gdnp (paper)"], curves["agd"], LEVELS[-1])
        print(f"{'':>10} agd's best gradient norm stays below gdnp's from "
              f"iteration {'never' if cross is None else cross}")


if __name__ == "__main__":
    main()
