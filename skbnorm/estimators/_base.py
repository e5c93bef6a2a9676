"""The scikit-learn face shared by the linear estimators.

Validation, the solver dispatch, the chunked solver loop that hands control
back to Python for ``verbose`` and callbacks, warnings, and the fitted
attributes. The numerics live in :mod:`skbnorm.solvers`.
"""

import math
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ..objectives._linear import (
    as_design,
    backward,
    forward,
    margin_loss,
    weighted_sq_norm,
)
from ..solvers import (
    CONVERGED,
    DIVERGED,
    MAX_ITER,
    MAX_SCALE,
    RUNNING,
    SCALE_CAP,
    STALLED,
    STOPPED,
    Problem,
    build,
)
from ..solvers._common import original_grad_norm

_LR = [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")]


class _FitResult:
    """What one (binary or regression) problem's solve produced."""

    __slots__ = ("coef", "intercept", "n_iter", "loss_curve", "grad_norm_curve",
                 "direction_norm_curve", "scale", "status", "scale_at_bound")


class NormalizedLinearModel(CallbackSupportMixin, BaseEstimator):
    """Base class: subclasses set ``_loss_name`` and the y handling."""

    _parameter_constraints: dict = {
        "solver": [StrOptions({"gdnp", "gd", "agd", "bn", "wn"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": _LR,
        "learning_rate_scale": _LR,
        "n_bisection": [Interval(Integral, 1, None, closed="left")],
        "direction_step": [StrOptions({"paper", "subspace"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # -- input -------------------------------------------------------------

    def _validate_fit_input(self, X, y, sample_weight, **y_kwargs):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            **y_kwargs,
        )
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                  ensure_non_negative=True)
        total = float(sw.sum())
        if not total > 0:
            raise ValueError(
                "sample_weight must have a positive sum; got sum "
                f"{total!r}."
            )
        s = sw / total  # a new array: the user's weights are never touched
        if sp.issparse(X):
            xbar = np.asarray(X.T @ s, dtype=np.float64).ravel()
        else:
            xbar = np.asarray(s @ X, dtype=np.float64)
        if not self.fit_intercept:
            xbar = np.zeros_like(xbar)
        return X, y, s, xbar

    def _decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr",
                          dtype=[np.float64, np.float32], reset=False)
        return safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_

    # -- one problem -------------------------------------------------------

    def _initial_intercept(self, y, s, code):
        if not self.fit_intercept:
            return 0.0
        if code == 0:
            return float(s @ y)
        p_pos = float(s @ (y > 0))
        p_pos = min(max(p_pos, 1e-12), 1 - 1e-12)
        return math.log(p_pos / (1.0 - p_pos))

    def _solve(self, design, xbar, y, s, code, rng, warm, lipschitz, ctx,
               reconstruct):
        """Solve one problem; ``warm`` is ``(coef, intercept)`` or None."""
        p = Problem(design, xbar, y, s, code, self.alpha, self.fit_intercept,
                    self.tol, self.max_iter - 1)
        p._lipschitz = lipschitz
        solver = self.solver
        res = _FitResult()
        res.direction_norm_curve = None

        b0 = self._initial_intercept(y, s, code)
        w0 = None
        scale0 = 1.0
        if warm is not None:
            coef, intercept = warm
            # coefficients of columns that are constant in this data lie
            # outside the range of S: no solver would move them, and they
            # would shift predictions on new data; drop them as a cold fit does
            coef = np.where(p.constant_columns(), 0.0, coef)
            t = np.empty(p.n_samples)
            forward(*design, xbar, coef, t)
            norm_sq = weighted_sq_norm(t, s)
            shift = float(xbar @ coef)
            if (np.all(np.isfinite(coef))
                    and norm_sq > 1e-20 * (norm_sq + shift * shift)):
                b0 = float(intercept) + shift if self.fit_intercept else 0.0
                w0 = coef / math.sqrt(norm_sq)
                scale0 = math.sqrt(norm_sq)
        if w0 is None:
            w0 = p.random_direction(rng)
        if w0 is None:
            # S = 0: every feature is constant, only the intercept can be fit
            res.coef = np.zeros(p.n_features)
            res.intercept = b0
            res.n_iter = 1
            r = np.empty(p.n_samples)
            f, gb, _ = margin_loss(code, np.zeros(p.n_samples), 0.0, b0, y, s, r)
            grad = np.empty(p.n_features)
            backward(*design, xbar, r, grad)
            res.loss_curve = np.array([f])
            res.grad_norm_curve = np.array([
                original_grad_norm(grad, gb if self.fit_intercept else 0.0, xbar,
                                   self.fit_intercept)])
            res.scale = 0.0
            res.status = CONVERGED
            res.scale_at_bound = False
            return res

        drv = build(solver, p, w0, scale0, b0,
                    learning_rate=self.learning_rate,
                    learning_rate_scale=self.learning_rate_scale,
                    n_bisection=self.n_bisection,
                    direction_step=self.direction_step)

        # max_iter counts evaluated iterates (n_iter_ >= 1, as scikit-learn
        # expects); the kernels count updates, one fewer
        max_iter = self.max_iter - 1
        loss_hist = np.full(max_iter + 1, np.nan)
        grad_hist = np.full(max_iter + 1, np.nan)
        dir_hist = np.full(max_iter + 1, np.nan)
        chunked = bool(self.verbose) or bool(getattr(self, "_skl_callbacks", None))
        if not chunked:
            n_iter, status = drv.run(0, max_iter + 1, loss_hist, grad_hist,
                                     dir_hist)
        else:
            n_iter, status = self._run_chunked(drv, p, ctx, reconstruct,
                                               loss_hist, grad_hist, dir_hist)
        last = n_iter if np.isfinite(loss_hist[min(n_iter, max_iter)]) else n_iter - 1
        last = max(last, 0)
        if (hasattr(drv, "restore_best") and status not in (DIVERGED, STOPPED)
                and loss_hist[last] > loss_hist[0] + 1e-12 * abs(loss_hist[0])):
            # the objective ended above its start: a step too long threw the
            # iterate into a region where the loss saturates (its gradient
            # vanishes there, so the run may even look converged)
            status = drv.restore_best()
        coef, b = drv.result(status)
        res.coef = coef
        res.intercept = b - float(xbar @ coef) if self.fit_intercept else 0.0
        res.n_iter = last + 1  # evaluated iterates: len(loss_curve_)
        res.loss_curve = loss_hist[: last + 1].copy()
        res.grad_norm_curve = grad_hist[: last + 1].copy()
        if solver not in ("gd", "agd"):
            res.direction_norm_curve = dir_hist[: last + 1].copy()
        if solver in ("gd", "agd"):
            t = np.empty(p.n_samples)
            forward(*design, xbar, coef, t)
            res.scale = math.sqrt(weighted_sq_norm(t, s))
        else:
            res.scale = float(drv.scale)
        res.status = status
        res.scale_at_bound = bool(getattr(drv, "scale_at_bound", False))
        self._warn_status(res)
        return res

    def _run_chunked(self, drv, p, ctx, reconstruct, loss_hist, grad_hist,
                     dir_hist):
        """One iteration per kernel call, for ``verbose`` and callbacks."""
        k = 0
        while True:
            sub = ctx.subcontext(task_name="iteration") if ctx else None
            if sub is not None:
                sub.call_on_fit_task_begin(estimator=self)
            n_iter, status = drv.run(k, k + 1, loss_hist, grad_hist, dir_hist)
            if self.verbose and np.isfinite(loss_hist[k]):
                print(f"[{type(self).__name__}] solver={self.solver} iter {k}: "
                      f"objective={loss_hist[k]:.10g} "
                      f"grad_norm={grad_hist[k]:.3e}")
            k += 1
            stop = False
            if sub is not None:
                stop = sub.call_on_fit_task_end(
                    estimator=self,
                    reconstruction_attributes=partial(reconstruct, drv, status),
                )
            if status != RUNNING:
                return n_iter, status
            if stop:
                # evaluate (without a further step) the iterate the callback
                # has just seen, so that coef_ and the curves agree
                p.max_iter = k
                if hasattr(drv, "drop_momentum"):
                    drv.drop_momentum()
                n_iter, _ = drv.run(k, k + 1, loss_hist, grad_hist, dir_hist)
                return n_iter, STOPPED

    def _warn_status(self, res):
        final = res.grad_norm_curve[-1] if res.grad_norm_curve.size else np.nan
        name = type(self).__name__
        if res.status == MAX_ITER:
            warnings.warn(
                f"{name}(solver={self.solver!r}) reached max_iter={self.max_iter} "
                f"without converging: the final gradient norm is {final:.3e}, "
                f"tol={self.tol:.3e} ({final / self.tol if self.tol else np.inf:.3g}"
                " times tol). Increase max_iter, or standardise the features.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif res.status == DIVERGED:
            warnings.warn(
                f"{name}(solver={self.solver!r}) diverged: the objective became "
                "non-finite or ended above its starting value "
                f"({res.loss_curve[0]:.6g}) with "
                f"learning_rate={self.learning_rate!r}. The best iterate seen "
                "is returned (loss_curve_ keeps the whole run); use a smaller "
                "learning_rate or 'auto'.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif res.status == SCALE_CAP:
            warnings.warn(
                f"{name}(solver={self.solver!r}): the best scale g is unbounded "
                f"and reached the cap |g| = {MAX_SCALE:g} (in units of the "
                "normalised margin). The data may be linearly separable, or the "
                "loss is the sigmoid, whose infimum is the 0-1 loss at g = inf. "
                "The capped, finite solution is returned; set alpha > 0 to "
                "bound the scale.",
                ConvergenceWarning,
                stacklevel=5,
            )
        if res.scale_at_bound and res.status != SCALE_CAP:
            warnings.warn(
                f"{name}(solver={self.solver!r}): the last scale search ended at "
                "its trust-region bound, i.e. the objective still decreases as "
                f"the scale grows (g = {res.scale:.4g}). For the sigmoid loss "
                "the infimum is the 0-1 loss at g = inf: the small gradient "
                "norm reflects the saturated loss, not a finite optimum.",
                ConvergenceWarning,
                stacklevel=5,
            )
        if res.status == STALLED and final > self.tol:
            warnings.warn(
                f"{name}(solver={self.solver!r}) stopped after {res.n_iter} "
                "iterations: no step decreases the objective any more (numerical "
                f"precision reached); the final gradient norm is {final:.3e} > "
                f"tol={self.tol:.3e}.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _lipschitz(self, design, xbar, s):
        p = Problem(design, xbar, np.zeros(s.shape[0]), s, 0, 0.0,
                    self.fit_intercept, self.tol, self.max_iter)
        return p.lipschitz

    def _init_callbacks(self, X, y, n_tasks, sample_weight):
        if not getattr(self, "_skl_callbacks", None):
            return None
        ctx = self._init_callback_context(max_subtasks=n_tasks)
        ctx.call_on_fit_task_begin(estimator=self, X=X, y=y,
                                   metadata={"sample_weight": sample_weight})
        return ctx

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def check_finite_fit(coef, intercept):
    """Guard against NaN/inf in fitted attributes (a solver bug otherwise)."""
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise FloatingPointError(
            "the solver produced non-finite coefficients; please report this "
            "with the data that triggers it"
        )


__all__ = ["NormalizedLinearModel", "check_finite_fit", "as_design"]
