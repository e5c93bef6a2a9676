"""The solver interface: the problem, the status codes, the registry.

Every solver is a :class:`Solver`: built from a :class:`Problem` and its
options by one constructor signature, started at a point, and driven by the
estimator one iteration at a time through the same three methods, whatever
the solver::

    solver = make_solver(name, problem, options)
    solver.start(coef, intercept, random_state)
    for k in range(max_iter):
        status = solver.evaluate()      # record f, gradient norm at the iterate
        if status is not Status.RUNNING or k == max_iter - 1:
            break
        status = solver.step()          # move to the next iterate
        ...
    coef, intercept = solver.result()

The passes over ``X`` are parallel inside each call (:mod:`skbnorm._threads`),
so the loop itself stays in Python: ``verbose``, callbacks and early stops
need no chunking.
"""

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .._validation import SMALLEST_FEATURE, check_feature_range
from ..objectives._design import dot
from ..objectives._losses import CURVATURE_BOUND, SIGMOID, SQUARED
from ._stopping import StoppingRule


class Status(IntEnum):
    """Where a fit stands after an evaluation or a step."""

    #: the fit goes on
    RUNNING = 0
    #: the suboptimality estimate fell to ``tol`` (see :class:`StoppingRule`)
    CONVERGED = 1
    #: ``max_iter`` iterates were evaluated
    MAX_ITER = 2
    #: the objective became non-finite or ended above its start; the best
    #: iterate seen was restored
    DIVERGED = 3
    #: no step decreases the objective any more (numerical optimum, or a
    #: degenerate point such as ``g = 0``)
    STALLED = 4
    #: the best scale ``g`` is unbounded and hit the cap
    SCALE_CAP = 5
    #: a callback asked the fit to stop
    STOPPED = 6


#: Largest |g| the scale search may reach, in units of the normalised margin
#: ``t / ||w||_S`` (unit RMS): margins of RMS 1e4 saturate every loss here.
MAX_SCALE = 1e4


@dataclass
class SolverOptions:
    """The estimator parameters a solver may read (one signature for all)."""

    learning_rate: object = "auto"
    learning_rate_scale: object = "auto"
    n_bisection: int = 30
    direction_step: str = "subspace"
    metric: str = "auto"


#: the largest weighted mean square of a column the solvers accept. They
#: multiply several such magnitudes (margins, curvatures, Lipschitz
#: constants): features of 1e55 overflowed bn's and wn's steps, 1e80 agd's,
#: and 1e100 the default solver silently (chance-level accuracy, no
#: warning); 1e50 fits with every solver as 1 does
MAX_COLUMN_SQ_MEAN = 1e100


def check_magnitude(sq, design=None):
    """ValueError unless every column's mean square ``sq`` is at most
    :data:`MAX_COLUMN_SQ_MEAN` (features of magnitude up to about 1e50) and,
    given the ``design``, no nonzero column is so small that its squares
    underflow (:func:`skbnorm._validation.check_feature_range`; only the
    columns whose ``sq`` is below ``SMALLEST_FEATURE ** 2`` are read again)."""
    if design is not None:
        # columns of zeros land here too (one-hot data has many): the reread
        # touches only the stored values, or the rows, of these columns
        tiny = np.flatnonzero(~(sq >= SMALLEST_FEATURE ** 2))
        if tiny.size:
            check_feature_range(design.X, tiny, largest=None,
                                n_features=design.shape[1])
    top = float(np.max(sq)) if sq.size else 0.0
    if not top <= MAX_COLUMN_SQ_MEAN:
        j = int(np.argmax(np.where(np.isfinite(sq), sq, np.inf)))
        raise ValueError(
            f"X's column {j} has values of magnitude about "
            f"{math.sqrt(top) if np.isfinite(top) else float('inf'):.1e}: "
            "features beyond about 1e50 overflow the solvers' float64 "
            "arithmetic. Rescale the features (for example with "
            "StandardScaler or MaxAbsScaler)."
        )


