"""Losses and linear-model objectives: arrays in, arrays out."""

import numpy as np

from ._design import CSR, Design, as_design
from ._losses import (
    CURVATURE_BOUND,
    LOSS_CODES,
    SIGMOID,
    SOFTPLUS,
    SQUARED,
    loss_derivs,
    loss_value_derivs,
)

__all__ = [
    "CSR",
    "CURVATURE_BOUND",
    "Design",
    "LOSS_CODES",
    "LinearObjective",
    "SIGMOID",
    "SOFTPLUS",
    "SQUARED",
    "as_design",
    "loss_derivs",
    "loss_value_derivs",
]


class LinearObjective:
    r"""The objective of a linear model in original coordinates.

    .. math::

        F(\mathrm{coef}, \mathrm{intercept}) = \sum_i s_i\,
        \ell(x_i^\top \mathrm{coef} + \mathrm{intercept}, y_i)
        + \frac{\alpha}{2}\lVert \mathrm{coef} \rVert^2

    with weights ``s`` normalised to sum to one: the internal scaling of
    every estimator (a classifier's ``C`` is ``alpha = 1 / (C sum(sw))``, a
    regressor's ``alpha`` is ``alpha / sum(sw)`` with the squared loss
    halved). One objective, three consistent entry points (:meth:`loss`,
    :meth:`gradient`, :meth:`loss_gradient`), all evaluated by the package's
    kernels.

    Parameters
    ----------
    loss : {"squared", "softplus", "sigmoid"}
        The pointwise loss; for "softplus" and "sigmoid" ``y`` is in {-1, +1}.
    alpha : float, default=0.0
        L2 penalty strength on the weighted mean loss.

    Attributes
    ----------
    loss_name : str
        The loss.
    """

    def __init__(self, loss, alpha=0.0):
        if loss not in LOSS_CODES:
            raise ValueError(
                f"loss must be one of {sorted(LOSS_CODES)}, got {loss!r}."
            )
        self.loss_name = loss
        self.alpha = alpha

    def _setup(self, X, y, sample_weight):
        y = np.ascontiguousarray(y, dtype=np.float64)
        n = X.shape[0]
        if sample_weight is None:
            s = np.full(n, 1.0 / n)
        else:
            s = np.asarray(sample_weight, dtype=np.float64)
            s = s / s.sum()
        return Design(X), y, s

    def loss_gradient(self, X, y, coef, intercept=0.0, sample_weight=None):
        """Return ``(F, grad_coef, grad_intercept)`` at ``(coef, intercept)``."""
        design, y, s = self._setup(X, y, sample_weight)
        coef = np.ascontiguousarray(coef, dtype=np.float64)
        grad = np.empty(X.shape[1])
        # the solvers' own one-pass kernel, uncentered (xbar = 0)
        f, sum_r = design.value_grad(LOSS_CODES[self.loss_name], y, s,
                                     float(self.alpha), coef, float(intercept),
                                     grad)
        return f, grad, sum_r

    def loss(self, X, y, coef, intercept=0.0, sample_weight=None):
        """Return the objective value ``F``."""
        return self.loss_gradient(X, y, coef, intercept, sample_weight)[0]

    def gradient(self, X, y, coef, intercept=0.0, sample_weight=None):
        """Return ``(grad_coef, grad_intercept)``."""
        return self.loss_gradient(X, y, coef, intercept, sample_weight)[1:]
