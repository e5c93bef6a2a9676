"""Docstring fragments shared by the estimators (one source for the math)."""

C_DOC = r"""
    C : float, default=1.0
        Inverse of the regularisation strength, as in
        :class:`~sklearn.linear_model.LogisticRegression`: the objective is
        ``C sum_i sw_i l_i + ||coef||^2 / 2``. ``C=np.inf`` removes the
        penalty (the papers' setting). Internally the objective is divided
        by ``C sum(sw)``: ``loss_curve_`` holds the weighted mean loss plus
        ``a/2 ||coef||^2`` with ``a = 1/(C sum(sw))``.
"""

SOLVER_DOC = r"""
    solver : {"gdnp", "gd", "agd", "bn", "wn"}, default="gdnp"
        The optimiser. With ``w~ = coef_`` in centered coordinates, ``G`` the
        gradient of the objective in ``w~`` and ``L`` the largest eigenvalue
        of ``S``, the covariance of the inputs:

        - ``"gdnp"``: Gradient Descent in Normalized Parameters, the
          length-direction decoupling of Kohler et al. Its directional step
          is ``direction_step``; the default, a Newton step on a subspace
          that holds the current direction with a free length, is the
          fastest solver of the package (see the user guide's benchmarks).
        - ``"gd"``: gradient descent on ``(w~, b)``,
          ``w~ <- w~ - learning_rate * G`` (default step ``1/L_f``,
          ``L_f = sup|l''| L + a``).
        - ``"agd"``: Nesterov's accelerated gradient with the same step and a
          gradient-based adaptive restart.
        - ``"bn"``: gradient descent on the Batch Normalization parameters
          ``w~ = g w/||w||_S``: ``w <- w - eta grad_w f``,
          ``g <- g - eta_g df/dg`` (Cai et al.'s ``epsilon``, ``epsilon_a``).
        - ``"wn"``: the same with Weight Normalization, ``w~ = g w/||w||_2``.

    max_iter : int, default=1000
        Maximum number of iterations. An iteration evaluates the objective
        and its gradient at the current iterate and, unless that is the last
        one, updates it; so ``n_iter_`` iterations take ``n_iter_ - 1``
        steps and ``loss_curve_[k]`` is the objective after ``k`` steps.

    tol : float, default=1e-6
        The relative suboptimality at which a fit stops: it stops once
        ``(F - F*) / |F| <= tol`` by Newton's estimate
        ``1/2 grad F^T H^{-1} grad F`` at the iterate (``H`` the Hessian),
        which is exact for least squares and asymptotically exact for the
        logistic loss; every solver uses the same test, so ``tol`` means the
        same thing whatever the solver. At the default, every fit of the
        test panel ended within 1e-6 of its optimum (``suboptimality_``
        holds the estimate). ``tol=0`` stops only at a zero gradient.

    learning_rate : "auto" or float > 0, default="auto"
        For gd/agd the step on ``w~`` (auto: ``1/L_f``); for bn/wn the
        direction step ``eta``, fixed over the run as in the papers (Cai et
        al.: any value converges for bn on least squares; Arora et al.: the
        growth of ``||w||`` tunes the effective step ``eta/||w||^2``); auto:
        ``eta_t = min(eta_0, ||w_t||_M^2 / (g_t^2 L_f))``, the largest step
        whose effect on ``w~`` never exceeds gd's ``1/L_f``. For gdnp's
        paper step a multiplier of its adaptive step (auto: 1). Unused by
        gdnp's subspace step.

    learning_rate_scale : "auto" or float > 0, default="auto"
        For bn/wn the step ``eta_g`` on the scale ``g`` and the intercept
        (auto: ``||w||_M^2/(sup|l''| ||w||_S^2 + a ||w||^2)`` on ``g``,
        the inverse of a bound on the objective's curvature in ``g``,
        recomputed each iteration, and ``1/sup|l''|`` on the intercept; both
        halved for wn). Unused by the other solvers.

    n_bisection : int, default=30
        Maximum number of Newton steps of gdnp's inner searches per
        iteration: the scale search of the paper step (``T_s`` of Kohler et
        al.; a damped Newton method here, which reaches machine precision in
        a few steps on the convex losses) and the subspace step's solve.

    direction_step : {"subspace", "paper"}, default="subspace"
        gdnp's directional step. ``"paper"`` is Kohler et al.'s Algorithm 1
        exactly: the adaptive step ``s_t = -||w||_S^3 / (L g h(w, g))``
        along ``-grad_w f`` followed by an exact scale search, with the
        safeguards described in the user guide. ``"subspace"`` minimises
        the objective exactly (Newton's method on cached margins) over
        ``w~`` in ``span{w, M^{-1} grad, p}`` and the intercept, ``p`` the
        previous move and ``M`` the ``metric``: the length of ``w`` is a free
        coefficient of the same search. In a binary (or one-vs-rest) fit
        where ``M`` is a Hessian formed at this iterate (Newton's
        direction) and the loss is not least squares, ``p`` is the gradient
        instead (the multinomial fit keeps the previous move). Unused by
        the other solvers.

    metric : {"auto", "hessian", "S", "diagonal", "identity"}, default="auto"
        The metric of the subspace step's descent direction: ``"hessian"``
        (the Hessian, formed at the start, where it is ``E[l''] S + a I``,
        and refreshed when that pays: Newton's direction), ``"S"`` (the
        start's metric kept: Batch Normalization's whitening with the full
        covariance), ``"diagonal"`` (the Hessian's diagonal, BN's per-unit
        scaling), ``"identity"`` (``grad_w f`` itself, the subspace step of
        earlier versions; convex losses only). ``"auto"``: ``"hessian"``
        up to 2048 features, else ``"diagonal"``; for the logistic loss on
        a shape whose Hessian costs more than 10 iterations (dense
        ``100000 x 400``: 18 by the model, about 15 measured), the first
        iterations from ``coef = 0`` go along the
        gradient itself and the Hessian is formed once their measured rate
        says it pays, or when the stopping test needs it. The multinomial fit
        (more than two classes) takes ``"auto"``: the whole Hessian while it
        has at most 128 coefficients ``n_classes (n_features + 1)``, beyond
        that Newton's direction by conjugate gradients preconditioned by a
        Kronecker-factored metric (``S`` times the class covariance of the
        softmax); ``"hessian"``: the whole Hessian whatever its size;
        ``"S"``: the first metric kept. Unused by the other solvers.

    fit_intercept : bool, default=True
        Fit an intercept (the BN shift). With False the model is
        ``x^T coef_`` and ``S`` is the uncentered second moment ``E[x x^T]``
        (on centered data, the covariance: the papers' setting).

    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_``.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial direction ``w_0 = S xi`` (``xi`` standard normal)
        of the solvers that start at a random direction (gd, agd, bn, wn,
        gdnp's paper step and its subspace step with ``metric="identity"``);
        it lies in the range of ``S`` and is scaled to ``||w_0||_S = 1``.
        gdnp's subspace step with a metric starts at ``coef = 0``.

    verbose : int, default=0
        If positive, print one line per iteration.
"""

