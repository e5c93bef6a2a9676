"""Magnitudes that float64 can square: the checks and units the estimators share.

Every model of the package squares its features somewhere: a variance (Batch
Normalization's statistics, the metric ``S``), a curvature, a Lipschitz
constant. Outside a range of magnitudes those squares overflow to ``inf``
or underflow to 0, and a fit then goes wrong without a word: measured
before this check, ``NormalizedLinearRegression()`` on features of 1e-170
returned ``R^2 = 0`` for an exactly linear target (the columns looked
constant), ``NormalizedMLPClassifier()`` predicted one class on features of
1e155 or 1e-162, and the convex network on 1e153. A ``ValueError`` that
says to rescale is the honest answer (the limits are below; the linear
estimators' large side is :data:`skbnorm.solvers._base.MAX_COLUMN_SQ_MEAN`).
"""

import numpy as np
import scipy.sparse as sp

#: below this magnitude a nonzero feature's squares underflow float64
#: (``1e-150 ** 2 = 1e-300``, a hundred times float64's smallest normal
#: number). Measured on standardised breast_cancer columns: the linear
#: estimators fit at 1e-150 as at 1 and failed at 1e-155, the BN MLP at
#: 1e-162; the convex network raised a FloatingPointError at 1e-300
SMALLEST_FEATURE = 1e-150

#: above this magnitude a feature's squares overflow float64 (``1e150 ** 2 =
#: 1e300``), the networks' bound. Measured: the MLPs fit at 1e154 and
#: failed at 1e155, the convex network at 1e152 and 1e153. The linear
#: solvers multiply several squares and stop at about 1e50
#: (:data:`skbnorm.solvers._base.MAX_COLUMN_SQ_MEAN`)
LARGEST_FEATURE = 1e150


#: stored values (or dense entries) read at a time: bounded temporaries
_CHUNK = 1 << 16


