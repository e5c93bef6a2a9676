"""Predictions on dask arrays, chunk by chunk, where the chunks live.

A fitted model is small next to the data (``O(d)`` for a linear one):
predicting is a map over row chunks with no communication between them.
For a dask array ``X`` the prediction methods therefore return a dask
array built by ``map_blocks``, each chunk
predicted by the same NumPy / scipy code as an in-memory array (dense
chunks or scipy CSR chunks), on the workers when a ``distributed`` client
is active. Nothing is computed until the user asks.

dask is optional: it is detected by the array's type, never imported here,
so ``import skbnorm`` works without it.
"""

import copy
import functools

import numpy as np


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array`` (without importing dask)."""
    return (type(X).__module__.split(".")[0] == "dask"
            and hasattr(X, "map_blocks") and hasattr(X, "chunks"))


def map_row_chunks(estimator, method, X):
    """``method`` (a bound prediction method) on each row chunk of ``X``.

    Parameters
    ----------
    estimator : fitted estimator
        Its ``n_features_in_`` is checked before anything is scheduled, so a
        wrong width fails at once, as it does in memory.
    method : callable
        ``method(chunk)`` -> ndarray with one row (or entry) per sample.
    X : dask.array.Array of shape (n_samples, n_features)
        Row-chunked samples, dense or scipy CSR chunks; chunks along the
        columns are merged first.

    Returns
    -------
    dask.array.Array
        Lazy, with ``X``'s row chunks; its dtype and width are those of
        ``method`` on one row of zeros, computed here (``O(d)``).
    """
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-d dask array of samples; got {X.ndim} dimension(s)."
        )
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
            f"expecting {n_features} features as input."
        )
    if X.numblocks[1] != 1:
        # a chunk must hold whole rows: x^T coef needs every column
        X = X.rechunk({1: -1})
    # the result's dtype and width, from the in-memory method itself
    probe = np.asarray(method(np.zeros((1, X.shape[1]), dtype=X.dtype)))
    empty = probe[:0]
    if probe.ndim == 1:
        return X.map_blocks(_predict_chunk, method, empty, drop_axis=1,
                            dtype=probe.dtype, meta=empty)
    return X.map_blocks(_predict_chunk, method, empty,
                        chunks=(X.chunks[0], (probe.shape[1],)),
                        dtype=probe.dtype, meta=empty)


def _predict_chunk(chunk, method, empty):
    # a filtered array or a DataFrame's partitions can hold empty chunks,
    # which scikit-learn's input validation rejects
    if chunk.shape[0] == 0:
        return empty
    return method(chunk)


def predicts_rows(method):
    """Decorate a prediction method ``method(self, X)`` so that a dask array
    ``X`` gives a lazy dask array, chunk by chunk (:func:`map_row_chunks`);
    any other ``X`` goes to ``method`` unchanged."""

    @functools.wraps(method)
    def predict(self, X):
        if is_dask_array(X):
            # the chunks' tasks carry a copy of the fitted estimator (a refit
            # before compute() must not change a graph already built); its
            # bound method pickles by name and takes the in-memory path
            frozen = copy.deepcopy(self)
            return map_row_chunks(frozen, getattr(frozen, method.__name__), X)
        return method(self, X)

    return predict