class Problem:
    """Everything a solver needs about the data, built once per fit.

    The objective, in centered coordinates ``(w~, b)``, is

    .. math::

        F(\\tilde w, b) = \\sum_i s_i\\, l(x_{ci}^\\top \\tilde w + b, y_i)
        + \\frac{\\alpha}{2}\\lVert \\tilde w\\rVert^2

    with ``s`` the sample weights normalised to sum to one.

    Parameters
    ----------
    design : Design
        ``X`` with its centering ``xbar`` (zeros without an intercept).
    y : ndarray of shape (n_samples,)
        Targets (least squares) or labels in {-1, +1}.
    s : ndarray of shape (n_samples,)
        Normalised sample weights.
    code : int
        The loss code (:mod:`skbnorm.objectives._losses`).
    alpha : float
        The penalty on the weighted mean loss.
    fit_intercept : bool
        Whether ``b`` is a free parameter.
    tol : float
        The relative suboptimality at which a fit stops.
    """

    def __init__(self, design, y, s, code, alpha, fit_intercept, tol):
        self.design = design
        self.xbar = design.xbar
        self.y = y
        self.s = s
        self.code = code
        self.alpha = float(alpha)
        self.fit_intercept = bool(fit_intercept)
        self.tol = float(tol)
        self.n_samples, self.n_features = design.shape
        self.curvature = CURVATURE_BOUND[code]
        self.convex = code != SIGMOID
        self._lipschitz = None
        self._u = None
        self.stopping = StoppingRule(self)

    @property
    def lipschitz(self):
        """``L = lambda_max(S)``, ``S = E_s[x_c x_c^T]``, by Lanczos."""
        if self._lipschitz is None:
            from ._lanczos import lanczos_lmax

            self._lipschitz = lanczos_lmax(self.design, self.s,
                                           min(self.n_features, 40))
        return self._lipschitz

    @property
    def lipschitz_if_known(self):
        """``L`` if a solver computed it, else NaN (no Lanczos just for this)."""
        return np.nan if self._lipschitz is None else float(self._lipschitz)

    @property
    def lipschitz_coef(self):
        """``L_f = sup|l''| L + alpha``: smoothness of the objective in ``w~``."""
        return self.curvature * self.lipschitz + self.alpha

    @property
    def u(self):
        """``u = E_s[z]`` with ``z = -y x_c`` (least squares: ``E_s[-y x_c]``)."""
        if self._u is None:
            self._u = self.design.rmatvec(-self.y * self.s,
                                          np.empty(self.n_features))
        return self._u

    def gram(self):
        """``K = X_c X_c^T`` (``n x n``), formed once, for wide designs."""
        if getattr(self, "_gram", None) is None:
            D = self.design
            X = D.matrix() if D.sparse else D.X
            if D.sparse:
                K = np.asarray((X @ X.T).todense(), dtype=np.float64)
            else:
                # float64 as the centering below would make it (a float32
                # design's products rounded as they were)
                K = np.asarray(X @ X.T, dtype=np.float64)
            if np.any(self.xbar):
                # in place, in the order of K - m_i - m_j + c: the same
                # rounding without three n x n temporaries
                m = np.asarray(X @ self.xbar).ravel()
                K -= m[:, None]
                K -= m[None, :]
                K += float(self.xbar @ self.xbar)
            self._gram = K
        return self._gram

    def margins(self, w, out=None):
        """``X_c w``."""
        if out is None:
            out = self.design.empty_rows()
        return self.design.matvec(w, out)

    def s_norm(self, w, t=None):
        """``||w||_S`` (``t`` receives the margins ``X_c w``)."""
        t = self.margins(w, t)
        return math.sqrt(self.design.weighted_sq_norm(t, self.s))

    def bn_coef(self, w, g, t=None):
        """``w~ = g w/||w||_S``, using ``t`` as scratch for the margins."""
        return g * w / self.s_norm(w, t)

    def constant_columns(self):
        """Columns whose weighted variance vanishes up to rounding.

        Raises ValueError for features too large or too small for the
        solvers' float64 arithmetic (:func:`check_magnitude`).
        """
        return self.design.constant_columns(
            self.s, lambda sq: check_magnitude(sq, self.design))

    def random_direction(self, random_state):
        """A random direction in the range of ``S`` with ``||w||_S = 1``.

        ``w = S xi`` for a Gaussian ``xi`` in feature space: it lies in the
        range of ``S`` (so ``||w||_S > 0`` unless ``S = 0``) and depends on the
        data only through ``S``, so duplicating rows or scaling the weights
        gives the same start. Returns ``None`` when ``S = 0``.
        """
        xi = random_state.standard_normal(self.n_features)
        t = self.margins(xi)
        # columns constant up to the rounding of their centering are constant:
        # compare the centered energy with the uncentered one
        shift = dot(self.xbar, xi)
        centered = self.design.weighted_sq_norm(t, self.s)
        if not centered > 1e-20 * (centered + shift * shift):
            return None
        w = self.design.rmatvec(self.s * t, np.empty(self.n_features))
        self.margins(w, t)
        norm_sq = self.design.weighted_sq_norm(t, self.s)
        if not norm_sq > 1e-300 or not np.isfinite(norm_sq):
            return None
        return w / math.sqrt(norm_sq)

    def initial_intercept(self):
        """The best intercept of the model with ``w~ = 0`` (the start of b)."""
        if not self.fit_intercept:
            return 0.0
        if self.code == SQUARED:
            return float(self.s @ self.y)
        p_pos = float(self.s @ (self.y > 0))
        p_pos = min(max(p_pos, 1e-12), 1 - 1e-12)
        return math.log(p_pos / (1.0 - p_pos))


