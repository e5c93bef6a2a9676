"""Estimators: the convex BN-ReLU network for regression and classification."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._callbacks import FitCallbacks
from .._dask import predicts_rows
from .._validation import check_feature_range, check_target_range
from ._arrangements import enumerate_patterns, max_patterns, sample_patterns
from ._certify import (
    MAX_ROUNDS,
    SEARCH_ROUNDS,
    UncertifiedWarning,
    working_set_solve,
)
from ._network import (
    _bn_stats,
    bn_relu_forward,
    closed_form,
    prune_groups,
    recover_network,
    whiten,
)
from ._solver import CHECK_EVERY, network_value

_MODEL_DOC = r"""
    The model is a two-layer ReLU network with a Batch Normalization
    transform of every hidden unit's pre-activation, with population
    statistics over the training batch:

    .. math::

        f(x) = \sum_{j=1}^m \operatorname{relu}\Big(\gamma_j
        \frac{x^\top w_j - \mu_j}{\sigma_j} + \alpha_j\Big)\, v_j,\qquad
        \mu_j = \tfrac1n \textstyle\sum_i x_i^\top w_j,\quad
        \sigma_j^2 = \tfrac1n \textstyle\sum_i (x_i^\top w_j - \mu_j)^2,

    trained on

    .. math::

        \tfrac12 \lVert f(X) - y\rVert^2
        + \tfrac{\beta}{2} \textstyle\sum_j (\gamma_j^2 + \alpha_j^2 + v_j^2)

    (a sum over samples, not a mean) to its *global* minimum over networks
    of any width. With the centered data's compact SVD
    :math:`X_c = U\Sigma V^\top` and :math:`U' = [U, \mathbf 1/\sqrt n]`,
    :math:`\mathrm{BN}(Xw) = U's` with :math:`s = \sqrt n[\gamma q/\lVert
    q\rVert; \alpha]`, :math:`q = \Sigma V^\top w`, and the problem is the
    convex program (Ergen et al. 2022; Pilanci and Ergen 2020)

    .. math::

        \min_{u_i, u'_i}\ \tfrac12 \Big\lVert \sum_i D_i U'(u_i - u'_i)
        - y\Big\rVert^2 + \lambda \sum_i (\lVert u_i\rVert + \lVert u'_i
        \rVert)\quad \text{s.t. } (2D_i - I)U'u_i \ge 0,\ (2D_i - I)U'u'_i
        \ge 0,

    :math:`\lambda = \beta/\sqrt n`, over the activation patterns
    :math:`D_i = \mathrm{diag}(1[U'a_i \ge 0])`. Each non-zero group is one
    hidden unit: :math:`v = \pm n^{-1/4}\sqrt{\lVert u\rVert}`,
    :math:`(\gamma, \alpha)` from :math:`s = n^{1/4} u/\sqrt{\lVert u\rVert}`
    and :math:`w = \sqrt n V\Sigma^{-1} q/\lVert q\rVert` (scaled to unit
    training spread). The program equals the network's problem when every
    pattern is present. It is solved over a working set: ``n_patterns``
    patterns sampled from random directions, then, round by round, the
    patterns whose dual constraint the solution violates (ADMM continues
    from its state). When the arrangement's number of cells (at most
    :math:`2\sum_{i<k}\binom{n-1}{i}`, ``k = rank + 1``) is at most
    ``max_cells`` every cell is enumerated and checked, and a fit that ends
    with none violated is *certified*: ``objective_ - duality_gap_`` bounds
    the objective of every network of any width from below
    (``certified_``). Otherwise the violated patterns are searched for
    (ascent on the dual constraint from the units, the data's directions and
    random ones), which improves the network but proves nothing beyond the
    working set; an :class:`~skbnorm.convex.UncertifiedWarning` says so.

    BN makes the model invariant to invertible linear maps of the features:
    only the span of the centered data matters, so no feature scaling is
    needed. When ``n_samples <= n_features`` (the centered data have rank
    ``n - 1``, :math:`U'` is square) the optimum is in closed form (two
    units at most; see :func:`skbnorm.convex.closed_form`), used by
    ``solver="auto"``.
"""

_PARAMS_DOC = """
    Parameters
    ----------
    beta : float, default=1.0
        Weight decay on the BN scales and shifts and the output weights;
        must be positive (at ``beta = 0`` the dual bound is 0 and no
        certificate exists; the fit would interpolate).

    n_patterns : int, default=128
        Size of the first working set of patterns, sampled from random
        directions (duplicates are dropped, so fewer may be used); all the
        cells when the arrangement is enumerated and has at most this many.

    max_cells : int, default=50000
        Enumerate (and certify over) every cell of the arrangement when
        Cover's bound on their number is at most this; ``0`` never does.
        The enumeration (compiled deletion--restriction) takes 3-6 us per
        cell on these two cores and ``n`` bytes per cell (0.1 s and 1 MB
        for 20000 cells of 40 samples; 7 s and 53 MB for 1.3 million); the
        fit's time goes to its working-set rounds, each of which checks
        every cell (an ``n x k`` product per cell, and a small non-negative
        least-squares problem for those the product does not clear, about
        4 us each). The default is the largest budget at which every
        certified fit of the benchmark panel took at most 10 s (39300
        cells: 9.2 s; the next, 68560 cells: 39 s); ``max_cells=10**6``
        certifies arrangements of up to a million cells in minutes (see the
        user guide).

    solver : {"auto", "admm"}, default="auto"
        ``"admm"``: the ADMM solver of the convex program. ``"auto"``: the
        closed form when ``U'`` is square, else ``"admm"``.

    max_iter : int or "auto", default="auto"
        ADMM iterations at most per working-set round (and output).
        ``"auto"``: 100000 when the arrangement is enumerated (then ``n`` is
        small, at most about 140, and an iteration costs tens of
        microseconds), 10000 otherwise. The rounds that look for violated
        patterns solve to ``10 * tol`` (a few hundred iterations each); the
        last one, to ``tol``, took 11500 to more than 30000 iterations on
        problems of tens of samples (the smaller ``beta``, the more).

    tol : float, default=1e-3
        Stop when the duality gap is at most ``tol`` times the objective
        (over the working set, and over all cells when they are enumerated).
        ADMM converges sublinearly here: on problems of tens of samples a
        gap of ``1e-3`` takes hundreds to a few thousand iterations, ``1e-4``
        up to ten times more.

    random_state : int, RandomState instance or None, default=None
        Seeds the sampled patterns.

    verbose : int, default=0
        Print the objective and duality gap every 25 ADMM iterations. The
        same checks are the tasks scikit-learn's callbacks see
        (``set_callbacks``); a callback returning True stops the fit there.
"""

_ATTRS_DOC = """
    coefs_ : ndarray of shape (n_features, `n_neurons_`)
        First-layer weights ``w_j``, scaled so that ``X w_j`` has unit
        standard deviation on the training data.

    bn_gamma_, bn_beta_ : ndarray of shape (`n_neurons_`,)
        BN scales ``gamma_j`` and shifts ``alpha_j``.

    bn_mean_, bn_std_ : ndarray of shape (`n_neurons_`,)
        The training (population) statistics of ``X w_j`` used by predict.

    output_weights_ : ndarray of shape (`n_neurons_`,) or (`n_neurons_`, n_outputs)
        Output weights ``v``; with several outputs (one-vs-rest classes or a
        2-d ``y``) each unit feeds one output only.

    n_neurons_ : int
        Number of hidden units (non-zero groups). After ADMM the groups are
        pruned to at most ``n_samples + 1`` per output with the same
        training objective and predictions (Caratheodory's theorem: the
        pieces of the output and the penalty are redistributed over a
        linearly independent subset).

    objective_ : float
        The training objective of the fitted network (summed over outputs),
        which is the convex program's value at a feasible point.

    duality_gap_ : float
        ``objective_`` minus the dual lower bound (summed over outputs). With
        exhaustive patterns and one output it certifies that no network of
        any width has an objective below ``objective_ - duality_gap_``. With
        sampled patterns the bound is that of the program over those
        patterns only, and the gap can be negative (the network, whose units
        may leave their sampled patterns, beats that program). With several
        outputs the bound holds over networks whose units each feed one
        output (see Notes).

    n_iter_ : int
        ADMM iterations (the largest over outputs; 0 for the closed form).

    exhaustive_ : bool
        Whether every cell of the arrangement was enumerated and checked.

    certified_ : bool
        Whether ``objective_ - duality_gap_`` is a lower bound on the
        objective of every network of any width (every output's working-set
        solve ended with no enumerated cell violated, or the closed form).

    n_patterns_ : int
        Number of distinct patterns in the final working set (the largest
        over outputs).

    n_rounds_ : int
        Working-set rounds (the largest over outputs; 0 for the closed form).

    n_features_in_ : int
        Number of features seen during fit.
"""

_REFS_DOC = """
    References
    ----------
    .. [1] T. Ergen, A. Sahiner, B. Ozturkler, J. Pauly, M. Mardani and
       M. Pilanci, "Demystifying Batch Normalization in ReLU Networks:
       Equivalent Convex Optimization Models and Implicit Regularization",
       ICLR 2022.
    .. [2] M. Pilanci and T. Ergen, "Neural Networks are Convex Regularizers:
       Exact Polynomial-time Convex Optimization Formulations for Two-layer
       Networks", ICML 2020.
    .. [3] S. Boyd, N. Parikh, E. Chu, B. Peleato and J. Eckstein,
       "Distributed Optimization and Statistical Learning via the
       Alternating Direction Method of Multipliers", 2011.
"""


class _RoundTasks:
    """A callback task per working-set round, a task per ADMM certificate
    check (every 25 iterations) inside it; each task's model is the network
    recovered from the current iterate (``attributes(Z)``: the outputs not
    fitted yet predict zero)."""

    def __init__(self, est, ctx, attributes, max_checks):
        self.est, self.parent = est, ctx
        self.attributes, self.max_checks = attributes, max_checks
        self.ctx = None

    def begin(self, r):
        """Open round ``r``'s task; return ADMM's check callback."""
        self.ctx = self.parent.subcontext(task_name="working-set round",
                                          max_subtasks=self.max_checks)
        self.ctx.call_on_fit_task_begin(estimator=self.est)
        return self._check

    def _check(self, Z, info):
        sub = self.ctx.subcontext(task_name="admm check")
        sub.call_on_fit_task_begin(estimator=self.est)
        return sub.call_on_fit_task_end(
            estimator=self.est, reconstruction_attributes=self.attributes(Z))

    def end(self, Z, info):
        """Close the round's task; True if a callback asks to stop."""
        return self.ctx.call_on_fit_task_end(
            estimator=self.est, reconstruction_attributes=self.attributes(Z))


def _network_attributes(units, n_out, one_output, X):
    """The fitted attributes of the merged network of ``units`` (output
    index -> recovered ``(W, gamma, alpha, v)``); outputs without units
    predict zero."""
    order = sorted(units)
    W = np.hstack([units[c][0] for c in order])
    m = W.shape[1]
    out = np.zeros((m, n_out))
    start = 0
    for c in order:
        v = units[c][3]
        out[start:start + v.size, c] = v
        start += v.size
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(out))):
        raise FloatingPointError(
            "the convex solver produced non-finite values; please report "
            "this with the data that triggers it"
        )
    bn_mean, bn_std = _bn_stats(np.asarray(X @ W))
    return {
        "coefs_": W,
        "bn_mean_": bn_mean,
        "bn_std_": bn_std,
        "bn_gamma_": np.concatenate([units[c][1] for c in order]),
        "bn_beta_": np.concatenate([units[c][2] for c in order]),
        "output_weights_": out[:, 0] if one_output else out,
        "n_neurons_": m,
    }


