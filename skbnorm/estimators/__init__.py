"""The scikit-learn estimators."""

from ._classification import HalfspaceClassifier, NormalizedLogisticRegression
from ._regression import NormalizedLinearRegression

__all__ = [
    "HalfspaceClassifier",
    "NormalizedLinearRegression",
    "NormalizedLogisticRegression",
]
