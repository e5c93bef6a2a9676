"""NormalizedMLPClassifier and NormalizedMLPRegressor."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .._callbacks import FitCallbacks
from .._dask import predicts_rows
from .._validation import check_feature_range, weighted_rms
from ._model import Network, init_params
from ._solvers import GDNP_MAX_SCALE, GradientDescent, Nesterov, gdnp_iteration

#: the adaptive schedule divides the steps by this on a stall (scikit-learn's
#: MLP with ``learning_rate="adaptive"`` divides by 5 too) ...
ADAPTIVE_FACTOR = 5.0
#: ... at most this many times, then stops on the next stall
ADAPTIVE_MAX_SHRINKS = 3

# a fit whose last epoch's loss exceeds this multiple of its best one was
# unstable: it returns the best parameters, and warns
UNSTABLE_RISE = 2.0

#: ``early_stopping="auto"`` holds out a validation set above this many
#: training samples (scikit-learn's HistGradientBoosting rule). On a9a
#: (32561 rows) the BN network trained 200 epochs on the loss reached 0.92
#: training and 0.813 test accuracy; stopped on a held-out 10% it reached
#: 0.849 in 0.28 of the time. Below it, holding out a tenth cost small sets
#: up to 0.16 in accuracy (iris: 0.974 -> 0.816)
AUTO_EARLY_STOPPING_ROWS = 10_000

_NORM = {"gd": None, "agd": None, "bn": "bn", "wn": "wn", "gdnp": "bn"}

_MODEL_DOC = r"""
    A fully connected network with hidden layers ``l = 1..L`` and a linear
    output layer. Each hidden unit computes ``a_l = act(p_l)`` from its
    input ``a_{l-1}`` (``a_0 = x``), with the pre-activation ``p`` set by the
    solver's parametrisation:

    * ``solver="bn"`` and ``"gdnp"``, Batch Normalization:
      ``p = g (a^T w - mean) / std + b``, the mean and standard deviation of
      ``a^T w`` over the batch (sample-weighted) in training, and over the
      whole training set (the population statistics, computed once after
      the fit) in prediction;
    * ``solver="wn"``, weight normalization: ``p = g a^T w / ||w|| + b``;
    * ``solver="gd"`` and ``"agd"``, unnormalized: ``p = a^T w + b``.

    With BN and WN, ``w`` only sets a unit's direction; its length is not a
    degree of freedom of the function, which is what lets the direction and
    scale steps be chosen separately (Kohler et al. 2019, Cai et al. 2019).

    Each step minimises the batch's sample-weighted mean loss plus
    ``alpha / (2 sum(sample_weight of the batch))`` times the squared norm of
    the parameters that set the weights' size, as scikit-learn's MLP scales
    its penalty: every ``W`` without normalization; the scales ``g`` and the
    output layer's ``W`` with BN or WN (with WN, exactly the squared norm of
    the effective weights ``g w / ||w||``). Without weights the sum is the
    batch size.

    Solvers:

    * ``"gd"``: minibatch gradient descent on the unnormalized network, step
      ``learning_rate``;
    * ``"agd"``: the same with Nesterov momentum ``momentum``;
    * ``"bn"`` / ``"wn"``: minibatch gradient descent on the BN / WN network
      with step ``learning_rate`` on the hidden layers' directions ``W`` and
      ``learning_rate_scale`` on the scales, shifts and output layer;
    * ``"gdnp"``: full-batch GDNP (Kohler et al.'s Algorithm 2), extended past
      one hidden layer: layer by layer from the input, a directional step of
      ``learning_rate * std_j^2 / g_j^2`` on each unit ``j``; then the scale
      search of Algorithm 2, unit by unit, on the last hidden layer (a
      bracket of each unit's ``df/dg`` closed by false position in at most
      ``n_bisection`` steps); then a step of ``learning_rate_scale`` on the
      shifts, the output layer and the earlier layers' scales. Every step is
      halved until the objective decreases, so the training loss never
      increases. See :func:`skbnorm.mlp._solvers.gdnp_iteration`.

    Read more in the :ref:`User Guide <mlp>`.
"""

_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The number of units of each hidden layer.

    activation : {"tanh", "relu"}, default="tanh"
        The hidden units' activation.

    solver : {"bn", "gdnp", "gd", "agd", "wn"}, default="bn"
        The parametrisation and the method that trains it (see above).

    batch_size : int or "auto", default="auto"
        Minibatch size of ``"gd"``, ``"agd"``, ``"bn"`` and ``"wn"``;
        ``"auto"`` is ``min(200, n_samples)``. Larger than the training set,
        it is clipped. An epoch is cut into ``n_samples // batch_size``
        batches whose sizes differ by at most one (the remainder is spread
        over them), so that a BN batch never holds a lone sample; ``"bn"``
        skips a batch with fewer than two samples of positive weight.
        ``"gdnp"`` is a full-batch method (its scale search and descent
        checks evaluate the objective) and ignores ``batch_size``, as
        scikit-learn's ``lbfgs`` solver does, so that one grid can hold
        every solver.

    learning_rate : float, default=0.1
        Step size on the hidden layers' weights (their directions with BN
        and WN; every parameter for ``"gd"`` and ``"agd"``).

    learning_rate_scale : float or None, default=None
        Step size on the scales, shifts and output layer for ``"bn"``,
        ``"wn"`` and ``"gdnp"`` (``None``: ``learning_rate``). Unused by
        ``"gd"`` and ``"agd"``.

    learning_rate_schedule : {"adaptive", "constant"}, default="adaptive"
        ``"adaptive"``: when the stopping test below trips (no improvement
        by ``tol`` for ``n_iter_no_change`` epochs), the steps are divided
        by 5 and training goes on, up to three times; the fourth stall
        stops the fit. This is scikit-learn's ``learning_rate="adaptive"``
        rule of its ``sgd`` solver, with a bound on the number of
        reductions in place of its ``1e-6`` floor. ``"constant"``: the
        steps stay and the first stall stops the fit. Unused by ``"gdnp"``
        (its steps are searched).

    momentum : float in [0, 1), default=0.9
        Nesterov momentum of ``"agd"``; unused by the other solvers.

    n_bisection : int, default=8
        Maximum number of steps of ``"gdnp"``'s scale search per unit (Kohler
        et al.'s ``T_s``): false-position steps inside a bracket of the
        unit's ``df/dg``, after at most four doublings of the bracket.

    max_iter : int, default=200
        Maximum number of epochs (full passes; one GDNP iteration for
        ``"gdnp"``).

    tol : float, default=1e-4
        Training stops when the training loss (or, with ``early_stopping``,
        the validation score) has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs.

    n_iter_no_change : int, default=10
        See ``tol``.

    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the training data (stratified
        for the classifier), score it after each epoch (accuracy or
        :math:`R^2`, in prediction mode), stop on no improvement and keep the
        best-scoring parameters. ``"auto"``: on for the classifier when the
        training set has more than :data:`AUTO_EARLY_STOPPING_ROWS` (10000)
        samples, as scikit-learn's ``HistGradientBoostingClassifier``
        decides, so that the held-out part (more than 1000 rows at the
        default fraction) scores an epoch to about 1% and a small set keeps
        all its rows for training; off for the regressor, whose squared loss
        stalls before the held-out score does (measured on three sets: 1.1
        to 3.4 times the time for R^2 changes of -0.001 to +0.004); and
        where the split cannot be made (a class of a single sample), every
        row is trained on. The minibatch BN solver scores with running
        statistics (an exponential average of the batches' means and
        variances, weight 0.1 on the newest), ``"gdnp"`` with the population
        statistics; the fitted model always predicts with the population
        statistics of the training part. ``do_early_stopping_`` says what a
        fit did.

    validation_fraction : float in (0, 1), default=0.1
        See ``early_stopping``.

    alpha : float, default=1e-4
        Strength of the L2 penalty (see above).

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (Glorot uniform; unit scales, zero shifts),
        the minibatch order and the validation split.

    warm_start : bool, default=False
        Continue from the previous fit's parameters (same solver and layer
        sizes) instead of a new initialisation.

    verbose : bool or int, default=False
        Print the loss after each epoch.
"""

_ATTRS_DOC = """
    coefs_ : list of ndarray
        ``coefs_[l]`` (shape ``(n_inputs_l, n_units_l)``) holds the weights
        of layer ``l``; the last is the output layer. With BN and WN the
        hidden layers' columns are the units' directions (their norm is
        arbitrary).

    intercepts_ : list of ndarray
        Biases (unnormalized) or BN / WN shifts ``b`` of each layer; the last
        is the output layer's bias.

    scales_ : list of ndarray or None
        The scales ``g`` of the hidden layers (BN and WN); None for ``"gd"``
        and ``"agd"``.

    bn_means_, bn_stds_ : list of ndarray or None
        The population statistics of each hidden BN layer's ``a^T w`` over the
        training data, used in prediction (``"bn"``, ``"gdnp"``); None
        otherwise.

    loss_curve_ : list of float
        The training objective after each epoch (with minibatches, the
        weighted mean of the batches' objectives during the epoch).

    best_loss_ : float or None
        The smallest entry of ``loss_curve_``; None with early stopping.

    validation_scores_ : list of float or None
        The validation score after each epoch with early stopping; None
        otherwise.

    best_validation_score_ : float or None
        The best of ``validation_scores_``; None without early stopping.

    do_early_stopping_ : bool
        Whether the fit held out a validation set and stopped on its score
        (``early_stopping``, with ``"auto"`` resolved).

    n_iter_ : int
        Number of epochs run (summed over warm starts).

    t_ : int
        Number of parameter updates (minibatch steps or GDNP iterations).

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        ``"identity"``, ``"logistic"`` or ``"softmax"``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column
        names.
"""

_REFS_DOC = """
    References
    ----------
    J. Kohler, H. Daneshmand, A. Lucchi, T. Hofmann, M. Zhou, K. Neymeyr,
    "Exponential convergence rates for Batch Normalization: The power of
    length-direction decoupling in non-convex optimization", AISTATS 2019.

    Y. Cai, Q. Li, Z. Shen, "A Quantitative Analysis of the Effect of Batch
    Normalization on Gradient Descent", ICML 2019.

    T. Salimans, D. P. Kingma, "Weight Normalization: A Simple
    Reparameterization to Accelerate Training of Deep Neural Networks",
    NeurIPS 2016.
"""


class _NormalizedMLPBase(FitCallbacks, BaseEstimator):
    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like",
                               Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"tanh", "relu"})],
        "solver": [StrOptions({"bn", "gdnp", "gd", "agd", "wn"})],
        "batch_size": [StrOptions({"auto"}),
                       Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_scale": [Interval(Real, 0, None, closed="neither"), None],
        "learning_rate_schedule": [StrOptions({"constant", "adaptive"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "n_bisection": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="tanh", *,
                 solver="bn", batch_size="auto", learning_rate=0.1,
                 learning_rate_scale=None,
                 learning_rate_schedule="adaptive", momentum=0.9,
                 n_bisection=8, max_iter=200, tol=1e-4,
                 n_iter_no_change=10, early_stopping="auto",
                 validation_fraction=0.1, alpha=1e-4, random_state=None,
                 warm_start=False, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_scale = learning_rate_scale
        self.learning_rate_schedule = learning_rate_schedule
        self.momentum = momentum
        self.n_bisection = n_bisection
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.alpha = alpha
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # -- input -------------------------------------------------------------

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral):
            sizes = [sizes]
        sizes = list(sizes)
        if not all(isinstance(h, Integral) and h >= 1 for h in sizes):
            raise ValueError(
                "hidden_layer_sizes must hold positive integers; got "
                f"{self.hidden_layer_sizes!r}."
            )
        return [int(h) for h in sizes]

    def _validate_fit(self, X, y, sample_weight, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"],
                             dtype=[np.float64, np.float32],
                             multi_output=not isinstance(self, ClassifierMixin),
                             y_numeric=not isinstance(self, ClassifierMixin),
                             reset=reset)
        if sp.issparse(X):
            X = X.tocsr()  # row batches; a new matrix only when X was CSC
        check_feature_range(X)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                  ensure_non_negative=True)
        if _NORM[self.solver] == "bn" and np.count_nonzero(sw) < 2:
            raise ValueError(
                f"n_samples={X.shape[0]} with {np.count_nonzero(sw)} of positive "
                "weight: Batch Normalization needs at least 2 samples of "
                "positive weight (batch statistics)."
            )
        if self.batch_size != "auto" and self.batch_size < 2 and self.solver == "bn":
            raise ValueError(
                "solver='bn' needs batch_size >= 2 (batch statistics); got "
                f"{self.batch_size}."
            )
        return X, y, sw

    # -- prediction --------------------------------------------------------

    def _params(self):
        params = {"W": self.coefs_, "b": self.intercepts_}
        if self.scales_ is not None:
            params["g"] = self.scales_
        return params

    def _net(self, alpha=0.0):
        return Network(_NORM[self.solver], self.activation, self._loss_name,
                       alpha)

    def _raw_output(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=[np.float64, np.float32], reset=False)
        if sp.issparse(X):
            X = X.tocsr()
        X = X.astype(self.coefs_[0].dtype, copy=False)
        stats = (list(zip(self.bn_means_, self.bn_stds_, strict=True))
                 if self.bn_means_ is not None else None)
        O, _ = self._net().forward(X, self._params(), None, stats)
        return O

    # -- training ----------------------------------------------------------
    #
    # _fit drives the pieces below, as scikit-learn's MLP does: initialise,
    # split off a validation set, run epochs (minibatch or gdnp), count the
    # epochs without improvement, and end with the warnings of what stopped
    # the fit. Their shared bookkeeping is a _Progress record.

    def _fit(self, X, Y, sw, y_for_split, y, sample_weight):
        rng = check_random_state(self.random_state)
        ctx = self._init_callbacks(X, y, self.max_iter, sample_weight)
        X_all = X
        params, continuing = self._initialise(X, Y, rng)
        norm = _NORM[self.solver]
        # alpha is divided by each step's total sample weight, as
        # scikit-learn's MLP divides it by the batch's (set per step)
        net = Network(norm, self.activation, self._loss_name, 0.0)
        self.do_early_stopping_ = (
            self._auto_early_stopping and X.shape[0] > AUTO_EARLY_STOPPING_ROWS
            if self.early_stopping == "auto" else bool(self.early_stopping))
        X, Y, sw, valid = self._validation_split(X, Y, sw, y_for_split, rng,
                                                 continuing)
        s = sw / sw.sum()
        net.alpha = self.alpha / float(sw.sum())  # full batch (gdnp)
        progress = _Progress(self, params, continuing)
        epoch = (_GdnpEpochs(self, X, Y, s, params, net)
                 if self.solver == "gdnp"
                 else _MinibatchEpochs(self, X, Y, sw, params, net, rng,
                                       valid is not None))

        def epoch_model(p):
            # the model a callback gets, as the fit would store it (with BN
            # its population statistics: a forward pass, made only when asked)
            return lambda: _fitted_attributes(_copy_params(p), net, X, s)

        for epoch_index in range(self.max_iter):
            sub = ctx.subcontext(task_name="epoch") if ctx is not None else None
            if sub is not None:
                sub.call_on_fit_task_begin(estimator=self)
            t_start = self.t_
            loss, diverged, start = epoch()
            diverged = diverged or progress.divergence(loss, params)
            if diverged is not None:
                progress.diverged = diverged
                params = progress.best_seen
                self.t_ = t_start
                if sub is not None:
                    # close the epoch's task: every task opens and closes
                    sub.call_on_fit_task_end(
                        estimator=self,
                        reconstruction_attributes=epoch_model(params))
                break
            progress.record_loss(loss, params, start)
            self.n_iter_ += 1
            self.loss_curve_.append(float(loss))
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            score = None
            if valid is not None:
                score = self._validation_score(net, params, X, s, *valid,
                                               epoch.running)
                self.validation_scores_.append(score)
                if self.verbose:
                    print(f"Validation score: {score:.6f}")
            stop = progress.update_no_improvement(loss, score, params)
            if sub is not None and sub.call_on_fit_task_end(
                    estimator=self,
                    reconstruction_attributes=epoch_model(params)):
                progress.stopped = True
                break
            # a stall on the last epoch ends the fit as converged: there is
            # no epoch left to take the smaller steps
            if (stop and epoch_index < self.max_iter - 1
                    and self._shrink_steps(epoch, progress)):
                continue
            if stop:
                progress.converged = True
                break
        params = self._end_of_fit(progress, params)
        fitted = self._store(params, net, X, s)
        self._fitted_solver = self.solver
        self._end_callbacks(ctx, X_all, y, fitted)
        return self

    def _shrink_steps(self, epoch, progress):
        """With ``learning_rate_schedule="adaptive"``: on a stall, divide the
        steps by :data:`ADAPTIVE_FACTOR` and go on (True), at most
        :data:`ADAPTIVE_MAX_SHRINKS` times; False: the fit has converged."""
        if (self.learning_rate_schedule != "adaptive" or self.solver == "gdnp"
                or progress.n_shrinks >= ADAPTIVE_MAX_SHRINKS):
            return False
        epoch.stepper.shrink(ADAPTIVE_FACTOR)
        progress.n_shrinks += 1
        progress.no_improvement = 0
        return True

    def _initialise(self, X, Y, rng):
        """The starting parameters, and whether they continue a fit."""
        hidden = self._hidden_sizes()
        continuing = (self.warm_start and hasattr(self, "coefs_")
                      and getattr(self, "_fitted_solver", None) == self.solver
                      and [W.shape[1] for W in self.coefs_[:-1]] == hidden
                      and self.coefs_[-1].shape[1] == Y.shape[1])
        if continuing:
            return _copy_params(self._params()), True
        sizes = [X.shape[1], *hidden, Y.shape[1]]
        params = init_params(sizes, _NORM[self.solver] is not None, rng)
        params = {k: [M.astype(X.dtype) for M in v] for k, v in params.items()}
        self.loss_curve_ = []
        self.n_iter_ = 0
        self.t_ = 0
        return params, False

    def _validation_split(self, X, Y, sw, y_for_split, rng, continuing):
        """``(X, Y, sw, valid)``: the training part, and with early stopping
        ``valid = (Xv, Yv, swv)`` (else None). Under ``"auto"`` a split that
        cannot be made (a class of one sample, a part without weight) trains
        on every row instead: the user did not ask for it."""
        if not self.do_early_stopping_:
            return self._no_hold_out(X, Y, sw)
        auto = isinstance(self.early_stopping, str)
        n_total = X.shape[0]
        stratify = y_for_split if isinstance(self, ClassifierMixin) else None
        try:
            tr, va = train_test_split(np.arange(n_total), random_state=rng,
                                      test_size=self.validation_fraction,
                                      stratify=stratify)
        except ValueError as exc:
            if auto:
                return self._no_hold_out(X, Y, sw)
            raise ValueError(
                f"early_stopping could not split {n_total} samples with "
                f"validation_fraction={self.validation_fraction}: {exc}"
            ) from exc
        if _NORM[self.solver] == "bn" and tr.size < 2:
            raise ValueError("early_stopping leaves fewer than 2 training samples.")
        for part, w in (("training", sw[tr]), ("validation", sw[va])):
            if not w.sum() > 0:
                if auto:
                    return self._no_hold_out(X, Y, sw)
                raise ValueError(
                    f"early_stopping: the {part} split has zero total "
                    "sample weight; give more samples positive weight or "
                    "change validation_fraction."
                )
        valid = (X[va], Y[va], sw[va])
        X, Y, sw = X[tr], Y[tr], sw[tr]
        self.validation_scores_ = [] if not continuing else (
            self.validation_scores_ or [])
        self.best_loss_ = None
        return X, Y, sw, valid

    def _no_hold_out(self, X, Y, sw):
        self.do_early_stopping_ = False
        self.validation_scores_ = None
        self.best_validation_score_ = None
        return X, Y, sw, None

    def _end_of_fit(self, progress, params):
        """The returned parameters, and the warning of what ended the fit."""
        # a loss that ends far above its best without overflowing is an
        # unstable step too (measured: gd at twice its stable step falls to
        # 0.02, then climbs to 1.1, above the starting 0.89, and stops on
        # "no improvement"); early stopping already keeps its best model
        last_loss = self.loss_curve_[-1] if self.n_iter_ else np.inf
        if (progress.diverged is None and not self.do_early_stopping_
                and np.isfinite(progress.best_seen_loss)
                and last_loss > UNSTABLE_RISE * progress.best_seen_loss):
            progress.diverged = (
                f"the training loss rose from {progress.best_seen_loss:.3g} "
                f"to {last_loss:.3g}")
            params = progress.best_seen
        hidden = len(params["W"]) > 1
        if progress.diverged is not None:
            warnings.warn(
                f"solver={self.solver!r} diverged ({progress.diverged}) after "
                f"{self.n_iter_} epochs with learning_rate={self.learning_rate}; "
                "the parameters of the epoch with the lowest training loss "
                "are kept (the initial ones if none ended finite). Lower the "
                "learning rate.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif (self.solver == "gdnp" and hidden
              and np.max(np.abs(params["g"][-1])) >= GDNP_MAX_SCALE):
            warnings.warn(
                "solver='gdnp': the scale search ended on its bound "
                f"|g| = {GDNP_MAX_SCALE:g} for "
                f"{int(np.sum(np.abs(params['g'][-1]) >= GDNP_MAX_SCALE))} "
                "unit(s) of the last hidden layer: the loss still falls as they "
                "saturate into step functions (nearly separable data). The "
                "scales are capped there; alpha > 0 gives them a finite optimum.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif not (progress.converged or progress.stopped):
            warnings.warn(
                f"Stopped at max_iter={self.max_iter} epochs before the "
                f"{'validation score' if self.do_early_stopping_ else 'loss'} "
                f"stopped improving by tol={self.tol}; increase max_iter.",
                ConvergenceWarning,
                stacklevel=5,
            )
        if self.do_early_stopping_:
            if progress.best_params is not None:
                params = progress.best_params
            self.best_validation_score_ = (float(progress.best_score)
                                           if np.isfinite(progress.best_score)
                                           else None)
        else:
            self.best_loss_ = (float(progress.best_loss)
                               if np.isfinite(progress.best_loss) else None)
        return params

    def _store(self, params, net, X, s):
        fitted = _fitted_attributes(params, net, X, s)
        for name, value in fitted.items():
            setattr(self, name, value)
        return fitted

    def _validation_score(self, net, params, X, s, Xv, Yv, swv, running):
        if running is not None:
            stats = [(mu, np.sqrt(var)) for mu, var in running]
        elif net.norm == "bn":
            stats = net.batch_stats(X, params, s)
        else:
            stats = None
        O, _ = net.forward(Xv, params, None, stats)
        return self._score_outputs(O, Yv, swv)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _Progress:
    """A fit's bookkeeping across epochs: the no-improvement count, the best
    score or loss, and what a diverged fit falls back to."""

    def __init__(self, est, params, continuing):
        self.est = est
        self.no_improvement = 0
        if est.do_early_stopping_:
            self.best_score = max(est.validation_scores_, default=-np.inf)
            self.best_loss = np.inf
        else:
            self.best_score = -np.inf
            self.best_loss = min(est.loss_curve_, default=np.inf)
        # continuing with early stopping, the best so far is where we start
        self.best_params = (_copy_params(params)
                            if continuing and est.do_early_stopping_ else None)
        # what a diverged fit returns: the parameters with the lowest
        # training loss seen, or the starting ones if no epoch ended finite
        # -- never a model worse than the one the fit started from. A gdnp
        # iteration's loss is that of its result; a minibatch epoch's is
        # measured along the way, from the parameters it started with
        self.best_seen, self.best_seen_loss = _copy_params(params), np.inf
        self.first_loss = None
        self.diverged = None
        self.converged = False
        self.stopped = False
        self.n_shrinks = 0

    def divergence(self, loss, params):
        """Why the epoch that ended at ``loss`` diverged, or None."""
        if not (np.isfinite(loss) and _finite(params)):
            return "non-finite values"
        # a loss a million times this fit's first epoch's has left any
        # basin: stop before it overflows
        if self.first_loss is not None and loss > 1e6 * self.first_loss:
            return f"a loss above 1e6 times the first epoch's ({loss:.3g})"
        return None

    def record_loss(self, loss, params, epoch_start):
        """Note a finite epoch's training loss (``epoch_start``: the
        parameters a minibatch epoch started from, None for gdnp)."""
        if self.first_loss is None:
            self.first_loss = loss
        if loss < self.best_seen_loss:
            self.best_seen_loss = loss
            self.best_seen = (_copy_params(params) if epoch_start is None
                              else epoch_start)

    def update_no_improvement(self, loss, score, params):
        """Count the epochs without improvement by ``tol``; True to stop."""
        tol = self.est.tol
        if score is not None:
            self.no_improvement = (self.no_improvement + 1
                                   if score < self.best_score + tol else 0)
            if score > self.best_score:
                self.best_score = score
                self.best_params = _copy_params(params)
        else:
            self.no_improvement = (self.no_improvement + 1
                                   if loss > self.best_loss - tol else 0)
            self.best_loss = min(self.best_loss, loss)
        return self.no_improvement > self.est.n_iter_no_change


class _GdnpEpochs:
    """Full-batch gdnp iterations (Kohler et al.'s Algorithm 2), one per
    call, as ``(loss, diverged, start)`` like :class:`_MinibatchEpochs`
    (a gdnp iteration's loss is its result's: no start to fall back on)."""

    #: gdnp's validation scores use the exact population statistics
    running = None

    def __init__(self, est, X, Y, s, params, net):
        self.est, self.X, self.Y, self.s = est, X, Y, s
        self.params, self.net = params, net

    def __call__(self):
        est = self.est
        eta = float(est.learning_rate)
        eta_scale = float(est.learning_rate_scale or est.learning_rate)
        loss = gdnp_iteration(self.net, self.X, self.Y, self.s, self.params,
                              eta, eta_scale, est.n_bisection)
        est.t_ += 1
        return loss, None, None


class _MinibatchEpochs:
    """Epochs of minibatch steps (gd, agd, bn, wn) over one training set.

    A call runs one epoch and returns ``(loss, diverged, start)``: the
    epoch's weighted mean batch loss, why it diverged (or None) and the
    parameters it started from. With BN and early stopping it keeps the
    running statistics the validation scores use (:attr:`running`).
    """

    def __init__(self, est, X, Y, sw, params, net, rng, early_stopping):
        norm = _NORM[est.solver]
        self.est, self.X, self.Y, self.sw = est, X, Y, sw
        self.params, self.net, self.rng = params, net, rng
        n = X.shape[0]
        self.n = n
        size = min(200 if est.batch_size == "auto" else est.batch_size, n)
        self.n_batches = max(1, n // size)
        # BN statistics need two rows that count: skip batches without them
        self.min_rows = 2 if norm == "bn" else 1
        eta = float(est.learning_rate)
        eta_scale = float(est.learning_rate_scale or est.learning_rate)
        if est.solver == "agd":
            self.stepper = Nesterov(params, eta, est.momentum)
        else:
            self.stepper = GradientDescent(params, eta, eta_scale,
                                           norm is not None)
        # BN's validation scores use running statistics (an exponential
        # average of the batches', as deep-learning frameworks keep them):
        # the exact population statistics cost a pass over the training set
        # per epoch, which measured 0.15 s of a 0.3 s epoch on a9a
        self.running = ([None] * (len(params["W"]) - 1)
                        if norm == "bn" and early_stopping else None)

    def __call__(self):
        est, params, net, sw = self.est, self.params, self.net, self.sw
        epoch_start = _copy_params(params)
        order = self.rng.permutation(self.n)
        total = used = 0.0
        diverged = None
        for batch in np.array_split(order, self.n_batches):
            sb = sw[batch]
            weight = sb.sum()
            if np.count_nonzero(sb) < self.min_rows:
                continue
            net.alpha = est.alpha / weight
            value, grad, cache = net.loss_grad(
                self.X[batch], self.Y[batch], sb / weight, params,
                return_cache=True)
            if not np.isfinite(value):
                diverged = "a non-finite loss"
                break
            if self.running is not None:
                _update_running(self.running, cache)
            self.stepper.update(params, grad)
            est.t_ += 1
            total += weight * value
            used += weight
        if used == 0 and diverged is None:
            raise ValueError(
                "no minibatch holds two samples of positive weight, "
                "which Batch Normalization needs; increase batch_size."
            )
        loss = total / used if used else np.nan
        return loss, diverged, epoch_start


#: Weight of the newest batch in the running BN statistics.
RUNNING_MOMENTUM = 0.1


def _update_running(running, cache):
    """Fold one batch's BN means and variances into ``running`` (a list of
    ``(mean, variance)`` per hidden layer, ``None`` before the first)."""
    for layer, record in enumerate(cache):
        sigma, mu = record.norm.sigma, record.norm.mu
        if running[layer] is None:
            running[layer] = (mu.copy(), sigma * sigma)
        else:
            m = RUNNING_MOMENTUM
            old_mu, old_var = running[layer]
            running[layer] = ((1 - m) * old_mu + m * mu,
                              (1 - m) * old_var + m * sigma * sigma)


def _fitted_attributes(params, net, X, s):
    """The fitted attributes of a network with ``params`` trained on ``X``
    (weights ``s``): with BN, the population statistics over ``X``."""
    attrs = {"coefs_": params["W"], "intercepts_": params["b"],
             "scales_": params.get("g")}
    if net.norm == "bn":
        stats = net.batch_stats(X, params, s)
        attrs["bn_means_"] = [m.astype(X.dtype) for m, _ in stats]
        attrs["bn_stds_"] = [v.astype(X.dtype) for _, v in stats]
    else:
        attrs["bn_means_"] = attrs["bn_stds_"] = None
    attrs["n_layers_"] = len(params["W"]) + 1
    attrs["n_outputs_"] = params["W"][-1].shape[1]
    return attrs


def _copy_params(params):
    return {key: [M.copy() for M in mats] for key, mats in params.items()}


def _finite(params):
    return all(np.all(np.isfinite(M)) for v in params.values() for M in v)


class NormalizedMLPClassifier(ClassifierMixin, _NormalizedMLPBase):
    __doc__ = (
        """Multilayer perceptron classifier with BN / WN solvers.
"""
        + _MODEL_DOC
        + """
    The output layer has one logistic unit for two classes and a softmax
    over ``n_classes`` units otherwise; the loss is the cross-entropy.
"""
        + _PARAMS_DOC
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
"""
        + _ATTRS_DOC
        + """
    See Also
    --------
    NormalizedMLPRegressor : The same network for regression.
    sklearn.neural_network.MLPClassifier : The unnormalized MLP of scikit-learn.
"""
        + _REFS_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skbnorm import NormalizedMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = NormalizedMLPClassifier(hidden_layer_sizes=(50,), max_iter=20,
    ...                               random_state=0).fit(X / 16, y)
    >>> clf.n_layers_, len(clf.scales_)
    (3, 1)
    >>> round(clf.score(X / 16, y), 2) > 0.95
    True
"""
    )

    _loss_name = "log_loss"
    _auto_early_stopping = True

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and class labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; sparse data stays sparse (it only enters the first
            layer's products).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the loss and of the BN batch statistics.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        reset = not (self.warm_start and hasattr(self, "coefs_"))
        X, y, sw = self._validate_fit(X, y, sample_weight, reset=reset)
        check_classification_targets(y)
        binarizer = LabelBinarizer().fit(y)
        weighted = np.unique(y[sw > 0]).size
        if binarizer.classes_.size < 2 or weighted < 2:
            raise ValueError(
                f"the training data hold {weighted} class(es) with positive "
                "sample_weight; a classifier needs samples of at least 2 "
                "classes."
            )
        if not reset and not np.array_equal(binarizer.classes_, self.classes_):
            raise ValueError(
                "warm_start: y holds classes "
                f"{binarizer.classes_.tolist()}, the previous fit "
                f"{self.classes_.tolist()}."
            )
        self.classes_ = binarizer.classes_
        self._binarizer = binarizer
        Y = binarizer.transform(y).astype(X.dtype)
        self._loss_name = "binary_log_loss" if Y.shape[1] == 1 else "log_loss"
        self.out_activation_ = "logistic" if Y.shape[1] == 1 else "softmax"
        return self._fit(X, Y, sw, y, y, sample_weight)

    def _score_outputs(self, O, Y, sw):
        if O.shape[1] == 1:
            pred, true = O[:, 0] > 0, Y[:, 0] > 0.5
        else:
            pred, true = O.argmax(axis=1), Y.argmax(axis=1)
        return float(np.average(pred == true, weights=sw))

    @predicts_rows
    def decision_function(self, X):
        """Output layer's pre-activations (logits).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data.
            A dask array (dense or scipy CSR chunks) gives a dask array
            with its row chunks, computed chunk by chunk where the
            chunks are.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The logit of ``classes_[1]`` for two classes, else one column per
            class.
        """
        O = self._raw_output(X)
        return O[:, 0] if O.shape[1] == 1 else O

    @predicts_rows
    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data.
            A dask array (dense or scipy CSR chunks) gives a dask array
            with its row chunks, computed chunk by chunk where the
            chunks are.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        O = self._raw_output(X).astype(np.float64)
        if O.shape[1] == 1:
            from scipy.special import expit

            p = expit(O[:, 0])
            return np.column_stack([1.0 - p, p])
        from scipy.special import softmax

        return softmax(O, axis=1)

    @predicts_rows
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data.
            A dask array (dense or scipy CSR chunks) gives a dask array
            with its row chunks, computed chunk by chunk where the
            chunks are.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        O = self._raw_output(X).astype(np.float64)
        if O.shape[1] == 1:
            O = np.column_stack([np.zeros_like(O[:, 0]), O[:, 0]])
        from scipy.special import log_softmax

        return log_softmax(O, axis=1)

    @predicts_rows
    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data.
            A dask array (dense or scipy CSR chunks) gives a dask array
            with its row chunks, computed chunk by chunk where the
            chunks are.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            One of ``classes_`` per sample.
        """
        O = self._raw_output(X)
        if O.shape[1] == 1:
            return self.classes_[(O[:, 0] > 0).astype(int)]
        return self.classes_[O.argmax(axis=1)]


class NormalizedMLPRegressor(RegressorMixin, _NormalizedMLPBase):
    __doc__ = (
        """Multilayer perceptron regressor with BN / WN solvers.
"""
        + _MODEL_DOC
        + """
    The output layer is linear; the loss is half the squared error of the
    standardised targets: ``y`` minus its (sample-weighted) mean, divided by
    its standard deviation, each target on its own, as ``predict`` undoes.
    So the defaults suit targets of any scale, the loss (``loss_curve_``)
    is in units of the targets' variance, and ``alpha`` penalises the output
    layer on that scale.
"""
        + _PARAMS_DOC
        + """
    Attributes
    ----------"""
        + _ATTRS_DOC
        + """
    See Also
    --------
    NormalizedMLPClassifier : The same network for classification.
    sklearn.neural_network.MLPRegressor : The unnormalized MLP of scikit-learn.
"""
        + _REFS_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skbnorm import NormalizedMLPRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(1000, 3)
    >>> y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    >>> reg = NormalizedMLPRegressor(hidden_layer_sizes=(30,),
    ...                              random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
"""
    )

    _loss_name = "squared"
    _auto_early_stopping = False

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; sparse data stays sparse.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the loss and of the BN batch statistics.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        reset = not (self.warm_start and hasattr(self, "coefs_"))
        X, y, sw = self._validate_fit(X, y, sample_weight, reset=reset)
        Y = np.asarray(y.reshape(-1, 1) if y.ndim == 1 else y, dtype=np.float64)
        # the network fits standardised targets, so that the same steps and
        # initial weights suit targets of any scale (raw diabetes targets of
        # 25-346 diverged at the defaults); every fit sets the scaling from
        # its own targets, a warm start included
        # (the spread computed without squaring Y - mean, which underflowed
        # at 1e-160 and overflowed at 1e154; a spread within the rounding of
        # the mean is a constant target, whatever the targets' size: a floor
        # of 1e-12 left targets of 1e-20 unscaled, R^2 = -4e37)
        w = sw / sw.sum()
        mean = w @ Y
        scale = weighted_rms(Y - mean, w)
        scale[~(scale > 1e-12 * np.abs(mean))] = 1.0
        self._y_mean, self._y_scale = mean, scale
        Y = np.ascontiguousarray((Y - mean) / scale, dtype=X.dtype)
        self._one_target = y.ndim == 1
        self.out_activation_ = "identity"
        return self._fit(X, Y, sw, None, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _score_outputs(self, O, Y, sw):
        from sklearn.metrics import r2_score

        return float(r2_score(Y, O, sample_weight=sw))

    @predicts_rows
    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data.
            A dask array (dense or scipy CSR chunks) gives a dask array
            with its row chunks, computed chunk by chunk where the
            chunks are.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        O = self._raw_output(X) * self._y_scale + self._y_mean
        O = O.astype(self.coefs_[0].dtype, copy=False)
        return O[:, 0] if self._one_target else O
