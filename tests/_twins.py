"""Short pure-NumPy reference implementations ("twins") of every solver.

They follow the update rules as written in the docstrings and in
ALGORITHMS.md, on a dense centered design, without any of the kernels'
fusions, so the jitted solvers can be checked against them iteration by
iteration from the same start.
"""

import numpy as np
from scipy.optimize import minimize

from skbnorm.objectives import CURVATURE_BOUND, LOSS_CODES, loss_value_derivs


class Twin:
    def __init__(self, X, y, loss, alpha=0.0, fit_intercept=True, sw=None):
        X = np.asarray(X, dtype=np.float64)
        n, d = X.shape
        s = np.full(n, 1.0 / n) if sw is None else sw / sw.sum()
        self.xbar = s @ X if fit_intercept else np.zeros(d)
        self.Xc = X - self.xbar
        self.y = np.asarray(y, dtype=np.float64)
        self.s = s
        self.loss = loss
        self.code = LOSS_CODES[loss]
        self.alpha = alpha
        self.fit_b = fit_intercept
        self.S = self.Xc.T @ (s[:, None] * self.Xc)
        self.L = np.linalg.eigvalsh(self.S)[-1]
        self.curv = CURVATURE_BOUND[self.code]
        self.Lf = self.curv * self.L + alpha

    # objective in centered coordinates (w~, b)
    def f(self, wt, b):
        val, _, _ = loss_value_derivs(self.loss, self.Xc @ wt + b, self.y)
        return self.s @ val + 0.5 * self.alpha * wt @ wt

    def grad(self, wt, b):
        _, d1, _ = loss_value_derivs(self.loss, self.Xc @ wt + b, self.y)
        r = self.s * d1
        return self.Xc.T @ r + self.alpha * wt, r.sum() if self.fit_b else 0.0

    def orig_grad_norm(self, wt, b):
        G, gb = self.grad(wt, b)
        v = np.r_[G + self.xbar * gb, gb if self.fit_b else 0.0]
        return np.linalg.norm(v)

    def start(self, seed):
        rng = np.random.RandomState(seed)
        xi = rng.standard_normal(self.S.shape[0])
        w = self.S @ xi
        return w / np.sqrt(w @ self.S @ w)

    def b0(self):
        if not self.fit_b:
            return 0.0
        if self.loss == "squared":
            return self.s @ self.y
        p = self.s @ (self.y > 0)
        return np.log(p / (1 - p))

    # -- solvers --------------------------------------------------------------
    def gd(self, seed, n_iter, accel=False):
        x = self.start(seed)
        x_prev = x.copy()
        b = b_prev = self.b0()
        step_w = 1.0 / self.Lf
        step_b = step_w * self.Lf / self.curv
        km = 0.0
        losses = []
        for _ in range(n_iter):
            beta = (km - 1) / (km + 2) if (accel and km >= 1) else 0.0
            yv = x + beta * (x - x_prev)
            yb = b + beta * (b - b_prev)
            losses.append(self.f(yv, yb))
            G, gb = self.grad(yv, yb)
            nx = yv - step_w * G
            nb = yb - step_b * gb
            restart = G @ (nx - x) + gb * (nb - b)
            x_prev, x = x, nx
            b_prev, b = b, nb
            if accel:
                km = 0.0 if restart > 0 else km + 1
        return np.array(losses), x, b

    def bn(self, seed, n_iter, weight_norm=False):
        w = self.start(seed)
        g = 1.0
        if weight_norm:
            g = np.linalg.norm(w)  # the same w~ as bn's start
        b = self.b0()
        M = np.eye(len(w)) if weight_norm else self.S
        nrm = w @ M @ w
        safety = 0.5 if weight_norm else 1.0
        eta0 = safety * (w @ w if weight_norm else 1.0) / (g * g * self.Lf)
        losses = []
        for _ in range(n_iter):
            nrm = w @ M @ w
            wt = g * w / np.sqrt(nrm)
            losses.append(self.f(wt, b))
            G, gb = self.grad(wt, b)
            dg = w @ G / np.sqrt(nrm)
            gw = g / np.sqrt(nrm) * (G - (w @ G) / nrm * (M @ w))
            eta_g = safety / ((self.curv * (w @ self.S @ w) + self.alpha * (w @ w))
                              / nrm)
            w = w - min(eta0, safety * nrm / (g * g * self.Lf)) * gw
            g = g - eta_g * dg
            b = b - safety / self.curv * gb
        return np.array(losses), g * w / np.sqrt(w @ M @ w), b

    def _scale(self, w, g, b):
        """Exact argmin over (g, b) by a quasi-Newton method (convex losses)."""
        nS = np.sqrt(w @ self.S @ w)

        def obj(p):
            gg, bb = p[0], (p[1] if self.fit_b else 0.0)
            return self.f(gg * w / nS, bb)

        res = minimize(obj, [g, b], method="BFGS",
                       options={"gtol": 1e-13, "maxiter": 1000})
        # polish with Newton-like accuracy
        return res.x[0], (res.x[1] if self.fit_b else 0.0)

    def gdnp(self, seed, n_iter):
        assert self.loss != "sigmoid"
        w = self.start(seed)
        g, b = self._scale(w, 1.0, self.b0())
        u = -self.Xc.T @ (self.s * self.y)
        losses = []
        for _ in range(n_iter):
            nS2 = w @ self.S @ w
            nS = np.sqrt(nS2)
            wt = g * w / nS
            losses.append(self.f(wt, b))
            G, _ = self.grad(wt, b)
            gw = g / nS * (G - (w @ G) / nS2 * (self.S @ w))
            uw = u @ w
            if self.loss == "squared":
                h = uw
            else:
                m = self.Xc @ wt + b
                z = -self.y * m
                e = np.exp(-np.abs(z))
                d1 = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
                d2 = e / (1 + e) ** 2
                h = uw * (self.s @ d1) - g / nS * uw**2 * (self.s @ d2)
            if self.loss == "squared" and self.alpha == 0:
                # Kohler et al., eq. (13) with Theorem 1's step, literally
                rho = -(uw**2) / nS2
                eta = nS2 / (2 * self.L * abs(rho))
                w = w + 2 * eta * (uw * u + rho * (self.S @ w)) / nS2
            else:
                step = abs(nS**3 / ((self.L + self.alpha) * g * h))
                w = w - step * gw
            w = w / np.sqrt(w @ self.S @ w)
            g, b = self._scale(w, g, b)
        return np.array(losses), g * w / np.sqrt(w @ self.S @ w), b

    def subspace_min(self, V, c0, b):
        """``argmin_{c, b} f(V c, b)`` by Newton's method with backtracking.

        The subproblem is a small convex problem in ``(c, b)``; 50 damped
        Newton steps from ``(c0, b)`` solve it to rounding.
        """
        A = self.Xc @ V
        if self.fit_b:
            A = np.column_stack([A, np.ones(len(self.y))])
        k = V.shape[1]
        R = np.zeros((A.shape[1], A.shape[1]))
        R[:k, :k] = self.alpha * V.T @ V

        def parts(p):
            val, d1, d2 = loss_value_derivs(self.loss, A @ p, self.y)
            f = self.s @ val + 0.5 * p @ R @ p
            hess = A.T @ (A * (self.s * d2)[:, None]) + R
            return f, A.T @ (self.s * d1) + R @ p, hess

        p = np.r_[c0, b] if self.fit_b else np.asarray(c0, dtype=float)
        f, grad, H = parts(p)
        for _ in range(50):
            step = -np.linalg.solve(H, grad)
            lam = 1.0
            while lam > 1e-12:
                f_new, grad_new, H_new = parts(p + lam * step)
                if f_new <= f + 1e-4 * lam * (grad @ step):
                    break
                lam *= 0.5
            if not f_new < f:
                break
            p, f, grad, H = p + lam * step, f_new, grad_new, H_new
        return p[:k], (p[k] if self.fit_b else 0.0), f

    def gdnp_subspace(self, seed, n_iter):
        """gdnp with the Rayleigh--Ritz step: exact minimisation over
        ``w~ in span{w/||w||_S, grad_w f, p}`` and ``b``, ``p`` the last move.

        Least squares only (its subproblem is a linear least-squares problem,
        solved here in closed form); see ``test_subspace.py`` for the others.
        """
        assert self.loss == "squared"
        w = self.start(seed)
        g, b = self._scale(w, 1.0, self.b0())
        p = None
        losses = []
        for _ in range(n_iter):
            nS = np.sqrt(w @ self.S @ w)
            wt = g * w / nS
            losses.append(self.f(wt, b))
            G, _ = self.grad(wt, b)
            gw = g / nS * (G - (w @ G) / nS**2 * (self.S @ w))
            cols = [w / nS, gw] + ([p] if p is not None else [])
            V = np.column_stack(cols)
            # min_c,b 1/2 sum_i s_i (x_ci^T V c + b - y_i)^2 + alpha/2 |V c|^2
            A = self.Xc @ V
            if self.fit_b:
                A = np.column_stack([A, np.ones(len(self.y))])
            H = A.T @ (self.s[:, None] * A)
            H[: V.shape[1], : V.shape[1]] += self.alpha * V.T @ V
            sol = np.linalg.solve(H, A.T @ (self.s * self.y))
            c = sol[: V.shape[1]]
            b = sol[-1] if self.fit_b else 0.0
            wt_new = V @ c
            p = wt_new - g * w / nS
            p = p / np.sqrt(p @ self.S @ p)
            g = np.sqrt(wt_new @ self.S @ wt_new)
            w = wt_new / g
        return np.array(losses), g * w / np.sqrt(w @ self.S @ w), b