class _ConvexBNReLUBase(FitCallbacks, BaseEstimator):
    _parameter_constraints: dict = {
        "beta": [Interval(Real, 0, None, closed="neither")],
        "n_patterns": [Interval(Integral, 1, None, closed="left")],
        "max_cells": [Interval(Integral, 0, None, closed="left")],
        "solver": [StrOptions({"auto", "admm"})],
        "max_iter": [Interval(Integral, 1, None, closed="left"),
                     StrOptions({"auto"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, beta=1.0, n_patterns=128, max_cells=50000,
                 solver="auto", max_iter="auto", tol=1e-3, random_state=None,
                 verbose=0):
        self.beta = beta
        self.n_patterns = n_patterns
        self.max_cells = max_cells
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def _fit_targets(self, X, Y, one_output, y=None):
        """Fit one network per column of ``Y`` (n x n_outputs), then merge;
        ``one_output`` makes ``output_weights_`` a vector."""
        n = X.shape[0]
        n_out = Y.shape[1]
        xbar, V, sigma, A = whiten(X)
        k = A.shape[1]
        bound = max_patterns(n, k)
        enumerable = bound <= self.max_cells
        max_iter = self.max_iter
        if max_iter == "auto":
            max_iter = 100000 if enumerable else 10000
        # the working set's rounds, and the last one to tol
        n_rounds_max = (MAX_ROUNDS if enumerable else SEARCH_ROUNDS) + 1
        ctx = self._init_callbacks(X, y, n_out if n_out > 1 else n_rounds_max)
        lam = self.beta / np.sqrt(n)
        square = k == n
        closed = square and self.solver == "auto"
        cells = None
        if closed:
            patterns = None
            self.exhaustive_ = True
            self.n_patterns_ = 2
        else:
            rng = check_random_state(self.random_state)
            if enumerable:
                cells = enumerate_patterns(A)
            if cells is not None and cells.shape[1] <= self.n_patterns:
                patterns = cells
            else:
                patterns = sample_patterns(A, self.n_patterns, rng)
            self.exhaustive_ = cells is not None
            search_rng = np.random.default_rng(rng.randint(2**31))
        units = {}
        objective = 0.0
        gap = 0.0
        n_iter = 0
        n_rounds = 0
        n_used = 0
        certified = True
        stopped = False
        for c in range(n_out):
            y_c = np.ascontiguousarray(Y[:, c], dtype=np.float64)
            if closed:
                Z, obj, g = closed_form(A, y_c, lam)
                it = 0
            else:
                sub = ctx
                if ctx is not None and n_out > 1:
                    sub = ctx.subcontext(task_name=f"output {c}",
                                         max_subtasks=n_rounds_max)
                    sub.call_on_fit_task_begin(estimator=self)
                Z, used, info = working_set_solve(
                    A, y_c, lam, patterns, cells=cells, tol=self.tol,
                    max_iter=max_iter, random_state=search_rng,
                    verbose=self.verbose,
                    round_tasks=self._round_tasks(sub, units, c, V, sigma, n,
                                                  n_out, one_output, X,
                                                  max_iter))
                it = info["n_iter"]
                n_rounds = max(n_rounds, info["rounds"])
                n_used = max(n_used, used.shape[1])
                # the bound over every cell when they were all checked and
                # none is violated; else the working set's own
                dual = (info["all_dual"] if info["certified"]
                        else info["objective"] - info["gap"])
                certified = certified and info["certified"]
                # the same objective with at most n + 1 units; its value
                # recomputed at the pruned groups (equal up to rounding)
                Z = prune_groups(A, Z)
                obj = float(network_value(A, y_c, Z, lam))
                g = obj - dual
                units[c] = recover_network(Z, V, sigma, n)
                if sub is not None and sub is not ctx:
                    sub.call_on_fit_task_end(
                        estimator=self,
                        reconstruction_attributes=lambda u=dict(units): (
                            _network_attributes(u, n_out, one_output, X)))
                stopped = info.get("stopped", False)
                if not (info["converged"] or stopped):
                    warnings.warn(
                        f"ADMM stopped at max_iter={max_iter} with a "
                        f"relative duality gap of {g / max(obj, 1e-300):.2e} "
                        f"> tol={self.tol}; increase max_iter.",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
            if closed:
                units[c] = recover_network(Z, V, sigma, n)
            objective += obj
            gap += g
            n_iter = max(n_iter, it)
            if stopped:
                break
        if not closed:
            self.n_patterns_ = n_used
        if not (closed or certified or stopped):
            if cells is None:
                size = (str(bound) if bound < 10**12
                        else f"about 10^{len(str(bound)) - 1}")
                why = (f"the arrangement has up to {size} cells, more than "
                       f"max_cells={self.max_cells}, so the optimum is "
                       f"certified over the {n_used} patterns of the working "
                       "set only (grown by a search for violated patterns); "
                       "raise max_cells to enumerate and certify")
            else:
                why = ("a cell of the arrangement still violates the dual "
                       "constraint, or ADMM did not reach tol over the "
                       "working set, within max_iter; increase max_iter")
            warnings.warn(f"The fit is not certified globally optimal: {why}.",
                          UncertifiedWarning, stacklevel=4)
        if not np.isfinite(objective):
            raise FloatingPointError(
                "the convex solver produced non-finite values; please report "
                "this with the data that triggers it"
            )
        fitted = _network_attributes(units, n_out, one_output, X)
        for name, value in fitted.items():
            setattr(self, name, value)
        self.objective_ = float(objective)
        self.duality_gap_ = float(gap)
        self.n_iter_ = int(n_iter)
        self.n_rounds_ = int(n_rounds)
        self.certified_ = bool(closed or (certified and not stopped))
        self._end_callbacks(ctx, X, y, fitted)
        return self

    def _round_tasks(self, ctx, units, c, V, sigma, n, n_out, one_output, X,
                     max_iter):
        """The callback tasks of output ``c``'s working-set rounds (None
        without callbacks); see :class:`_RoundTasks`."""
        if ctx is None:
            return None

        def attributes(Z):
            return lambda: _network_attributes(
                {**units, c: recover_network(Z.copy(), V, sigma, n)},
                n_out, one_output, X)

        return _RoundTasks(self, ctx, attributes, max_iter // CHECK_EVERY + 1)

    def _forward(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                          dtype=[np.float64, np.float32])
        X = X.astype(np.float64, copy=False)
        return bn_relu_forward(X, self.coefs_, self.bn_mean_, self.bn_std_,
                               self.bn_gamma_, self.bn_beta_,
                               self.output_weights_)

    def _validate_X_y(self, X, y, **kw):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"],
                             dtype=[np.float64, np.float32], **kw)
        X = X.astype(np.float64, copy=False)
        check_feature_range(X)
        if X.shape[0] < 2:
            raise ValueError(
                f"n_samples={X.shape[0]}: batch statistics need at least 2 "
                "samples."
            )
        return X, y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class ConvexBNReLURegressor(RegressorMixin, _ConvexBNReLUBase):
    __doc__ = (
        """Two-layer BN-ReLU network trained to global optimality (convex program).
"""
        + _MODEL_DOC
        + _PARAMS_DOC
        + """
    Attributes
    ----------"""
        + _ATTRS_DOC
        + """
    See Also
    --------
    ConvexBNReLUClassifier : The same network on ±1 targets.
    sklearn.neural_network.MLPRegressor : A non-convex MLP trained locally.

    Notes
    -----
    Each output of a 2-d ``y`` gets its own units, and the program then
    separates over outputs: the optimum and the certificate are over
    networks in which every unit feeds one output. A network that shares
    units between outputs pays ``lam ||s|| ||v||_2`` instead of
    ``lam ||s|| sum_c |v_c|`` and can have a lower objective (for
    ``y = [t, t]`` sharing divides the shared units' penalty by up to
    ``sqrt(2)``); the vector-output convex program is not implemented.

    ``fit`` takes no ``sample_weight``: the model's BN statistics and loss
    are the paper's unweighted ones, and a weighted program (weighted
    whitening and loss) is not implemented.

    The solver is first-order: an iteration costs about four
    ``n x k x 2P`` matrix products and an ``n x n`` matrix-vector product
    (the ``n x n`` matrix is dense and inverted whenever ADMM's penalty
    changes: meant for ``n`` up to a few thousand), and high accuracy
    (``tol`` below ``1e-5``) can take many iterations.
"""
        + _REFS_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skbnorm import ConvexBNReLURegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(40, 2)
    >>> y = np.abs(X[:, 0]) - X[:, 1]
    >>> reg = ConvexBNReLURegressor(beta=0.1, random_state=0).fit(X, y)
    >>> bool(reg.duality_gap_ <= 1e-3 * reg.objective_)
    True
"""
    )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network by solving the convex program.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse input is not densified).

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._validate_X_y(X, y, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        check_target_range(y)
        Y = y[:, None] if y.ndim == 1 else y
        return self._fit_targets(X, Y, one_output=y.ndim == 1, y=y)

    @predicts_rows
    def predict(self, X):
        """Network output.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            A dask array (dense or scipy CSR chunks) gives a dask array
            with its row chunks, computed chunk by chunk where the
            chunks are.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return self._forward(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class ConvexBNReLUClassifier(ClassifierMixin, _ConvexBNReLUBase):
    __doc__ = (
        """Two-layer BN-ReLU network classifier trained to global optimality.

    As in the paper, classification is regression with the squared loss on
    ±1 targets: binary problems fit one network to ``+1`` (the second class
    of ``classes_``) against ``-1``, more classes one network per class
    against the rest (merged into one network with an output per class).
    ``predict`` takes the sign (binary) or the largest output. With more
    than two classes every unit feeds one class's output, and the optimum
    and certificate are over such networks (see
    :class:`ConvexBNReLURegressor`'s Notes on several outputs).
"""
        + _MODEL_DOC
        + _PARAMS_DOC
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels."""
        + _ATTRS_DOC
        + """
    See Also
    --------
    ConvexBNReLURegressor : The same network on real targets.
    sklearn.neural_network.MLPClassifier : A non-convex MLP trained locally.
"""
        + _REFS_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skbnorm import ConvexBNReLUClassifier
    >>> X, y = make_moons(n_samples=60, noise=0.1, random_state=0)
    >>> clf = ConvexBNReLUClassifier(beta=0.1, random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.9)
    True
"""
    )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network by solving the convex program.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse input is not densified).

        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._validate_X_y(X, y)
        check_classification_targets(y)
        enc = LabelEncoder().fit(y)
        self.classes_ = enc.classes_
        if self.classes_.size < 2:
            raise ValueError(
                "ConvexBNReLUClassifier needs samples of at least 2 classes; "
                f"got only {self.classes_.tolist()!r}."
            )
        yi = enc.transform(y)
        if self.classes_.size == 2:
            Y = np.where(yi == 1, 1.0, -1.0)[:, None]
        else:
            Y = np.where(yi[:, None] == np.arange(self.classes_.size), 1.0,
                         -1.0)
        return self._fit_targets(X, Y, one_output=self.classes_.size == 2,
                                 y=y)

    @predicts_rows
    def decision_function(self, X):
        """Network output: one column per class (one value when binary).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            A dask array (dense or scipy CSR chunks) gives a dask array
            with its row chunks, computed chunk by chunk where the
            chunks are.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        return self._forward(X)

    @predicts_rows
    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            A dask array (dense or scipy CSR chunks) gives a dask array
            with its row chunks, computed chunk by chunk where the
            chunks are.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]
