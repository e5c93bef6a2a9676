"""Batch-Normalized multilayer perceptrons: the network's math layer.

Only the forward and backward passes exist so far (checked against finite
differences); the estimators and their solvers are future work.
"""

from ._network import ACTIVATIONS, forward, init_params, value_and_grad

__all__ = ["ACTIVATIONS", "forward", "init_params", "value_and_grad"]
