r"""Gradient Descent in Normalized Parameters (``gdnp``, Kohler et al. 2019).

``solver="gdnp"`` has two directional steps. ``direction_step="subspace"``
(the default, :mod:`._subspace`) minimises the objective over a small
subspace in a curvature metric; ``direction_step="paper"`` is Kohler et
al.'s Algorithm 1, implemented here. Each iteration, on the BN
parametrisation ``w~ = g w/||w||_S``:

1. **scale search** -- ``(g, b) <- argmin f(g w/||w||_S, b)`` on the cached
   margins ``t = X_c w`` (:func:`~skbnorm.solvers._common.scale_search`, a
   damped Newton method of at most ``n_bisection`` O(n) steps, in place of
   Kohler et al.'s bisection, Algorithm 3);
2. **directional step** -- ``w <- w - s_t grad_w f`` with

   .. math::

       s_t = -\frac{\lVert w\rVert_S^3}{L\,g\,h(w, g)},\qquad
       h = (u^\top w)\,E[\phi'(z^\top\tilde w)]
           - \frac{g}{\lVert w\rVert_S}(u^\top w)^2\,E[\phi''(z^\top\tilde w)],

   ``u = E[z]``, ``z = -y x_c``. The printed equation (18) of the paper drops
   the factor ``g/||w||_S``; with it, the step is scale-consistent and on
   Gaussian ``z`` reproduces the least-squares step of Theorem 1 exactly. For
   least squares ``h = u^T w`` and the step is Theorem 1's
   ``w <- w + 2 eta_t ((u^T w) u + rho(w) S w)/(w^T S w)``.
3. **stop** when the estimated suboptimality is below ``tol``.

Safeguards (off the Gaussian model the step is a heuristic): ``|s_t|`` is used
so that the step is a descent step; where ``s_t`` is undefined (``h = 0``,
``g = 0``) the step falls back to the gd-equivalent ``||w||_S^2/(g^2 L_f)``;
a step may turn ``w`` by at most ``atan(10)`` (a tiny ``h`` otherwise gives an
astronomically long step);
a step whose objective after the scale search is higher is halved until it is
not (at most 30 times), else the solver stops (``STALLED``); the shortening
carries over to the next iterations and is undone (doubled back to 1) by
each step accepted at its first trial. ``w`` is
renormalised to ``||w||_S = 1`` after each step, which changes nothing but
keeps the numbers in range.
"""

import math

import numpy as np

from ..objectives._design import dot, weighted_sq_norm
from ..objectives._losses import SIGMOID, SQUARED
from ..reparam._chain import bn_chain
from ._base import MAX_SCALE, Solver, Status, register
from ._common import SIGMOID_SCALE_GROWTH, original_grad_norm, scale_search