ATTRIBUTES_DOC = r"""
    suboptimality_ : float or ndarray of shape (1,) or (n_classes,)
        The final estimate of the relative suboptimality ``(F - F*)/|F|``
        that ``tol`` bounds (Newton's decrement; NaN when the fit never
        needed it, e.g. stopped by ``max_iter`` far from the optimum, or
        before the deferred Hessian of ``metric="auto"`` was formed).

    lipschitz_ : float
        ``L``, the largest eigenvalue of ``S = E_s[x_c x_c^T]`` (Lanczos),
        which sets the steps of gd, agd, bn, wn and gdnp's paper step; NaN
        for gdnp's subspace step, which does not need it.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
"""

REFERENCES_DOC = r"""
    References
    ----------
    .. [1] J. Kohler, H. Daneshmand, A. Lucchi, T. Hofmann, M. Zhou
       and K. Neymeyr, "Exponential convergence rates for Batch Normalization:
       The power of length-direction decoupling in non-convex optimization",
       AISTATS 2019.
    .. [2] S. Arora, Z. Li and K. Lyu, "Theoretical analysis of auto
       rate-tuning by Batch Normalization", ICLR 2019.
    .. [3] Y. Cai, Q. Li and Z. Shen, "A quantitative analysis of the effect
       of Batch Normalization on gradient descent", ICML 2019.
    .. [4] B. O'Donoghue and E. Candès, "Adaptive restart for accelerated
       gradient schemes", Foundations of Computational Mathematics, 2015.
"""
