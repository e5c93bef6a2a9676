"""Multilayer perceptrons with Batch / weight normalization.

:class:`NormalizedMLPClassifier` and :class:`NormalizedMLPRegressor`, their
solvers (:mod:`._solvers`), the network on numba kernels (:mod:`._model`,
:mod:`._kernels`) and its NumPy reference (:mod:`._network`: forward and
backward passes checked against finite differences, and the cross-derivative
measure of Kohler et al.'s Figure 3).
"""

from ._estimators import NormalizedMLPClassifier, NormalizedMLPRegressor
from ._network import (
    ACTIVATIONS,
    cross_derivative_norms,
    forward,
    init_params,
    value_and_grad,
)

__all__ = ["ACTIVATIONS", "NormalizedMLPClassifier", "NormalizedMLPRegressor",
           "cross_derivative_norms", "forward", "init_params", "value_and_grad"]
