"""The scikit-learn face shared by the linear estimators.

Validation, the problem (built once per fit), the solver looked up by name
and driven one iteration at a time (so that ``verbose`` and callbacks see
every iterate), warnings, and the fitted attributes. The numerics live in
:mod:`skbnorm.solvers`.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .._callbacks import FitCallbacks
from .._dask import chunked_fit_input, is_dask_array
from .._threads import blas_single_thread
from .._validation import canonical_csr
from ..objectives._chunked import ChunkedDesign, is_chunked
from ..objectives._design import Design, dense_all_finite
from ..solvers import (
    MAX_SCALE,
    Problem,
    SolverOptions,
    Status,
    make_solver,
    solver_names,
)
from ..solvers._base import fits_chunks
from ..solvers._common import original_grad_norm
from ..solvers._subspace import METRICS

_LR = [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")]


def _in_units(res, unit):
    """A fit's result in the user's units: its problem's targets were the
    user's divided by ``unit`` (least squares: everything but the relative
    suboptimality scales with them)."""
    if unit != 1.0:
        res.coef = res.coef * unit
        res.intercept = res.intercept * unit
        # a diverging run records objectives up to float64's largest value
        # in its own units: in the user's they may lie beyond it
        top = np.finfo(np.float64).max
        with np.errstate(over="ignore"):
            res.loss_curve = np.minimum(res.loss_curve * (unit * unit), top)
            res.grad_norm_curve = np.minimum(res.grad_norm_curve * unit, top)
        res.scale = res.scale * unit
    return res


class LazyRandomState:
    """``check_random_state(seed)``, made when a solver first draws from it.

    Seeding a ``RandomState`` costs 50-80 us, a tenth of a small fit's
    set-up, and the default solvers start at ``coef = 0`` without drawing.
    One instance serves every problem of a fit, so the problems of a
    one-vs-rest fit draw in turn from one generator, as before.
    """

    def __init__(self, seed):
        self._seed = seed
        self._rng = None

    def __getattr__(self, name):
        # only for what the instance lacks: the generator's methods (read
        # through __dict__, so that a copy made without __init__ does not
        # recurse)
        d = self.__dict__
        if "_seed" not in d:
            raise AttributeError(name)
        if d.get("_rng") is None:
            d["_rng"] = check_random_state(d["_seed"])
        return getattr(d["_rng"], name)


class _FitResult:
    """What one (binary or regression) problem's solve produced."""

    __slots__ = ("coef", "intercept", "n_iter", "loss_curve", "grad_norm_curve",
                 "direction_norm_curve", "scale", "status", "scale_at_bound",
                 "suboptimality")


