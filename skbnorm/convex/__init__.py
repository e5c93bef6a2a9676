"""Convex Batch-Normalized ReLU networks (Ergen et al., ICLR 2022).

A weight-decay regularised two-layer ReLU network with Batch Normalization
is, after whitening the data, a two-layer ReLU network with a path penalty,
whose training problem is a convex cone-constrained group lasso over the
activation patterns of the data. :class:`ConvexBNReLURegressor` and
:class:`ConvexBNReLUClassifier` solve it and return the network; the
functions below are the pieces, for checking and for comparison with
locally trained networks.
"""

from ._arrangements import enumerate_patterns, max_patterns, sample_patterns
from ._certify import UncertifiedWarning, cell_values, working_set_solve
from ._estimators import ConvexBNReLUClassifier, ConvexBNReLURegressor
from ._network import (
    bn_relu_forward,
    bn_relu_objective,
    bn_relu_value_and_grad,
    closed_form,
    recover_network,
    whiten,
)
from ._solver import admm_group_lasso, dual_bound, network_value, primal_value

__all__ = [
    "ConvexBNReLUClassifier",
    "ConvexBNReLURegressor",
    "UncertifiedWarning",
    "admm_group_lasso",
    "bn_relu_forward",
    "bn_relu_objective",
    "bn_relu_value_and_grad",
    "cell_values",
    "closed_form",
    "dual_bound",
    "enumerate_patterns",
    "max_patterns",
    "network_value",
    "primal_value",
    "recover_network",
    "sample_patterns",
    "whiten",
    "working_set_solve",
]
