r"""Length-direction reparametrisations (Batch and Weight Normalization).

Both write the coefficient vector as a length times a direction,

.. math::

    \tilde w = g\,\frac{w}{\lVert w \rVert_M}, \qquad
    \lVert w \rVert_M^2 = w^\top M w,

with ``M = S`` (the covariance of the inputs, Batch Normalization, BN) or
``M = I`` (Weight Normalization, WN). With ``G`` the gradient of the objective
in ``w~``, the chain rule gives

.. math::

    \frac{\partial f}{\partial g} = \frac{w^\top G}{\lVert w \rVert_M},\qquad
    \nabla_w f = \frac{g}{\lVert w \rVert_M}
    \Big(G - \frac{w^\top G}{\lVert w \rVert_M^2} M w\Big),

so ``w^T grad_w f = 0``: a gradient step never shrinks ``||w||`` (the
auto rate-tuning of Arora et al., 2019). For BN, ``M w = S w = X_c^T (s * t)``
with the margins ``t = X_c w``, so one forward and one (fused) backward pass
give every quantity; ``S`` is never formed.
"""

from ._chain import bn_chain, direction_norm, wn_chain

__all__ = ["bn_chain", "direction_norm", "wn_chain"]
