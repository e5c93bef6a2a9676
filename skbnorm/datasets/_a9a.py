"""Loader for the LIBSVM ``a9a`` benchmark shipped inside the package."""

from importlib import resources

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file
from sklearn.utils import Bunch

_DATA_PACKAGE = "skbnorm.datasets"
_DATA_DIR = "data"
_FILES = {"train": "a9a.gz", "test": "a9a.t.gz"}
_N_FEATURES = 123


def _data_file(name):
    """Traversable for a file in the package's ``data`` folder."""
    return resources.files(_DATA_PACKAGE).joinpath(_DATA_DIR, name)


def _read_descr():
    return _data_file("README.md").read_text(encoding="utf-8")


def load_a9a(split="train", *, return_X_y=True, dtype=np.float64):
    """Load the ``a9a`` binary classification data set (LIBSVM version).

    ``a9a`` is the binarised UCI "Adult" (census income) data set: predict
    whether a person earns more than 50K a year from 123 binary indicator
    features. The train and test files ship inside the package and are read
    offline with :func:`sklearn.datasets.load_svmlight_file`; nothing is
    downloaded and nothing is cached, so every call returns fresh arrays that
    the caller is free to modify.

    =================   ==============================
    Classes                                          2
    Samples (train)                              32561
    Samples (test)                               16281
    Features                                       123
    Stored values       451592 (train), 225731 (test)
    Feature values                   1 (binary, sparse)
    Labels                                    -1 or +1
    =================   ==============================

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which file to load: ``"train"`` reads ``a9a`` and ``"test"`` reads
        ``a9a.t``. Both splits are returned with 123 columns (the test file
        never uses feature 123, so it is padded to the training width).

    return_X_y : bool, default=True
        If True, return ``(X, y)``. If False, return a
        :class:`~sklearn.utils.Bunch` holding the data and a description.

    dtype : numpy dtype, default=np.float64
        Data type of ``X``. The labels ``y`` are always ``float64``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Returned when ``return_X_y=False``. Dictionary-like object with
        attributes:

        data : scipy.sparse.csr_matrix of shape (n_samples, 123)
            The feature matrix; every stored value equals 1.
        target : ndarray of shape (n_samples,)
            Labels in {-1, +1}, dtype ``float64``.
        feature_names : None
            The LIBSVM files carry no feature names.
        DESCR : str
            Description, provenance and citations of the shipped files.

    (X, y) : tuple
        Returned when ``return_X_y=True``. ``X`` is a
        ``scipy.sparse.csr_matrix`` of shape (32561, 123) for ``"train"`` and
        (16281, 123) for ``"test"``; ``y`` is an ndarray of shape
        (n_samples,) with values in {-1, +1} and dtype ``float64``.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``.

    Notes
    -----
    Labels are -1 (income <= 50K, about 76% of the rows) and +1. Map them to
    {0, 1} if a model needs it. Rows have between 11 and 14 stored values.

    References
    ----------
    .. [1] C.-C. Chang and C.-J. Lin, "LIBSVM: a library for support vector
           machines", ACM Transactions on Intelligent Systems and Technology,
           2(3):27, 2011.
    .. [2] J. C. Platt, "Fast training of support vector machines using
           sequential minimal optimization", in Advances in Kernel Methods:
           Support Vector Learning, MIT Press, 1998.
    .. [3] R. Kohavi, "Scaling up the accuracy of Naive-Bayes classifiers: a
           decision-tree hybrid", Proceedings of the Second International
           Conference on Knowledge Discovery and Data Mining (KDD), 1996.

    Examples
    --------
    >>> from skbnorm.datasets import load_a9a
    >>> X, y = load_a9a()
    >>> X.shape, X.format
    ((32561, 123), 'csr')
    >>> sorted(set(y.tolist()))
    [-1.0, 1.0]
    >>> X_test, y_test = load_a9a("test")
    >>> X_test.shape
    (16281, 123)
    >>> bunch = load_a9a(return_X_y=False)
    >>> bunch.data.shape, bunch.target.shape
    ((32561, 123), (32561,))
    """
    if not isinstance(split, str) or split not in _FILES:
        raise ValueError(f"split must be one of {sorted(_FILES)!r}; got {split!r}.")

    # ``as_file`` yields a real file-system path even when the package is
    # imported from a zip archive; load_svmlight_file needs the ``.gz`` suffix
    # of a path to decompress.
    with resources.as_file(_data_file(_FILES[split])) as path:
        X, y = load_svmlight_file(str(path), n_features=_N_FEATURES, dtype=dtype)

    if not isinstance(X, sp.csr_matrix):  # guard against a sparse-array return
        X = sp.csr_matrix(X)
    y = np.asarray(y, dtype=np.float64)

    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, feature_names=None, DESCR=_read_descr())
