"""Learning halfspaces: the sigmoid and softplus (logistic) classifiers."""

import warnings
from numbers import Real

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets

from .._dask import chunked_labels, chunked_separable, predicts_rows
from .._threads import blas_single_thread
from ..objectives._chunked import is_chunked, released
from ..objectives._losses import LOSS_CODES
from ..solvers._base import check_magnitude
from ..solvers._multinomial import MultinomialProblem, MultinomialSolver
from ._base import (
    LazyRandomState,
    NormalizedLinearModel,
    check_finite_fit,
    make_design,
    penalty_from_C,
)
from ._docs import ATTRIBUTES_DOC, C_DOC, REFERENCES_DOC, SOLVER_DOC


def _label(c):
    """A class label as the user wrote it: ``0`` or ``'yes'``, not
    ``np.int64(0)`` (numpy 2's repr of a scalar)."""
    return repr(c.item() if isinstance(c, np.generic) else c)


class _MultinomialResult:
    """What :meth:`NormalizedLinearModel._warn_status` reads of a fit."""

    scale_at_bound = False
    scale = np.nan

    def __init__(self, curve, grad_norms, status, suboptimality):
        self.loss_curve = curve
        self.grad_norm_curve = grad_norms
        self.status = status
        self.suboptimality = suboptimality
        self.n_iter = curve.size


_CLASSIFIER_ATTRIBUTES = r"""
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients ``w~`` of the binary problem (classes_[1] is the
        positive class, ``y = +1``), of each one-vs-rest problem, or of each
        class's softmax margin.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts in original coordinates, ``b - xbar^T coef``.

    n_iter_ : ndarray of shape (1,) or (n_classes,)
        Iterations run for each binary problem (one entry for a multinomial
        fit).

    loss_curve_ : ndarray of shape (`n_iter_`,) or list of such arrays
        The objective (weighted mean loss with labels mapped to +-1, plus the
        penalty) at every iterate; a list with one array per class for
        multiclass problems.

    grad_norm_curve_ : ndarray or list of ndarray
        The gradient norm in ``(coef, intercept)`` at every iterate.

    direction_norm_curve_ : ndarray, list of ndarray, or None
        ``||w_t||_2`` of the direction for bn/wn/gdnp (gdnp renormalises
        ``w`` to ``||w||_S = 1``); None for gd/agd.

    scale_ : ndarray of shape (1,) or (n_classes,)
        The scale ``g`` of each problem (gd/agd: ``||coef||_S``).
"""


def _check_targets(y):
    """scikit-learn's ``check_classification_targets``, with a fast path.

    Integer labels, and float labels with integral values, are binary or
    multiclass whatever they hold: no ``type_of_target`` (its checks of a
    1-d array cost 0.15-0.2 ms, a tenth of a small fit). Anything else is
    left to scikit-learn, which raises its own error for continuous targets.
    """
    if y.ndim == 1 and y.dtype.kind in "biu":
        return
    if y.ndim == 1 and y.dtype.kind == "f":
        with np.errstate(invalid="ignore"):  # huge values: left to sklearn
            integral = not np.any(y != y.astype(np.int64))
        if integral:
            return
    check_classification_targets(y)


def _encode_labels(y):
    """``(classes, yi)``: the sorted classes and each sample's index."""
    _check_targets(y)
    if y.dtype.kind in "biuf":
        # LabelEncoder's result, without its checks of what was checked
        # (unique's own inverse sorts again: 4 ms on a9a's labels,
        # against 1 ms for the search)
        classes = np.unique(y)
        return classes, np.searchsorted(classes, y)
    enc = LabelEncoder().fit(y)
    return enc.classes_, enc.transform(y)


def _signs(yi, pos):
    """The labels of class ``pos`` against the rest, in {-1, +1}."""
    return np.where(yi == pos, 1.0, -1.0)


def _separable(design, X, yk, s, res):
    """Whether every sample of positive weight has a positive margin."""
    if is_chunked(X):
        return chunked_separable(design, yk, s, res.coef, res.intercept)
    margins = yk * (safe_sparse_dot(X, res.coef) + res.intercept)
    return bool(np.all(margins[s > 0] > 0))


