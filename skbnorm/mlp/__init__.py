"""Multilayer perceptrons with Batch / weight normalization.

:class:`NormalizedMLPClassifier` and :class:`NormalizedMLPRegressor`, their
solvers (:mod:`._solvers`), the network on numba kernels (:mod:`._model`,
:mod:`._kernels`) and its NumPy reference (the private :mod:`._network`:
forward and backward passes checked against finite differences). Public:
the estimators and the cross-derivative measure of Kohler et al.'s Figure 3.
"""

from ._estimators import NormalizedMLPClassifier, NormalizedMLPRegressor
from ._network import cross_derivative_norms

# The NumPy reference network (forward, value_and_grad) is the tests'
# twin of the estimators' kernels, not an interface: it stays in the
# private module _network, with the initialisation in _model.
__all__ = ["NormalizedMLPClassifier", "NormalizedMLPRegressor",
           "cross_derivative_norms"]
