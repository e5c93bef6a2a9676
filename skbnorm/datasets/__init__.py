"""Data sets used to benchmark and test the ``skbnorm`` estimators.

- :func:`load_a9a` loads the LIBSVM ``a9a`` benchmark (train and test splits),
  which ships inside the package and loads offline.
- :func:`make_gaussian_halfspace` and :func:`make_ols_problem` generate
  synthetic problems with a controlled covariance condition number.
"""

from ._a9a import load_a9a
from ._generators import make_gaussian_halfspace, make_ols_problem

__all__ = ["load_a9a", "make_gaussian_halfspace", "make_ols_problem"]
