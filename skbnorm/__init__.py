"""skbnorm: scikit-learn estimators solved in the length-direction
parametrisation behind Batch Normalization."""

from .convex import ConvexBNReLUClassifier, ConvexBNReLURegressor
from .estimators import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
)
from .mlp import NormalizedMLPClassifier, NormalizedMLPRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "ConvexBNReLUClassifier",
    "ConvexBNReLURegressor",
    "HalfspaceClassifier",
    "NormalizedLinearRegression",
    "NormalizedLogisticRegression",
    "NormalizedMLPClassifier",
    "NormalizedMLPRegressor",
    "__version__",
]