class NormalizedLinearModel(FitCallbacks, BaseEstimator):
    """Base class: subclasses set the loss, the penalty and the y handling."""

    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads the constructor's signature on every get_params
        # (four times a fit: 0.1 ms, most of a small fit's parameter check);
        # the signature of a class does not change
        names = cls.__dict__.get("_param_names_cache")
        if names is None:
            names = super()._get_param_names()
            cls._param_names_cache = names
        return list(names)

    _parameter_constraints: dict = {
        "solver": [StrOptions(set(solver_names()))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": _LR,
        "learning_rate_scale": _LR,
        "n_bisection": [Interval(Integral, 1, None, closed="left")],
        "direction_step": [StrOptions({"paper", "subspace"})],
        "metric": [StrOptions(set(METRICS))],
        "fit_intercept": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # -- input -------------------------------------------------------------

    def _validate_fit_input(self, X, y, sample_weight, **y_kwargs):
        if is_dask_array(X):
            if not fits_chunks(self.solver, self._options()):
                raise ValueError(
                    f"{type(self).__name__}(solver={self.solver!r}, "
                    f"direction_step={self.direction_step!r}) cannot fit a dask "
                    "array yet; the solvers that can are 'gd', 'agd' and "
                    "'gdnp' with direction_step='subspace' (the default). Use "
                    "one of them, or fit X.compute() in memory."
                )
            # validated where the chunks are; X, y and s stay in row chunks
            return chunked_fit_input(self, X, y, sample_weight,
                                     y_numeric=y_kwargs.get("y_numeric", False))
        if _plain_arrays(X, y):
            # what check_X_y would return unchanged (see _plain_arrays);
            # feature names and n_features_in_ are still set by scikit-learn
            X, y = validate_data(self, X, y, skip_check_array=True)
        else:
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse="csr",
                dtype=[np.float64, np.float32],
                order="C",
                **y_kwargs,
            )
            X = canonical_csr(X)
        if sample_weight is None:
            # _check_sample_weight's own answer for None
            sw = np.ones(X.shape[0])
        else:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                      ensure_non_negative=True)
        total = float(sw.sum())
        if not total > 0:
            raise ValueError(
                "sample_weight must have a positive sum; got sum "
                f"{total!r}."
            )
        s = sw / total  # a new array: the user's weights are never touched
        if not self.fit_intercept:
            xbar = np.zeros(X.shape[1])
        elif sp.issparse(X):
            xbar = np.asarray(X.T @ s, dtype=np.float64).ravel()
        else:
            xbar = np.asarray(s @ X, dtype=np.float64)
        return X, y, s, xbar, total

    def _decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr",
                          dtype=[np.float64, np.float32], reset=False)
        return safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_

    def _options(self):
        return SolverOptions(
            learning_rate=self.learning_rate,
            learning_rate_scale=self.learning_rate_scale,
            n_bisection=self.n_bisection,
            direction_step=self.direction_step,
            metric=self.metric,
        )

    # -- one problem -------------------------------------------------------

    def _solve(self, problem, rng, warm, ctx, reconstruct, unit=1.0):
        """Solve one problem; ``warm`` is ``(coef, intercept)`` or None.

        ``unit``: the problem's targets are the user's divided by it (a power
        of two); ``warm``, the verbose lines and the result are in the user's
        units, ``reconstruct`` multiplies by it itself.
        """
        # the whole solve, set-up included: a BLAS call of ours on a long
        # vector (a dot of n values) wakes OpenBLAS's threads, which then
        # spin for about a tenth of a second; one such dot before the limit
        # took, measured on a9a, half of both threads' speed in the passes
        # of the whole fit (the CSR Hessian 3.5 against 1.9 ms)
        with blas_single_thread(problem.design.nnz):
            return self._solve_limited(problem, rng, warm, ctx, reconstruct,
                                       unit)

    def _solve_limited(self, problem, rng, warm, ctx, reconstruct, unit):
        p = problem
        if warm is not None:
            warm = (warm[0] / unit, warm[1] / unit)
        res = _FitResult()
        res.direction_norm_curve = None
        res.scale_at_bound = False
        res.suboptimality = np.nan
        b0 = p.initial_intercept()
        coef0 = None
        constant = p.constant_columns()
        if warm is not None:
            coef, intercept = warm
            # coefficients of columns that are constant in this data lie
            # outside the range of S: no solver would move them, and they
            # would shift predictions on new data; drop them as a cold fit does
            coef = np.where(constant, 0.0, coef)
            t = p.margins(coef)
            norm_sq = float(p.s @ (t * t))
            shift = float(p.xbar @ coef)
            if (np.all(np.isfinite(coef))
                    and norm_sq > 1e-20 * (norm_sq + shift * shift)):
                b0 = float(intercept) + shift if p.fit_intercept else 0.0
                coef0 = coef
        if np.all(constant):
            return _in_units(self._intercept_only(p, b0, res), unit)
        solver = make_solver(self.solver, p, self._options())
        solver.start(coef0, b0, rng)
        status = self._iterate(solver, ctx, reconstruct, unit)
        curve = np.asarray(solver.loss_curve, dtype=np.float64)
        if (status not in (Status.DIVERGED, Status.STOPPED) and curve.size
                and curve[-1] > curve[0] + 1e-12 * abs(curve[0])):
            # the objective ended above its start: a step too long threw the
            # iterate into a region where the loss saturates (its gradient
            # vanishes there, so the run may even look converged)
            status = solver.restore_best()
        coef, b = solver.result()
        res.coef = coef
        res.intercept = b - float(p.xbar @ coef) if p.fit_intercept else 0.0
        res.n_iter = max(curve.size, 1)
        res.loss_curve = curve
        res.grad_norm_curve = np.asarray(solver.grad_norm_curve, dtype=np.float64)
        if solver.has_scale:
            res.direction_norm_curve = np.asarray(solver.direction_norm_curve,
                                                  dtype=np.float64)
            res.scale = float(solver.scale)
        else:
            res.scale = p.s_norm(coef)
        res.status = status
        res.scale_at_bound = bool(solver.scale_at_bound)
        res.suboptimality = (p.stopping.relative(curve[-1]) if curve.size
                             else np.nan)
        _in_units(res, unit)
        self._warn_status(res)
        return res

    def _iterate(self, solver, ctx, reconstruct, unit=1.0):
        """Drive ``solver`` to the end of the fit; return the final status."""
        for k in range(self.max_iter):
            sub = ctx.subcontext(task_name="iteration") if ctx else None
            if sub is not None:
                sub.call_on_fit_task_begin(estimator=self)
            status = solver.evaluate()
            if self.verbose and len(solver.loss_curve) > k:
                print(f"[{type(self).__name__}] solver={self.solver} iter {k}: "
                      f"objective={solver.loss_curve[k] * unit * unit:.10g} "
                      f"grad_norm={solver.grad_norm_curve[k] * unit:.3e}")
            if status == Status.RUNNING:
                if k == self.max_iter - 1:
                    status = Status.MAX_ITER
                else:
                    status = solver.step()
            stop = False
            if sub is not None:
                stop = sub.call_on_fit_task_end(
                    estimator=self,
                    reconstruction_attributes=lambda: reconstruct(solver),
                )
            if status != Status.RUNNING:
                return status
            if stop:
                # evaluate (without a further step) the iterate the callback
                # has just seen, so that coef_ and the curves agree
                solver.drop_momentum()
                solver.evaluate()
                return Status.STOPPED
        return Status.MAX_ITER

    def _intercept_only(self, p, b0, res):
        """Every feature is constant: only the intercept can be fit."""
        res.coef = np.zeros(p.n_features)
        res.intercept = b0
        res.n_iter = 1
        r = p.design.empty_rows()
        f, gb, _, _ = p.design.margin_pass(p.code, p.design.full_rows(0.0), 0.0,
                                           b0, p.y, p.s, r, np.empty(0))
        grad = p.design.rmatvec(r, np.empty(p.n_features))
        res.loss_curve = np.array([f])
        res.grad_norm_curve = np.array([
            original_grad_norm(grad, gb if p.fit_intercept else 0.0, p.xbar,
                               p.fit_intercept)])
        res.scale = 0.0
        res.status = Status.CONVERGED
        return res

    def _warn_status(self, res):
        final = res.grad_norm_curve[-1] if res.grad_norm_curve.size else np.nan
        name = type(self).__name__
        est = res.suboptimality
        est_msg = (f", its relative suboptimality is estimated at {est:.3e}"
                   if np.isfinite(est) else "")
        if res.status == Status.MAX_ITER:
            warnings.warn(
                f"{name}(solver={self.solver!r}) reached max_iter={self.max_iter} "
                f"without converging: the final gradient norm is {final:.3e}"
                f"{est_msg}; tol={self.tol:.3e} bounds the relative "
                "suboptimality. Increase max_iter, or standardise the features.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif res.status == Status.DIVERGED:
            start = (f"({res.loss_curve[0]:.6g})" if res.loss_curve.size
                     else "(itself non-finite)")
            warnings.warn(
                f"{name}(solver={self.solver!r}) diverged: the objective became "
                f"non-finite or ended above its starting value {start} with "
                f"learning_rate={self.learning_rate!r}. The best iterate seen "
                "is returned (loss_curve_ keeps the whole run); use a smaller "
                "learning_rate or 'auto'.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif res.status == Status.SCALE_CAP:
            warnings.warn(
                f"{name}(solver={self.solver!r}): the best scale g is unbounded "
                f"and reached the cap |g| = {MAX_SCALE:g} (in units of the "
                "normalised margin). The data may be linearly separable, or the "
                "loss is the sigmoid, whose infimum is the 0-1 loss at g = inf. "
                "The capped, finite solution is returned; a finite C bounds "
                "the scale.",
                ConvergenceWarning,
                stacklevel=5,
            )
        if res.scale_at_bound and res.status != Status.SCALE_CAP:
            warnings.warn(
                f"{name}(solver={self.solver!r}): the last scale search ended at "
                "its trust-region bound, i.e. the objective still decreases as "
                f"the scale grows (g = {res.scale:.4g}). For the sigmoid loss "
                "the infimum is the 0-1 loss at g = inf: the small gradient "
                "norm reflects the saturated loss, not a finite optimum.",
                ConvergenceWarning,
                stacklevel=5,
            )
        if res.status == Status.STALLED and not (
                np.isfinite(est) and est <= self.tol):
            warnings.warn(
                f"{name}(solver={self.solver!r}) stopped after {res.n_iter} "
                "iterations: no step decreases the objective any more (numerical "
                f"precision reached); the final gradient norm is {final:.3e}"
                f"{est_msg} (tol={self.tol:.3e}).",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _problem(self, design, y, s, code, alpha):
        return Problem(design, y, s, code, alpha, self.fit_intercept, self.tol)

    def _end_callbacks(self, ctx, X, y):
        """Close the fit's callback task with the fitted coefficients."""
        super()._end_callbacks(ctx, X, y, {"coef_": self.coef_,
                                           "intercept_": self.intercept_})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _plain_arrays(X, y):
    """Whether ``check_X_y`` would return ``X`` and ``y`` as they are.

    That is: NumPy arrays (not subclasses), ``X`` two-dimensional, C-ordered,
    float64 or float32 with at least one row and column and no NaN or inf,
    ``y`` one-dimensional, of a boolean, integer or float dtype (finite), one
    label per row. Every other input takes scikit-learn's own validation,
    with its conversions and its error messages. On a fit of a few
    milliseconds the full check costs about 0.15 ms, two thirds of it in
    testing for dataframe types that a plain array is not (measured with
    scikit-learn 1.9 on 1000 x 10).
    """
    if type(X) is not np.ndarray or type(y) is not np.ndarray:
        return False
    if (X.ndim != 2 or y.ndim != 1 or X.dtype not in _FIT_DTYPES
            or not X.flags.c_contiguous or X.shape[0] < 1 or X.shape[1] < 1
            or y.shape[0] != X.shape[0] or y.dtype.kind not in "biuf"):
        return False
    if get_config()["assume_finite"]:  # as scikit-learn skips its test
        return True
    if not dense_all_finite(X):
        return False
    with np.errstate(over="ignore"):  # scikit-learn's own test for y
        return y.dtype.kind != "f" or bool(np.isfinite(np.sum(y)))


_FIT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def check_finite_fit(coef, intercept):
    """Guard against NaN/inf in fitted attributes (a solver bug otherwise)."""
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise FloatingPointError(
            "the solver produced non-finite coefficients; please report this "
            "with the data that triggers it"
        )


def make_design(X, xbar):
    """The solvers' view of ``X`` (no copy; row chunks stay where they are)."""
    if is_chunked(X):
        return ChunkedDesign(X, xbar)
    return Design(X, xbar)


def penalty_from_C(C, total_weight):
    """The internal ``alpha`` of ``C sum_i sw_i l_i + ||coef||^2 / 2``."""
    return 0.0 if math.isinf(C) else 1.0 / (C * total_weight)


__all__ = ["NormalizedLinearModel", "check_finite_fit", "make_design",
           "penalty_from_C"]
