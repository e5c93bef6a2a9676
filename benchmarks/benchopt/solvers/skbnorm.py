"""benchopt solver: skbnorm's ``NormalizedLogisticRegression``.

A drop-in solver file for the community benchmark
https://github.com/benchopt/benchmark_logreg_l2 (copy it into the ``solvers/``
folder of a clone). That benchmark minimises

    sum_i log(1 + exp(-y_i x_i^T beta)) + lmbd / 2 ||beta||^2

without an intercept, which is ``NormalizedLogisticRegression`` with
``C = 1 / lmbd`` and ``fit_intercept=False`` (the estimator minimises
``C * sum_i loss_i + ||w||^2 / 2``, the same function divided by ``lmbd``).

The parameter ``variant`` picks the algorithm:

- ``gdnp``: ``solver="gdnp", direction_step="subspace"``, the package's
  default, a Newton-type step on the direction subspace;
- ``gdnp-paper``: ``solver="gdnp", direction_step="paper"``, Kohler et al.'s
  original algorithm (AISTATS 2019);
- ``agd``: ``solver="agd"``, Nesterov's accelerated gradient with adaptive
  restart;
- ``gd``, ``bn``, ``wn``: the other solvers of the estimator, not run by
  default; select one with ``-s "skbnorm[variant=bn]"``.

Sampling is by iteration: ``run(n_iter)`` makes a fresh fit with
``max_iter=n_iter + 1``, since the estimator's ``max_iter`` counts evaluated
iterates (``max_iter=k`` takes ``k - 1`` steps) and benchopt's first call is
``n_iter=0``, so the curve starts at the solver's initial point. ``tol=0``
switches the estimator's own stopping test off (it stops early only at a
zero gradient), so that benchopt's stopping criterion decides alone. The
random initial direction of the variants that use one is seeded
(``random_state=0``), so that the fits for the successive ``n_iter`` are the
prefixes of one trajectory.

The numba kernels are compiled (or loaded from numba's cache) by an untimed
fit before the timed runs, once per variant and kind of design matrix
(dense or sparse, dtype) met in the process.

skbnorm needs Python >= 3.10 and scikit-learn >= 1.9.
"""

import warnings

import numpy as np
from benchopt import BaseSolver
from sklearn.exceptions import ConvergenceWarning

from skbnorm import NormalizedLogisticRegression

# variant -> keyword arguments of NormalizedLogisticRegression
VARIANTS = {
    "gdnp": dict(solver="gdnp", direction_step="subspace"),
    "gdnp-paper": dict(solver="gdnp", direction_step="paper"),
    "agd": dict(solver="agd"),
    "gd": dict(solver="gd"),
    "bn": dict(solver="bn"),
    "wn": dict(solver="wn"),
}

# (variant, kind of design matrix) pairs for which the numba kernels have
# already been compiled in this process
_WARMED_UP = set()


def _design_kind(X):
    """Container type, sparse format and dtype of X."""
    return (type(X).__name__, getattr(X, "format", None), str(X.dtype))


class Solver(BaseSolver):
    name = "skbnorm"

    install_cmd = "conda"
    requirements = ["pip::skbnorm"]

    parameters = {
        "variant": ["gdnp", "gdnp-paper", "agd"],
    }
    parameter_template = "{variant}"

    references = [
        "J. Kohler, H. Daneshmand, A. Lucchi, T. Hofmann, M. Zhou and "
        "K. Neymeyr, 'Exponential convergence rates for Batch Normalization: "
        "The power of length-direction decoupling in non-convex "
        "optimization', AISTATS 2019."
    ]

    sampling_strategy = "iteration"

    def skip(self, X, y, lmbd):
        if self.variant not in VARIANTS:
            return True, (
                f"unknown variant {self.variant!r}; one of {sorted(VARIANTS)}"
            )
        return False, None

    def set_objective(self, X, y, lmbd):
        self.X, self.y, self.lmbd = X, y, lmbd

        warnings.filterwarnings("ignore", category=ConvergenceWarning)

        self.clf = NormalizedLogisticRegression(
            C=1 / self.lmbd,
            fit_intercept=False,
            tol=0,
            max_iter=1,
            random_state=0,
            **VARIANTS[self.variant],
        )

        # Compile the numba kernels (or load them from numba's cache) with a
        # short untimed fit. This is done here rather than in ``warm_up``,
        # which benchopt calls only once per solver instance while the same
        # instance serves every dataset: a sparse dataset after a dense one
        # would otherwise pay the compilation in its first timed run.
        kind = (self.variant, _design_kind(X))
        if kind not in _WARMED_UP:
            self.run_once(5)
            _WARMED_UP.add(kind)

    def run(self, n_iter):
        self.clf.set_params(max_iter=n_iter + 1)
        self.clf.fit(self.X, self.y)

    def get_result(self):
        return dict(beta=np.asarray(self.clf.coef_, dtype=float).ravel())
