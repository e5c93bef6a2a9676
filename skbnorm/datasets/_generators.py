"""Synthetic problems with a controlled covariance spectrum.

Both generators draw inputs whose covariance ``Sigma`` has eigenvalues
log-spaced from 1 down to ``1 / condition_number`` in a random orthonormal
basis, which is the regime in which the length-direction decoupling of Batch
Normalization is analysed by Kohler et al. (2019).
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be a positive integer; got {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _check_real(value, name, *, low, high=None, low_open=False, high_open=False):
    """Validate a finite real number in an interval; return it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{name} must be a real number; got {value!r} "
            f"of type {type(value).__name__}."
        )
    value = float(value)
    left = "(" if low_open else "["
    right = ")" if high_open or high is None else "]"
    interval = f"{left}{low}, {'inf' if high is None else high}{right}"
    ok = np.isfinite(value)
    ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        raise ValueError(f"{name} must be in the range {interval}; got {value!r}.")
    return value


def _covariance_factor(n_features, condition_number, rng):
    """Return ``(A, eigvals, basis)`` with ``A @ A.T = Sigma``.

    ``Sigma = basis @ diag(eigvals) @ basis.T`` where ``eigvals`` is log-spaced
    from 1 down to ``1 / condition_number`` and ``basis`` is a Haar-distributed
    random orthogonal matrix.
    """
    eigvals = np.logspace(0.0, -np.log10(condition_number), num=n_features)
    gaussian = rng.standard_normal((n_features, n_features))
    basis, r = np.linalg.qr(gaussian)
    # Fix the column signs so that the basis is uniformly (Haar) distributed.
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    basis = basis * signs
    factor = basis * np.sqrt(eigvals)
    return factor, eigvals, basis


def make_gaussian_halfspace(
    n_samples=1000,
    n_features=10,
    *,
    condition_number=10.0,
    separation=1.0,
    class_balance=0.5,
    random_state=None,
):
    """Generate a Gaussian learning-halfspace classification problem.

    Labels are drawn with ``P(y = +1) = class_balance`` and the inputs are
    ``x | y ~ N(y * mu, Sigma)``: two Gaussian classes with shared covariance
    and means ``+mu`` and ``-mu``. The covariance ``Sigma`` has eigenvalues
    log-spaced from 1 down to ``1 / condition_number`` in a random orthonormal
    basis, and ``mu`` is a random unit vector scaled by ``separation``.

    This satisfies the Gaussian assumption on ``z = -y x`` under which Kohler
    et al. (2019) prove exponential convergence of length-direction decoupled
    (Batch Normalization style) gradient methods for learning halfspaces:
    writing ``x = y * mu + eps`` with ``eps ~ N(0, Sigma)`` independent of
    ``y``, one has ``z = -y x = -mu - y * eps``, and ``y * eps ~ N(0, Sigma)``
    by the symmetry of ``eps``. Hence ``z ~ N(-mu, Sigma)`` exactly, whatever
    the value of ``class_balance``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples. Must be a positive integer.

    n_features : int, default=10
        Number of features. Must be a positive integer.

    condition_number : float, default=10.0
        Ratio of the largest to the smallest eigenvalue of ``Sigma``. Must be
        finite and ``>= 1``. With ``n_features=1`` the single eigenvalue is 1
        and this parameter has no effect.

    separation : float, default=1.0
        Euclidean norm of ``mu``, half the distance between the two class
        means. Must be finite and ``>= 0``; ``0`` gives labels independent of
        the inputs.

    class_balance : float, default=0.5
        Probability that a label is ``+1``. Must lie in the open interval
        ``(0, 1)``.

    random_state : int, RandomState instance or None, default=None
        Determines the basis of ``Sigma``, the direction of ``mu``, the labels
        and the noise. Pass an int for reproducible output across multiple
        function calls. (see the scikit-learn glossary entry random_state).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The inputs, dtype ``float64``.

    y : ndarray of shape (n_samples,)
        The labels in {-1, +1}, dtype ``float64``.

    Raises
    ------
    ValueError
        If an argument is outside its documented range; the message names the
        parameter.

    See Also
    --------
    make_ols_problem : Least-squares data with the same covariance model.
    sklearn.datasets.make_classification : General classification problems.

    Notes
    -----
    ``mu`` is not returned; it can be estimated as half the difference of the
    class means, ``(X[y == 1].mean(0) - X[y == -1].mean(0)) / 2``, and
    ``Sigma`` as the pooled within-class covariance.

    References
    ----------
    .. [1] J. Kohler, H. Daneshmand, A. Lucchi, T. Hofmann, M. Zhou
           and K. Neymeyr, "Exponential convergence rates for Batch Normalization:
           The power of length-direction decoupling in non-convex
           optimization", Proceedings of the 22nd International Conference on
           Artificial Intelligence and Statistics (AISTATS), PMLR 89:806-815,
           2019.

    Examples
    --------
    >>> from skbnorm.datasets import make_gaussian_halfspace
    >>> X, y = make_gaussian_halfspace(n_samples=500, n_features=4,
    ...                                condition_number=100.0, random_state=0)
    >>> X.shape, y.shape
    ((500, 4), (500,))
    >>> sorted(set(y.tolist()))
    [-1.0, 1.0]
    >>> z = -y[:, None] * X  # distributed as N(-mu, Sigma)
    >>> z.shape
    (500, 4)
    """
    n_samples = _check_positive_int(n_samples, "n_samples")
    n_features = _check_positive_int(n_features, "n_features")
    condition_number = _check_real(condition_number, "condition_number", low=1)
    separation = _check_real(separation, "separation", low=0)
    class_balance = _check_real(
        class_balance, "class_balance", low=0, high=1, low_open=True, high_open=True
    )
    rng = check_random_state(random_state)

    factor, _, _ = _covariance_factor(n_features, condition_number, rng)
    direction = rng.standard_normal(n_features)
    mu = separation * direction / np.linalg.norm(direction)

    y = np.where(rng.uniform(size=n_samples) < class_balance, 1.0, -1.0)
    eps = rng.standard_normal((n_samples, n_features)) @ factor.T
    X = y[:, np.newaxis] * mu + eps
    return X, y