class GDNPPaperSolver(Solver):
    """``gdnp`` with Kohler et al.'s directional step (``direction_step="paper"``)."""

    name = "gdnp"

    def __init__(self, problem, options):
        super().__init__(problem, options)
        p = problem
        lr = options.learning_rate
        self.lr_mult = 1.0 if lr == "auto" else float(lr)
        self.n_search = int(options.n_bisection)
        self.growth = SIGMOID_SCALE_GROWTH if p.code == SIGMOID else np.inf
        self.g_cap = np.inf if p.code == SQUARED else MAX_SCALE
        # the scale search's own tolerance on its gradient in (g, b)
        self.search_tol = 1e-3 * p.tol
        n, d = p.n_samples, p.n_features
        self.t = np.empty(n)
        self.r = np.empty(n)
        self.G = np.empty(d)
        self.Sw = np.empty(d)
        self.gw = np.empty(d)
        self.search_steps = 0
        self.step_shrink = 1.0
        self.edge = 0

    def _search(self, t, nS_sq, w, g, b):
        p = self.problem
        pen = dot(w, w) / nS_sq
        g, b, f, steps, edge = scale_search(
            p.code, t, 1.0 / math.sqrt(nS_sq), p.y, p.s, p.alpha, pen,
            p.fit_intercept, g, b, self.n_search, p.curvature, self.search_tol,
            self.growth, self.g_cap)
        self.search_steps += steps
        return g, b, f, edge

    def start(self, coef, intercept, random_state):
        p = self.problem
        if coef is None:
            w = p.random_direction(random_state)
            w = np.zeros(p.n_features) if w is None else w
            scale = 1.0
        else:
            nS = p.s_norm(coef)
            w, scale = coef / nS, nS
        self.w = np.array(w, dtype=np.float64)
        p.margins(self.w, self.t)
        nS_sq = weighted_sq_norm(self.t, p.s)
        self.stalled = not nS_sq > 0.0
        self.g, self.b = float(scale), float(intercept)
        if not self.stalled:
            self.g, self.b, self.f, self.edge = self._search(
                self.t, nS_sq, self.w, self.g, self.b)

    def evaluate(self):
        p = self.problem
        if self.stalled:
            return Status.STALLED
        g, b = self.g, self.b
        nS_sq = weighted_sq_norm(self.t, p.s)
        a = g / math.sqrt(nS_sq)
        f, gb, _, e1, e2, _ = p.design.loss_rmatvec2(p.code, self.t, a, b, p.y,
                                                  p.s, self.r, np.empty(0),
                                                  self.G, self.Sw)
        nW_sq = dot(self.w, self.w)
        self.G += p.alpha * a * self.w
        f += 0.5 * p.alpha * a * a * nW_sq
        if not p.fit_intercept:
            gb = 0.0
        gn = original_grad_norm(self.G, gb, p.xbar, p.fit_intercept)
        self._record(f, gn, math.sqrt(nW_sq))
        self.f, self.e1, self.e2 = f, e1, e2
        self.nS_sq, self.nW_sq = nS_sq, nW_sq
        if self.edge == 2:
            # the last scale search hit the cap: this iterate is recorded, stop
            return Status.SCALE_CAP
        if p.stopping.converged(f, self.G, gb, lambda: a * self.t + b):
            return Status.CONVERGED
        return Status.RUNNING

    def step(self):
        p = self.problem
        g, b, f = self.g, self.b, self.f
        nS_sq, nW_sq = self.nS_sq, self.nW_sq
        nS = math.sqrt(nS_sq)
        a = g / nS
        bn_chain(self.G, self.w, g, self.Sw, nS_sq, self.gw)
        uw = dot(p.u, self.w)
        if p.code == SQUARED:
            h = uw  # least squares: Theorem 1's step exactly
        else:
            h = uw * self.e1 - a * uw * uw * self.e2
        lip = p.lipschitz + p.alpha
        step = 0.0
        if g != 0.0 and h != 0.0 and abs(h) > 1e-300:
            step = abs(nS_sq * nS / (lip * g * h)) * self.lr_mult
        if not (np.isfinite(step) and step > 0.0):
            if g == 0.0:
                return Status.STALLED
            step = nS_sq / (g * g * p.lipschitz_coef) * self.lr_mult
        # grad_w f is orthogonal to w, so a step turns w by the angle
        # atan(step ||grad_w f|| / ||w||); where h is tiny but not zero the
        # model step is astronomically long and every such step lands on the
        # same direction -grad_w f. Capping the turn at atan(10) (84 degrees)
        # loses nothing and leaves the halvings below room to work.
        gw_norm = math.sqrt(dot(self.gw, self.gw))
        if gw_norm > 0.0:
            step = min(step, 10.0 * math.sqrt(nW_sq) / gw_norm)
        # remember how much the last steps had to be shortened, so that a
        # region where the model step is too long costs one trial, not many
        step *= self.step_shrink
        t_new = np.empty(p.n_samples)
        accepted = False
        tries = 0
        for _ in range(31):
            tries += 1
            w_new = self.w - step * self.gw
            p.margins(w_new, t_new)
            nn_sq = weighted_sq_norm(t_new, p.s)
            if nn_sq > 0.0 and np.isfinite(nn_sq):
                g2, b2, f2, edge = self._search(t_new, nn_sq, w_new, g, b)
                if f2 <= f + 1e-13 * abs(f):
                    accepted = True
                    break
            step *= 0.5
            self.step_shrink *= 0.5
        if not accepted:
            return Status.STALLED
        if tries == 1:
            self.step_shrink = min(1.0, 2.0 * self.step_shrink)
        # accept, renormalise to ||w||_S = 1 (the objective is scale invariant)
        inv_new = 1.0 / math.sqrt(nn_sq)
        self.w = w_new * inv_new
        self.t = t_new * inv_new
        self.g, self.b, self.f, self.edge = g2, b2, f2, edge
        return Status.RUNNING

    def result(self):
        return self.problem.bn_coef(self.w, self.g), self.b

    @property
    def scale(self):
        return self.g

    @property
    def scale_at_bound(self):
        """Whether the last scale search ended at its trust-region bound."""
        return self.edge == 1


@register
class GDNP:
    """``gdnp``: the directional step chosen by ``direction_step``."""

    name = "gdnp"

    @staticmethod
    def fits_chunks(options):
        # the subspace step reaches the rows through the design only; the
        # paper's step does not yet
        return options.direction_step == "subspace"

    @staticmethod
    def create(problem, options):
        if options.direction_step == "paper":
            return GDNPPaperSolver(problem, options)
        from ._subspace import SubspaceSolver

        return SubspaceSolver(problem, options)
