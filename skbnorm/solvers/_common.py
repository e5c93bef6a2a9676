"""Pieces shared by the solvers: the gradient norm and gdnp's scale search."""

import math

import numpy as np

from ..objectives._margins import scale_eval

#: For the (non-convex) sigmoid loss one scale search may multiply |g| by at
#: most this factor (a trust region). Its best scale is typically infinite:
#: without the bound the scale runs to the cap from the first, random
#: direction, where every gradient vanishes (a "critical point" at infinity).
#: The convex losses get the exact scale search of Kohler et al.'s analysis.
SIGMOID_SCALE_GROWTH = 1.2


def original_grad_norm(G, gb, xbar, fit_b):
    """Norm of the gradient in ``(coef, intercept)``: ``(G + xbar gb, gb)``.

    In centered coordinates the model is ``x_c^T w~ + b``; with
    ``intercept = b - xbar^T w~`` the gradient in ``coef`` gains ``xbar gb``.
    """
    v = G + xbar * gb if fit_b else G
    acc = float(v @ v)
    if fit_b:
        acc += gb * gb
    return math.sqrt(acc)


def _scale_objective(code, t, inv_norm, y, s, alpha, pen, g, b):
    """``f(g, b)`` with derivatives, the penalty ``alpha/2 pen g^2`` included."""
    f, dg, db, hgg, hgb, hbb = scale_eval(code, t, inv_norm, y, s, g, b, True)
    f += 0.5 * alpha * pen * g * g
    dg += alpha * pen * g
    hgg += alpha * pen
    return f, dg, db, hgg, hgb, hbb


def _edge(g, g_bound, g_cap, tau, trust):
    """``(edge, at_bound)`` after a step to ``g`` (see :func:`scale_search`):
    2 at ``g_cap``, 1 at the bracket's bound or where the trust region
    shortened the step, else 0."""
    if abs(g) >= g_bound * (1.0 - 1e-12):
        return (2 if g_bound >= g_cap else 1), True
    # a step shortened by the trust region ends at its bound
    return (1 if (tau < 1.0 and trust) else 0), False


