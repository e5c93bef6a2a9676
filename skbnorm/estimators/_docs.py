"""Docstring fragments shared by the estimators (one source for the math)."""

SOLVER_DOC = r"""
    solver : {"gdnp", "gd", "agd", "bn", "wn"}, default="gdnp"
        The optimiser. With ``w~ = coef_`` in centered coordinates, ``G`` the
        gradient of the objective in ``w~`` and ``L = lipschitz_`` the largest
        eigenvalue of ``S``:

        - ``"gd"``: gradient descent on ``(w~, b)``,
          ``w~ <- w~ - learning_rate * G`` (default step ``1/L_f``,
          ``L_f = sup|l''| L + alpha``).
        - ``"agd"``: Nesterov's accelerated gradient with the same step and a
          gradient-based adaptive restart.
        - ``"bn"``: gradient descent on the Batch Normalization parameters
          ``w~ = g w/||w||_S``: ``w <- w - eta grad_w f``,
          ``g <- g - eta_g df/dg`` (Cai et al.'s ``epsilon``, ``epsilon_a``).
        - ``"wn"``: the same with Weight Normalization, ``w~ = g w/||w||_2``.
        - ``"gdnp"``: Kohler et al.'s Gradient Descent in Normalized
          Parameters: an exact scale search on ``(g, b)`` each iteration and
          the adaptive directional step
          ``s_t = -||w||_S^3 / (L g h(w, g))``, with the safeguards described
          in the user guide (descent is enforced; an undefined step falls
          back to the gd-equivalent one).

    max_iter : int, default=1000
        Maximum number of iterations. An iteration evaluates the objective
        and its gradient at the current iterate and, unless that is the last
        one, updates it; so ``n_iter_`` iterations take ``n_iter_ - 1``
        steps and ``loss_curve_[k]`` is the objective after ``k`` steps.

    tol : float, default=1e-6
        Stop when the Euclidean norm of the gradient of the objective with
        respect to ``(coef_, intercept_)`` is at most ``tol``.

    learning_rate : "auto" or float > 0, default="auto"
        For gd/agd the step on ``w~`` (auto: ``1/L_f``); for bn/wn the
        direction step ``eta``, fixed over the run as in the papers (Cai et
        al.: any value converges for bn on least squares; Arora et al.: the
        growth of ``||w||`` tunes the effective step ``eta/||w||^2``); auto:
        ``eta_t = min(eta_0, ||w_t||_M^2 / (g_t^2 L_f))``, the largest step
        whose effect on ``w~`` never exceeds gd's ``1/L_f``. For gdnp a
        multiplier of its adaptive step (auto: 1).

    learning_rate_scale : "auto" or float > 0, default="auto"
        For bn/wn the step ``eta_g`` on the scale ``g`` and the intercept
        (auto: ``||w||_M^2/(sup|l''| ||w||_S^2 + alpha ||w||^2)`` on ``g``,
        the inverse of a bound on the objective's curvature in ``g``,
        recomputed each iteration, and ``1/sup|l''|`` on the intercept; both
        halved for wn). Unused by the other solvers.

    n_bisection : int, default=30
        Maximum number of steps of gdnp's scale search per iteration
        (``T_s`` of Kohler et al.; a damped Newton method here, which reaches
        machine precision in a few steps on the convex losses).

    direction_step : {"paper", "subspace"}, default="paper"
        gdnp's directional step. ``"paper"``: Kohler et al.'s step
        ``s_t`` along ``-grad_w f`` followed by the scale search.
        ``"subspace"``: a Rayleigh--Ritz step that minimises the objective
        exactly (Newton's method on cached margins) over ``w~`` in
        ``span{w, grad_w f, p}``, ``p`` the previous move, and over the
        intercept: the scale search and the step in one, with the momentum of
        LOBPCG; on a quadratic objective it is the conjugate gradient method.
        It needs a convex loss (not ``loss="sigmoid"``). Measured on a9a, it
        reaches a relative suboptimality of 1e-6 in 94 iterations (the
        paper's step: 5765; see the user guide). Unused by the other solvers.

    alpha : float, default=0.0
        Strength of the L2 penalty ``alpha/2 ||coef_||^2`` added to the
        weighted mean loss. 0 is the papers' setting.

    fit_intercept : bool, default=True
        Fit an intercept (the BN shift). With False the model is
        ``x^T coef_`` and ``S`` is the uncentered second moment ``E[x x^T]``
        (on centered data, the covariance: the papers' setting).

    warm_start : bool, default=False
        Start from the previous ``coef_`` and ``intercept_``.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial direction ``w_0 = S xi`` (``xi`` standard normal),
        which lies in the range of ``S`` and is scaled to ``||w_0||_S = 1``.

    verbose : int, default=0
        If positive, print one line per iteration.
"""

ATTRIBUTES_DOC = r"""
    lipschitz_ : float
        ``L``, the largest eigenvalue of ``S = E_s[x_c x_c^T]`` (Lanczos).

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
