"""Least squares with normalized solvers."""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval

from .._dask import predicts_rows
from .._validation import check_target_range, power_of_two_unit, weighted_rms
from ..objectives._chunked import is_chunked, released
from ..objectives._losses import SQUARED
from ._base import (
    LazyRandomState,
    NormalizedLinearModel,
    check_finite_fit,
    make_design,
)
from ._docs import ATTRIBUTES_DOC, REFERENCES_DOC, SOLVER_DOC


class NormalizedLinearRegression(RegressorMixin, NormalizedLinearModel):
    __doc__ = (
        r"""Least squares solved in the length-direction (BN) parametrisation.

    Minimises, with sample weights ``sw``,

    .. math::

        \sum_i sw_i (y_i - x_i^\top w - b)^2 + \alpha \lVert w \rVert^2,

    the objective of :class:`sklearn.linear_model.Ridge` with the same
    ``alpha``; ``alpha = 0`` (the default) is
    :class:`sklearn.linear_model.LinearRegression` (the minimum-norm solution
    when ``S`` is singular, since every solver stays in the range of ``S``).

    On least squares ``gdnp`` is Kohler et al.'s Theorem 1 iteration: the
    optimal scale ``g* = -u^T w/||w||_S`` is found exactly and the direction
    follows ``w <- w + 2 eta_t ((u^T w) u + rho(w) S w)/(w^T S w)`` with
    ``eta_t = w^T S w/(2 L |rho(w)|)``, ``u = E[-y x_c]``,
    ``rho(w) = -(u^T w)^2/(w^T S w)``; the suboptimality then obeys
    ``f_t - f* <= (1 - mu/L)^(2t) (f_0 - f*)``.

    Parameters
    ----------
    alpha : float, default=0.0
        L2 penalty, as :class:`~sklearn.linear_model.Ridge`'s ``alpha``.
        Internally the objective is divided by ``2 sum(sw)``: ``loss_curve_``
        holds ``sum_i s_i (y_i - x_i^T w - b)^2 / 2 + a/2 ||w||^2`` with
        ``s = sw/sum(sw)`` and ``a = alpha/sum(sw)``.
"""
        + SOLVER_DOC
        + r"""
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients ``w~`` (the same in original and centered coordinates).

    intercept_ : float
        Intercept in original coordinates, ``b - xbar^T coef_``.

    n_iter_ : int
        Number of iterations run.

    loss_curve_ : ndarray of shape (`n_iter_`,)
        The objective at every iterate, ``loss_curve_[0]`` at the start.

    grad_norm_curve_ : ndarray of shape (`n_iter_`,)
        The gradient norm (in ``(coef_, intercept_)``) at every iterate.

    direction_norm_curve_ : ndarray of shape (`n_iter_`,) or None
        ``||w_t||_2`` of the direction for bn and wn (its growth is the
        auto rate-tuning of Arora et al.); for gdnp, which renormalises ``w``,
        the norm before renormalisation is 1 in the S-norm; None for gd/agd.

    scale_ : float
        The scale ``g`` (bn, gdnp: ``g = ||coef_||_S`` up to sign; wn:
        ``||coef_||_2`` up to sign; gd/agd: ``||coef_||_S``).
"""
        + ATTRIBUTES_DOC
        + r"""
    See Also
    --------
    NormalizedLogisticRegression : The softplus halfspace model.
    sklearn.linear_model.LinearRegression : Direct least squares.
"""
        + REFERENCES_DOC
        + r"""
    Examples
    --------
    >>> import numpy as np
    >>> from skbnorm import NormalizedLinearRegression
    >>> rng = np.random.RandomState(0)
    >>> X = rng.standard_normal((100, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    >>> reg = NormalizedLinearRegression(random_state=0).fit(X, y)
    >>> np.round(reg.coef_, 4), round(reg.intercept_, 4)
    (array([ 1. , -2. ,  0.5]), 3.0)
"""
    )

    _parameter_constraints = {
        **NormalizedLinearModel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        alpha=0.0,
        *,
        solver="gdnp",
        max_iter=1000,
        tol=1e-6,
        learning_rate="auto",
        learning_rate_scale="auto",
        n_bisection=30,
        direction_step="subspace",
        metric="auto",
        fit_intercept=True,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.learning_rate_scale = learning_rate_scale
        self.n_bisection = n_bisection
        self.direction_step = direction_step
        self.metric = metric
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data. Sparse input is used as CSR without densifying
            or copying; other sparse formats are converted to CSR once. A
            row-chunked dask array (dense or CSR chunks; the default solver,
            ``"gd"`` or ``"agd"``) stays in its chunks, on the workers of an
            active ``distributed`` client (see the user guide's distributed
            page).

        y : array-like of shape (n_samples,)
            Target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, acting as repetitions (a dask array, or
            an in-memory one, with a dask ``X``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        warm = None
        if self.warm_start and hasattr(self, "coef_"):
            warm = (self.coef_.copy(), float(self.intercept_))
        X, y, s, xbar, total = self._validate_fit_input(X, y, sample_weight,
                                                        y_numeric=True)
        with released(X):
            if not is_chunked(X):  # row chunks are float64 already
                y = np.array(y, dtype=np.float64, order="C")
            if warm is not None and warm[0].shape[0] != X.shape[1]:
                warm = None
            # the solvers fit y in a unit of its spread, a power of two (exact):
            # the coefficients scale with y, but the solvers' starts and inner
            # tolerances are set for targets of unit size (targets of 1e-9 gave
            # R^2 = 0, the subspace solve taking their gradient for zero; gd's
            # random start of unit size gave R^2 = -744 at 1e-6). With an
            # intercept the spread is about the mean: a unit set by the mean of
            # y = 1e6 + O(1) left bn and wn a centred target of 1e-6 (R^2 0.06)
            check_target_range(y)
            spread = y - float(s @ y) if self.fit_intercept else y
            unit = float(power_of_two_unit(weighted_rms(spread, s)))
            problem = self._problem(make_design(X, xbar), y / unit, s, SQUARED,
                                    self.alpha / total)
            rng = LazyRandomState(self.random_state)
            ctx = self._init_callbacks(X, y, self.max_iter, sample_weight)

            def reconstruct(solver):
                coef, b = solver.result()
                intercept = b - float(xbar @ coef) if self.fit_intercept else 0.0
                return {"coef_": coef * unit, "intercept_": intercept * unit}

            res = self._solve(problem, rng, warm, ctx, reconstruct, unit)
            check_finite_fit(res.coef, res.intercept)
            self.coef_ = res.coef
            self.intercept_ = float(res.intercept)
            self.n_iter_ = res.n_iter
            self.loss_curve_ = res.loss_curve
            self.grad_norm_curve_ = res.grad_norm_curve
            self.direction_norm_curve_ = res.direction_norm_curve
            self.scale_ = float(res.scale)
            self.suboptimality_ = float(res.suboptimality)
            self.lipschitz_ = problem.lipschitz_if_known
            self._end_callbacks(ctx, X, y)
            return self

    @predicts_rows
    def predict(self, X):
        """Predict with the linear model ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Samples. A dask array (dense or scipy CSR chunks) gives a
            dask array with its row chunks, computed chunk by chunk where
            the chunks are.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted values.
        """
        return self._decision(X)
