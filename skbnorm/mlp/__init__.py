"""Batch-Normalized multilayer perceptrons: the network's math layer.

Only the forward and backward passes (checked against finite differences)
and the cross-derivative measure of Kohler et al.'s Figure 3 exist so far;
the estimators and their solvers are future work.
"""

from ._network import (
    ACTIVATIONS,
    cross_derivative_norms,
    forward,
    init_params,
    value_and_grad,
)

__all__ = ["ACTIVATIONS", "cross_derivative_norms", "forward", "init_params",
           "value_and_grad"]