class Solver(ABC):
    """One optimiser of a :class:`Problem`.

    Subclasses set :attr:`name` and implement :meth:`start`,
    :meth:`evaluate`, :meth:`step` and :meth:`result`; the history of the
    evaluated iterates is kept here.
    """

    #: the registry name (``solver=`` of the estimators)
    name = None
    #: whether :attr:`scale` is the BN/WN length ``g`` (else ``||coef||_S``)
    has_scale = True
    #: whether the solver runs on a design in row chunks (a dask array,
    #: :mod:`skbnorm.objectives._chunked`): it reaches the rows only through
    #: the design's passes and per-row vectors
    chunked = False

    def __init__(self, problem, options):
        self.problem = problem
        self.options = options
        self.loss_curve = []
        self.grad_norm_curve = []
        self.direction_norm_curve = []

    @abstractmethod
    def start(self, coef, intercept, random_state):
        """Start at ``(coef, intercept)`` (centered coordinates), or at the
        solver's own start when ``coef`` is None."""

    @abstractmethod
    def evaluate(self):
        """Evaluate the objective and its gradient at the current iterate,
        record them, and return :class:`Status` (``RUNNING`` unless the
        iterate ends the fit)."""

    @abstractmethod
    def step(self):
        """Move to the next iterate; return ``RUNNING`` or why not."""

    @abstractmethod
    def result(self):
        """``(coef, intercept_centered)`` of the current iterate."""

    def drop_momentum(self):  # noqa: B027 (a no-op unless there is momentum)
        """Make the next evaluation that of the current iterate itself."""

    def restore_best(self):
        """Make the best iterate seen the result; return the status to report."""
        return Status.DIVERGED

    @property
    def scale_at_bound(self):
        """Whether the last scale search ended at its trust-region bound."""
        return False

    @property
    def scale(self):
        """The length ``g`` of the current iterate."""
        coef, _ = self.result()
        return self.problem.s_norm(coef)

    def _record(self, f, grad_norm, direction_norm=np.nan):
        self.loss_curve.append(f)
        self.grad_norm_curve.append(grad_norm)
        self.direction_norm_curve.append(direction_norm)


_REGISTRY = {}


def register(cls):
    """Class decorator: make ``cls`` available as ``solver=cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def solver_names():
    """The registered solver names, in registration order."""
    return tuple(_REGISTRY)


def fits_chunks(name, options):
    """Whether solver ``name`` with ``options`` fits a design in row chunks
    (a registry entry that picks its class from the options says so by a
    ``fits_chunks(options)`` of its own)."""
    cls = _REGISTRY.get(name)
    if cls is None:
        return False
    if hasattr(cls, "fits_chunks"):
        return bool(cls.fits_chunks(options))
    return bool(getattr(cls, "chunked", False))


def make_solver(name, problem, options):
    """The registered solver ``name`` for ``problem``."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown solver {name!r}; the registered solvers are "
            f"{sorted(_REGISTRY)}."
        ) from None
    return cls.create(problem, options) if hasattr(cls, "create") else \
        cls(problem, options)
