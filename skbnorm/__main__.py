"""``python -m skbnorm``: the five solvers compared on the shipped a9a data.

For ``NormalizedLogisticRegression`` and ``HalfspaceClassifier(loss="sigmoid")``
each solver is fitted on the a9a training split (with an intercept, no
penalty) and the table reports the final objective, gradient norm, iterations,
wall time and accuracy on the test split. ``gdnp-subspace`` is gdnp with
``direction_step="subspace"`` (convex losses only, so not for the sigmoid).
"""

import argparse
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from . import HalfspaceClassifier, NormalizedLogisticRegression
from .datasets import load_a9a

SOLVER_ORDER = ("gdnp", "gdnp-subspace", "gd", "agd", "bn", "wn")


def compare(max_iter=1000, tol=1e-6, random_state=0, solvers=SOLVER_ORDER):
    """Fit every solver on a9a; return a list of result rows (dicts)."""
    X, y = load_a9a("train")
    X_test, y_test = load_a9a("test")
    models = [
        ("NormalizedLogisticRegression",
         lambda **kw: NormalizedLogisticRegression(**kw)),
        ("HalfspaceClassifier(sigmoid)",
         lambda **kw: HalfspaceClassifier(loss="sigmoid", **kw)),
    ]
    rows = []
    for name, make in models:
        for solver in solvers:
            options = {}
            if solver == "gdnp-subspace":
                if "sigmoid" in name:
                    continue
                options = {"direction_step": "subspace"}
            est = make(solver=solver.split("-")[0], max_iter=max_iter, tol=tol,
                       random_state=random_state, **options)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                start = time.perf_counter()
                est.fit(X, y)
                seconds = time.perf_counter() - start
            rows.append({
                "model": name,
                "solver": solver,
                "objective": float(est.loss_curve_[-1]),
                "grad_norm": float(est.grad_norm_curve_[-1]),
                "n_iter": int(est.n_iter_[0]),
                "seconds": seconds,
                "test_accuracy": float(est.score(X_test, y_test)),
                "converged": not any(issubclass(w.category, ConvergenceWarning)
                                     for w in caught),
            })
    return rows


def format_table(rows):
    """Render the rows as a fixed-width text table."""
    head = (f"{'model':<30} {'solver':<13} {'objective':>14} {'grad norm':>10} "
            f"{'iters':>6} {'seconds':>8} {'test acc':>8} {'conv':>5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['model']:<30} {r['solver']:<13} {r['objective']:>14.10f} "
            f"{r['grad_norm']:>10.2e} {r['n_iter']:>6d} {r['seconds']:>8.3f} "
            f"{r['test_accuracy']:>8.4f} {'yes' if r['converged'] else 'no':>5}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skbnorm",
        description="Compare the five solvers on the shipped a9a data.",
    )
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = compare(max_iter=args.max_iter, tol=args.tol,
                   random_state=args.random_state)
    print("a9a (32561 x 123 train, 16281 test), intercept, alpha=0; "
          f"max_iter={args.max_iter}, tol={args.tol:g}")
    print(format_table(rows))
    print(f"total {time.perf_counter() - start:.1f} s (first run includes "
          "numba compilation)")


if __name__ == "__main__":
    main()