def scale_search(code, t, inv_norm, y, s, alpha, pen, fit_b, g, b, max_steps,
                 curvature, grad_tol, growth, g_cap):
    """Minimise ``f(g, b) = E_s[l(g t/||w|| + b)] + alpha/2 pen g^2`` on cached ``t``.

    A damped Newton method on ``(g, b)`` (only ``g`` when ``fit_b`` is False):
    the Newton step when the Hessian is positive definite, else a gradient
    step of length ``1/(sup|l''| + alpha pen)`` (a descent step: with unit-RMS
    centered normalised margins that is the Lipschitz constant of the
    gradient), with Armijo backtracking. Each step is O(n). At most
    ``max_steps`` steps (Kohler et al.'s ``T_s``). The search stays in the
    bracket ``|g| <= B = min(growth max(|g_0|, 1), g_cap)``, and with a
    finite ``growth`` (a trust region, for the sigmoid) also
    ``|b - b_0| <= B``: a bounded search, as the bisection bracket of Kohler
    et al.'s Algorithm 3 is. ``g_cap`` is ``MAX_SCALE`` for the halfspace
    losses, whose ``g`` is in units of the unit-RMS normalised margin, and
    infinite for least squares, whose best scale is finite and in the units
    of ``y``.

    A short last step whose predicted decrease is below the rounding of
    ``f`` is taken without a trial (no Armijo test can judge it), and the
    search stops: the returned ``f`` is then the objective before that step,
    which differs from the one at ``(g, b)`` by about its rounding.

    Returns ``(g, b, f, steps, edge)``: ``edge`` is 0 when the search ended
    inside the bracket, 1 at the trust-region bound (the objective still
    decreases as ``|g|`` grows), 2 at ``g_cap``.
    """
    f, dg, db, hgg, hgb, hbb = _scale_objective(code, t, inv_norm, y, s, alpha,
                                                pen, g, b)
    edge = 0
    steps = 0
    lip = curvature + alpha * pen
    g_bound = min(growth * max(abs(g), 1.0), g_cap)
    trust = growth < np.inf
    # in the trust region the intercept moves by at most the margin scale:
    # with the sigmoid, b can otherwise run to -inf (predict the majority
    # class) from a poor direction
    b_lo = b - g_bound if trust else -np.inf
    b_hi = b + g_bound if trust else np.inf
    while steps < max_steps:
        if not fit_b:
            db = 0.0
            hgb = 0.0
            hbb = 1.0
        gnorm = math.sqrt(dg * dg + db * db)
        if gnorm <= grad_tol:
            break
        det = hgg * hbb - hgb * hgb
        if hgg > 0.0 and det > 1e-300 * max(hgg * hbb, 1e-300):
            pg = -(hbb * dg - hgb * db) / det
            pb = -(hgg * db - hgb * dg) / det
        else:
            pg = -dg / lip
            pb = -db / lip
        if not fit_b:
            pb = 0.0
        slope = dg * pg + db * pb
        if slope >= 0.0:  # not a descent direction (numerical): use the gradient
            pg = -dg / lip
            pb = -db / lip if fit_b else 0.0
        # shorten the step to stay inside the bracket, then backtrack on it
        tau = 1.0
        by_g = False
        if abs(g + pg) > g_bound:
            room = (g_bound - abs(g)) if g * pg >= 0.0 else (g_bound + abs(g))
            tau = min(tau, max(room, 0.0) / abs(pg))
            by_g = True
        if pb > 0.0 and b + pb > b_hi:
            tau_b = max(b_hi - b, 0.0) / pb
            by_g = by_g and tau <= tau_b
            tau = min(tau, tau_b)
        if pb < 0.0 and b + pb < b_lo:
            tau_b = max(b - b_lo, 0.0) / -pb
            by_g = by_g and tau <= tau_b
            tau = min(tau, tau_b)
        at_cap = by_g and g_bound >= g_cap
        pg *= tau
        pb *= tau
        slope = dg * pg + db * pb
        if slope >= 0.0:  # at the bracket's edge, pushing outwards
            edge = 2 if at_cap else 1
            break
        if (-slope <= 1e-15 * abs(f) and abs(pg) <= 1e-6 * (1.0 + abs(g))
                and abs(pb) <= 1e-6 * (1.0 + abs(b))):
            # a short step whose predicted decrease is below the rounding of
            # f: the Armijo test cannot judge it, and its backtracking halved
            # it up to 30 times, a pass over the rows each (measured: nine
            # passes where three found the minimum, with tol=0 on a9a).
            # Take it unevaluated and stop: f moves by about its rounding,
            # and the gradient, which the stopping test needs small, shrinks
            # (a long step, from a nearly singular Hessian of the non-convex
            # sigmoid, is still searched)
            g, b = g + pg, b + pb
            steps += 1
            edge, _ = _edge(g, g_bound, g_cap, tau, trust)
            break
        lam = 1.0
        accepted = False
        for _ in range(30):
            g_new = g + lam * pg
            b_new = b + lam * pb
            # derivatives come with the trial: an accepted trial (the usual
            # case for Newton steps) then needs no second pass
            trial = _scale_objective(code, t, inv_norm, y, s, alpha, pen, g_new,
                                     b_new)
            if trial[0] <= f + 1e-4 * lam * slope:
                accepted = True
                break
            lam *= 0.5
        steps += 1
        if not accepted:
            break
        moved = abs(g_new - g) + abs(b_new - b)
        gain = f - trial[0]
        g, b = g_new, b_new
        f, dg, db, hgg, hgb, hbb = trial
        edge, at_bound = _edge(g, g_bound, g_cap, tau, trust)
        if at_bound:
            break
        if moved <= 1e-15 * (1.0 + abs(g) + abs(b)) or gain <= 1e-15 * abs(f):
            break
    return g, b, f, steps, edge