def make_ols_problem(
    n_samples=1000,
    n_features=10,
    *,
    condition_number=10.0,
    noise=0.1,
    return_coef=False,
    random_state=None,
):
    """Generate an ordinary least-squares regression problem.

    The inputs are ``x ~ N(0, Sigma)`` where ``Sigma`` has eigenvalues
    log-spaced from 1 down to ``1 / condition_number`` in a random orthonormal
    basis, and the targets are ``y = x^T w* + noise * eps`` with
    ``w* ~ N(0, I)`` and ``eps ~ N(0, 1)``. The condition number of ``Sigma``
    is the quantity that governs gradient descent on the least-squares
    objective and that the length-direction decoupling of Kohler et al.
    (2019) is designed to work around.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples. Must be a positive integer.

    n_features : int, default=10
        Number of features. Must be a positive integer.

    condition_number : float, default=10.0
        Ratio of the largest to the smallest eigenvalue of ``Sigma``. Must be
        finite and ``>= 1``. With ``n_features=1`` the single eigenvalue is 1
        and this parameter has no effect.

    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to the targets. Must be
        finite and ``>= 0``.

    return_coef : bool, default=False
        If True, also return the true coefficients ``w*``.

    random_state : int, RandomState instance or None, default=None
        Determines the basis of ``Sigma``, ``w*``, the inputs and the noise.
        Pass an int for reproducible output across multiple function calls.
        (see the scikit-learn glossary entry random_state).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The inputs, dtype ``float64``.

    y : ndarray of shape (n_samples,)
        The targets, dtype ``float64``.

    coef : ndarray of shape (n_features,)
        The true coefficients ``w*``. Only returned if ``return_coef=True``.

    Raises
    ------
    ValueError
        If an argument is outside its documented range; the message names the
        parameter.

    See Also
    --------
    make_gaussian_halfspace : Classification data with the same covariance
        model.
    sklearn.datasets.make_regression : General regression problems.

    References
    ----------
    .. [1] J. Kohler, H. Daneshmand, A. Lucchi, T. Hofmann, M. Zhou
           and K. Neymeyr, "Exponential convergence rates for Batch Normalization:
           The power of length-direction decoupling in non-convex
           optimization", Proceedings of the 22nd International Conference on
           Artificial Intelligence and Statistics (AISTATS), PMLR 89:806-815,
           2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skbnorm.datasets import make_ols_problem
    >>> X, y, coef = make_ols_problem(n_samples=200, n_features=3, noise=0.0,
    ...                               return_coef=True, random_state=0)
    >>> X.shape, y.shape, coef.shape
    ((200, 3), (200,), (3,))
    >>> bool(np.allclose(X @ coef, y))
    True
    """
    n_samples = _check_positive_int(n_samples, "n_samples")
    n_features = _check_positive_int(n_features, "n_features")
    condition_number = _check_real(condition_number, "condition_number", low=1)
    noise = _check_real(noise, "noise", low=0)
    rng = check_random_state(random_state)

    factor, _, _ = _covariance_factor(n_features, condition_number, rng)
    coef = rng.standard_normal(n_features)
    X = rng.standard_normal((n_samples, n_features)) @ factor.T
    y = X @ coef + noise * rng.standard_normal(n_samples)

    if return_coef:
        return X, y, coef
    return X, y