def canonical_csr(X):
    """``X``, or for a CSR matrix with duplicate entries (or unsorted
    indices) a canonical copy, never ``X`` itself modified: the margins add
    duplicates up, but the Hessian and the columns' mean squares squared
    them one by one."""
    if sp.issparse(X) and not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def column_max_abs(X, columns=None, n_features=None):
    """``max_i |x_ij|`` of each column of ``X`` (of ``columns`` only, if given).

    Nothing the size of ``X`` is copied: a dense ``X`` is read by two
    reductions (or, for some columns, in chunks of rows), a CSR matrix (scipy's,
    or any object with CSR's ``data`` and ``indices``) in chunks of stored
    values, those of the columns asked for only (``n_features`` gives the
    width of a CSR object without a ``shape``). A CSC matrix is converted to
    CSR once. The row chunks of a dask fit answer for themselves.
    """
    if hasattr(X, "column_max_abs"):
        return X.column_max_abs(columns)
    d = X.shape[1] if n_features is None else int(n_features)
    cols = np.arange(d) if columns is None else np.asarray(columns, dtype=np.intp)
    if sp.issparse(X) and X.format != "csr":
        X = X.tocsr()
    if hasattr(X, "indices"):
        want = None
        if columns is not None:
            want = np.zeros(d, dtype=bool)
            want[cols] = True
        top = np.zeros(d)
        data, indices = X.data, X.indices
        # the stored values end at indptr[-1] (the arrays may be longer)
        for lo in range(0, int(X.indptr[-1]), _CHUNK):
            hi = min(lo + _CHUNK, int(X.indptr[-1]))
            idx = indices[lo:hi]
            vals = np.abs(data[lo:hi])
            if want is not None:
                keep = want[idx]
                idx, vals = idx[keep], vals[keep]
            np.maximum.at(top, idx, vals)
        return top[cols]
    n = X.shape[0]
    if n == 0 or cols.size == 0:
        return np.zeros(cols.size)
    if columns is None:
        return np.maximum(X.max(axis=0), -X.min(axis=0)).astype(np.float64)
    top = np.zeros(cols.size)
    step = max(1, _CHUNK // cols.size)
    for lo in range(0, n, step):
        B = X[lo:lo + step, cols]
        top = np.maximum(top, np.maximum(B.max(axis=0), -B.min(axis=0)))
    return top


def check_feature_range(X, columns=None, smallest=SMALLEST_FEATURE,
                        largest=LARGEST_FEATURE, n_features=None):
    """ValueError unless every nonzero column of ``X`` (of ``columns``) has
    its largest magnitude in ``[smallest, largest]``; ``None`` skips a side.

    For float32 ``X`` the small side is at least ten times float32's
    smallest normal number (the MLPs train in ``X``'s dtype: subnormal
    float32 features of 1e-40 fitted one class).
    """
    top = column_max_abs(X, columns, n_features)
    index = np.arange(top.size) if columns is None else np.asarray(columns)
    dtype = X.data.dtype if hasattr(X, "indices") else X.dtype
    if smallest is not None:
        smallest = max(smallest, 10.0 * float(np.finfo(dtype).tiny))
        tiny = (top > 0.0) & (top < smallest)
        if np.any(tiny):
            k = int(np.argmax(tiny))
            raise ValueError(
                f"X's column {int(index[k])} has values of magnitude at most "
                f"{top[k]:.1e}: features below about {smallest:.0e} underflow "
                f"{np.dtype(dtype).name} when squared, and the fit would take "
                "them for constant columns. Multiply X by a power of ten first "
                "(scikit-learn's scalers take such columns for constant too)."
            )
    if largest is not None and top.size and not top.max() <= largest:
        k = int(np.argmax(top))
        raise ValueError(
            f"X's column {int(index[k])} has values of magnitude about "
            f"{top[k]:.1e}: features beyond about {largest:.0e} overflow "
            "float64 when squared. Rescale the features (for example with "
            "MaxAbsScaler: StandardScaler's variances overflow too)."
        )


def weighted_rms(Z, weights):
    """``sqrt(sum_i w_i z_i^2)`` per column of ``Z`` (weights summing to one),
    without the under- or overflow of squaring ``Z`` itself: each column is
    divided first by its largest magnitude over the rows of positive weight."""
    if hasattr(Z, "weighted_rms"):  # a dask fit's targets, in row chunks
        return Z.weighted_rms(weights)
    Z = np.asarray(Z, dtype=np.float64)
    pos = weights > 0
    top = np.max(np.abs(Z[pos]), axis=0, initial=0.0)
    safe = np.where(top > 0.0, top, 1.0)
    scaled = Z[pos] / safe
    return top * np.sqrt(np.maximum(weights[pos] @ (scaled * scaled), 0.0))


def power_of_two_unit(value):
    """The power of two nearest ``value`` (1 where it is 0 or not finite).

    Dividing by a power of two is exact in float64, so a fit on targets
    divided by it loses no digit; the solvers are not equivariant to the
    targets' scale (their random starts and inner tolerances are set for
    unit-size targets), which is why targets are brought to that size.
    Targets whose spread is already between 0.71 and 1.41 have unit 1.
    """
    value = np.asarray(value, dtype=np.float64)
    ok = np.isfinite(value) & (value > 0.0)
    exponent = np.round(np.log2(np.where(ok, value, 1.0)))
    return np.where(ok, np.exp2(exponent), 1.0)


def check_target_range(y, largest=LARGEST_FEATURE):
    """ValueError if a least-squares target is beyond ``largest`` in
    magnitude: its square, the objective, would overflow float64."""
    top = (y.max_abs() if hasattr(y, "max_abs")
           else float(np.max(np.abs(y), initial=0.0)))
    if not top <= largest:
        raise ValueError(
            f"y has values of magnitude about {top:.1e}: the squared error "
            f"of targets beyond about {largest:.0e} overflows float64. "
            "Rescale y (for example with "
            "sklearn.compose.TransformedTargetRegressor)."
        )