class _HalfspaceBase(ClassifierMixin, NormalizedLinearModel):
    """Binary halfspace learning, one-vs-rest for more classes."""

    def _loss_code(self):
        return LOSS_CODES[self._get_loss()]

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
            Class labels (any type). Binary problems are solved directly,
            more classes one-vs-rest.

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
            warm = (self.coef_.copy(), np.array(self.intercept_, copy=True),
                    self.classes_.copy())
        X, y, s, xbar, total = self._validate_fit_input(X, y, sample_weight)
        with released(X):
            chunked = is_chunked(X)
            if chunked:
                classes, yi, present = chunked_labels(y, s)
            else:
                classes, yi = _encode_labels(y)
                # a class whose every sample has zero weight cannot be learned
                present = np.bincount(yi, weights=s, minlength=classes.size) > 0
            if classes.size < 2 or present.sum() < 2:
                raise ValueError(
                    "This solver needs samples of at least 2 classes in the data "
                    "(with positive sample_weight), but the data contain only one "
                    f"class: {_label(classes[np.flatnonzero(present)[0]])}."
                )
            self.classes_ = classes
            code = self._loss_code()
            alpha = penalty_from_C(self.C, total)
            design = make_design(X, xbar)
            rng = LazyRandomState(self.random_state)
            if classes.size > 2 and self._multinomial(chunked):
                return self._fit_multinomial(X, y, yi, s, design, alpha, warm,
                                             sample_weight, rng)
            n_problems = 1 if classes.size == 2 else classes.size
            d = X.shape[1]
            coefs = np.zeros((n_problems, d))
            intercepts = np.zeros(n_problems)
            ctx = self._init_callbacks(
                X, y, self.max_iter if n_problems == 1 else n_problems,
                sample_weight)
            if warm is not None and not (
                warm[2].shape == classes.shape and np.all(warm[2] == classes)
                and warm[0].shape == coefs.shape
            ):
                warm = None
            results = []
            problems = []
            for k in range(n_problems):
                pos = 1 if n_problems == 1 else k
                yk = yi.map(_signs, pos) if chunked else _signs(yi, pos)
                problem = self._problem(design, yk, s, code, alpha)
                if k == 0:
                    # its Lipschitz constant is reported; the others' targets
                    # need not be kept (on row chunks: a per-row vector each)
                    problems.append(problem)
                sub = ctx
                if ctx is not None and n_problems > 1:
                    sub = ctx.subcontext(task_name=f"one-vs-rest {_label(classes[k])}",
                                         max_subtasks=self.max_iter)
                    # every task of the tree opens and closes (scikit-learn's
                    # ProgressBar fails on an iteration whose parent never began)
                    sub.call_on_fit_task_begin(estimator=self)

                def reconstruct(solver, k=k):
                    coef, b = solver.result()
                    c = coefs.copy()
                    i = intercepts.copy()
                    c[k] = coef
                    i[k] = b - float(xbar @ coef) if self.fit_intercept else 0.0
                    return {"coef_": c, "intercept_": i}

                wk = None if warm is None else (warm[0][k], float(warm[1][k]))
                res = self._solve(problem, rng, wk, sub, reconstruct)
                check_finite_fit(res.coef, res.intercept)
                coefs[k] = res.coef
                intercepts[k] = res.intercept
                if sub is not None and sub is not ctx:
                    sub.call_on_fit_task_end(
                        estimator=self,
                        reconstruction_attributes={"coef_": coefs.copy(),
                                                   "intercept_": intercepts.copy()})
                results.append(res)
                if alpha == 0 and _separable(design, X, yk, s, res):
                    warnings.warn(
                        f"{type(self).__name__}: the training data of "
                        f"{'the' if n_problems == 1 else _label(classes[k])} "
                        "problem are linearly separable (every sample with "
                        "positive weight has a positive margin), so with "
                        "C=np.inf the loss has no minimiser: its infimum is at "
                        "an infinite scale and coef_ depends on tol and "
                        "max_iter. Set a finite C for a unique, finite "
                        "solution.",
                        ConvergenceWarning,
                        stacklevel=3,
                    )
            self.coef_ = coefs
            self.intercept_ = intercepts
            self.n_iter_ = np.array([r.n_iter for r in results], dtype=np.int32)
            self.scale_ = np.array([r.scale for r in results])
            self.suboptimality_ = np.array([r.suboptimality for r in results])
            self.lipschitz_ = problems[0].lipschitz_if_known
            self.multi_class_ = "ovr"
            if n_problems == 1:
                r = results[0]
                self.loss_curve_ = r.loss_curve
                self.grad_norm_curve_ = r.grad_norm_curve
                self.direction_norm_curve_ = r.direction_norm_curve
            else:
                self.loss_curve_ = [r.loss_curve for r in results]
                self.grad_norm_curve_ = [r.grad_norm_curve for r in results]
                self.direction_norm_curve_ = (
                    None if results[0].direction_norm_curve is None
                    else [r.direction_norm_curve for r in results]
                )
            self._end_callbacks(ctx, X, y)
            return self

    def _multinomial(self, chunked=False):
        """Whether more than two classes are fit by the softmax loss."""
        return False

    def _fit_multinomial(self, X, y, yi, s, design, alpha, warm, sample_weight,
                         rng):
        K = self.classes_.size
        xbar = design.xbar
        check_magnitude(design.column_sq_means(s), design)
        problem = MultinomialProblem(design, yi, K, s, alpha,
                                     self.fit_intercept, self.tol)
        coef0 = b0 = None
        if warm is not None and warm[2].shape == self.classes_.shape \
                and np.all(warm[2] == self.classes_) \
                and warm[0].shape == (K, X.shape[1]):
            coef0 = warm[0]
            b0 = (warm[1] + coef0 @ xbar) if self.fit_intercept else np.zeros(K)
        ctx = self._init_callbacks(X, y, self.max_iter, sample_weight)

        def reconstruct(solver):
            W, b = solver.result()
            return {"coef_": W,
                    "intercept_": b - W @ xbar if self.fit_intercept else b * 0}

        solver = MultinomialSolver(problem, self._options())
        # always: the multinomial's small matrix products are many, and
        # OpenBLAS's threads spinning between them cost more than they save
        with blas_single_thread():
            solver.start(coef0, b0, rng)
            status = self._iterate(solver, ctx, reconstruct)
        W, b = solver.result()
        check_finite_fit(W, b)
        curve = np.asarray(solver.loss_curve, dtype=np.float64)
        self.coef_ = W
        self.intercept_ = b - W @ xbar if self.fit_intercept else np.zeros(K)
        self.n_iter_ = np.array([curve.size], dtype=np.int32)
        self.loss_curve_ = curve
        self.grad_norm_curve_ = np.asarray(solver.grad_norm_curve)
        self.direction_norm_curve_ = np.asarray(solver.direction_norm_curve)
        self.scale_ = solver.scale
        self.suboptimality_ = np.array([problem.decrement
                                        / problem.scale(curve[-1])])
        self.lipschitz_ = np.nan
        self.multi_class_ = "multinomial"
        res = _MultinomialResult(curve, self.grad_norm_curve_, status,
                                 self.suboptimality_[0])
        self._warn_status(res)
        self._end_callbacks(ctx, X, y)
        return self

    @predicts_rows
    def decision_function(self, X):
        """Signed margin ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Samples. A dask array (dense or scipy CSR chunks) gives a
            dask array with its row chunks, computed chunk by chunk where
            the chunks are.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary problems the margin of ``classes_[1]``.
        """
        scores = self._decision(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    @predicts_rows
    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Samples. A dask array (dense or scipy CSR chunks) gives a
            dask array with its row chunks, computed chunk by chunk where
            the chunks are.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            idx = (scores > 0).astype(int)
        else:
            idx = scores.argmax(axis=1)
        return self.classes_[idx]


_HALFSPACE_DOC = r"""Learning halfspaces with a smooth loss and normalized solvers.

    Minimises, with labels mapped to ``y`` in {-1, +1} (``classes_[1]`` is
    +1) and sample weights ``sw``,

    .. math::

        C \sum_i sw_i\, \phi(-y_i (x_i^\top w + b)) + \frac12 \lVert w \rVert^2,

    with ``phi(t) = log(1 + e^t)`` (``loss="softplus"``, logistic regression,
    convex) or ``phi(t) = 1/(1 + e^-t)`` (``loss="sigmoid"``, a smooth,
    non-convex 0-1 loss). ``C`` is :class:`~sklearn.linear_model.LogisticRegression`'s;
    ``C=np.inf`` is the papers' unpenalised setting. More than two classes
    are handled one-vs-rest.

    The sigmoid case, honestly: without a penalty the sigmoid loss tends to
    the 0-1 loss as the scale ``g`` grows, so for a good direction the best
    scale is often infinite. With a finite ``C`` the objective has a finite
    minimiser (the penalty grows, the loss is bounded), which the default
    solver finds. With ``C=np.inf``, gdnp's paper step bounds its scale
    search (``|g| <= 1e4`` in units of the unit-RMS normalised margin) and
    warns when it reaches the bound; its adaptive step, whose denominator
    ``h(w, g)`` tends to 0 there, is never formed by dividing by a vanishing
    ``h`` (it falls back to the gd step).

    For more than two classes the one-vs-rest margins are compared by
    ``predict``; with the unpenalised sigmoid their scales are unbounded and
    differ between classes, which makes that comparison a weak rule: prefer
    ``loss="softplus"``. The penalised sigmoid is not convex either: with
    ``w~ = 0`` and the intercept at minus infinity (predict the majority
    class) its objective has a stationary point, which first-order solvers
    can drift into from a poor start. Measured on scikit-learn's three-blob
    check data, one-vs-rest: ``solver="wn"`` ended there on one of the three
    problems (accuracy 0.62), gd, agd, bn and gdnp reached 0.92.

    One-vs-rest is weaker than the softmax on some multiclass data, whatever
    the loss: on iris (scaler pipeline, stratified 75/25 split,
    ``random_state=0``) ``HalfspaceClassifier()`` scores 0.816,
    ``loss="softplus"`` 0.868 -- as scikit-learn's
    ``OneVsRestClassifier(LogisticRegression())`` does --, and the
    multinomial ``LogisticRegression()`` and
    :class:`~skbnorm.NormalizedLogisticRegression` 0.974 (wine: 1.000 for all; digits:
    0.962, 0.969, 0.969 and 0.971). For more than two classes prefer
    :class:`~skbnorm.NormalizedLogisticRegression`, and within this class
    ``loss="softplus"`` (above).

    Parameters
    ----------
    loss : {"sigmoid", "softplus"}, default="sigmoid"
        The loss ``phi``.
"""


class HalfspaceClassifier(_HalfspaceBase):
    __doc__ = (
        _HALFSPACE_DOC
        + C_DOC
        + SOLVER_DOC
        + _CLASSIFIER_ATTRIBUTES
        + ATTRIBUTES_DOC
        + r"""
    See Also
    --------
    NormalizedLogisticRegression : The softplus case, with probabilities.
"""
        + REFERENCES_DOC
        + r"""
    Examples
    --------
    >>> from skbnorm import HalfspaceClassifier
    >>> from skbnorm.datasets import make_gaussian_halfspace
    >>> X, y = make_gaussian_halfspace(500, 5, random_state=0)
    >>> clf = HalfspaceClassifier(loss="sigmoid", random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.7)
    True
"""
    )

    _parameter_constraints = {
        **NormalizedLinearModel._parameter_constraints,
        "loss": [StrOptions({"sigmoid", "softplus"})],
        "C": [Interval(Real, 0, None, closed="right")],
    }

    def __init__(
        self,
        loss="sigmoid",
        *,
        C=1.0,
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
        self.loss = loss
        self.C = C
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.learning_rate_scale = learning_rate_scale
        self.n_bisection = n_bisection
        self.direction_step = direction_step
        self.metric = metric
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _get_loss(self):
        return self.loss

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # plain gradient descent in WN's parametrisation on the non-convex
        # penalised sigmoid ends at the majority-class stationary point on
        # one of scikit-learn's one-vs-rest check problems (accuracy 0.62;
        # the other solvers 0.92): see the class docstring
        tags.classifier_tags.poor_score = (self.loss == "sigmoid"
                                           and self.solver == "wn")
        return tags


class NormalizedLogisticRegression(_HalfspaceBase):
    __doc__ = (
        r"""Logistic regression solved with normalized solvers.

    The softplus halfspace model ``HalfspaceClassifier(loss="softplus")`` with
    probability estimates. Minimises, with sample weights ``sw``,

    .. math::

        C \sum_i sw_i \log(1 + e^{-y_i (x_i^\top w + b)})
        + \frac12 \lVert w \rVert^2,

    the objective of :class:`sklearn.linear_model.LogisticRegression` with
    the same ``C`` (``C=np.inf``: unpenalised, the papers' setting).

    Parameters
    ----------"""
        + C_DOC
        + r"""
    multi_class : {"auto", "multinomial", "ovr"}, default="auto"
        How more than two classes are fit. ``"multinomial"``: the softmax
        loss, as :class:`~sklearn.linear_model.LogisticRegression` fits it,
        by gdnp's subspace step with one length and direction per class
        (see the user guide); ``"ovr"``: one binary problem per class.
        ``"auto"``: multinomial with gdnp's subspace step in a curvature
        metric (the default solver), one-vs-rest with the papers' binary
        solvers (gd, agd, bn, wn, gdnp's paper step, ``metric="identity"``).
"""
        + SOLVER_DOC
        + _CLASSIFIER_ATTRIBUTES
        + r"""
    multi_class_ : {"multinomial", "ovr"}
        How the classes were fit (``"ovr"`` for two classes: one problem).
"""
        + ATTRIBUTES_DOC
        + r"""
    See Also
    --------
    HalfspaceClassifier : The same model with the sigmoid loss as an option.
    sklearn.linear_model.LogisticRegression : The model with scikit-learn's solvers.
"""
        + REFERENCES_DOC
        + r"""
    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skbnorm import NormalizedLogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), NormalizedLogisticRegression())
    >>> bool(clf.fit(X, y).score(X, y) > 0.95)
    True
"""
    )

    _parameter_constraints = {
        **NormalizedLinearModel._parameter_constraints,
        "C": [Interval(Real, 0, None, closed="right")],
        "multi_class": [StrOptions({"auto", "multinomial", "ovr"})],
    }

    def __init__(
        self,
        C=1.0,
        *,
        multi_class="auto",
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
        self.C = C
        self.multi_class = multi_class
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.learning_rate_scale = learning_rate_scale
        self.n_bisection = n_bisection
        self.direction_step = direction_step
        self.metric = metric
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _get_loss(self):
        return "softplus"

    def _multinomial(self, chunked=False):
        supported = (self.solver == "gdnp" and self.direction_step == "subspace"
                     and self.metric != "identity")
        if chunked and self.multi_class == "multinomial":
            raise ValueError(
                "multi_class='multinomial' cannot fit a dask array yet; use "
                "multi_class='ovr' (what 'auto' picks for dask input) or fit "
                "X.compute() in memory."
            )
        # on row chunks one-vs-rest is what there is
        supported = supported and not chunked
        if self.multi_class == "multinomial" and not supported:
            raise ValueError(
                "multi_class='multinomial' is fit by gdnp's subspace step in a "
                "curvature metric (solver='gdnp', direction_step='subspace', "
                f"metric other than 'identity'); got solver={self.solver!r}, "
                f"direction_step={self.direction_step!r}, "
                f"metric={self.metric!r}. Use multi_class='ovr' for the "
                "papers' binary solvers."
            )
        return self.multi_class == "multinomial" or (
            self.multi_class == "auto" and supported)

    @predicts_rows
    def predict_proba(self, X):
        """Probability estimates.

        Binary: ``P(classes_[1] | x) = sigmoid(decision_function(x))``;
        multinomial: the softmax of ``decision_function(x)``; one-vs-rest:
        the sigmoids normalised to sum to one.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Samples. A dask array (dense or scipy CSR chunks) gives a
            dask array with its row chunks, computed chunk by chunk where
            the chunks are.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities in the order of ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        if self._fitted_multinomial():
            return softmax(scores, axis=1)
        p = expit(scores)
        return p / p.sum(axis=1, keepdims=True)

    def _fitted_multinomial(self):
        return getattr(self, "multi_class_", "ovr") == "multinomial"

    @predicts_rows
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Samples. A dask array (dense or scipy CSR chunks) gives a
            dask array with its row chunks, computed chunk by chunk where
            the chunks are.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            # log sigmoid without overflow: -log(1 + e^-s)
            return np.column_stack([-np.logaddexp(0, scores),
                                    -np.logaddexp(0, -scores)])
        if self._fitted_multinomial():
            return log_softmax(scores, axis=1)
        return np.log(self.predict_proba(X))
