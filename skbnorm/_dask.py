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
import operator
import warnings

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import column_or_1d


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


# -- fits on dask arrays ------------------------------------------------------

def _client():
    """The active ``distributed`` client, or None (no client, or no
    ``distributed``: the chunks are then computed in this process)."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _row_parts(v, name, X):
    """``v`` (a dask array, an array-like or None) as one delayed part per
    row chunk of ``X``, or a list of ``None``."""
    n_chunks = X.numblocks[0]
    if v is None:
        return [None] * n_chunks
    if name == "sample_weight" and np.ndim(v) == 0 and not is_dask_array(v):
        return [v] * n_chunks  # a scalar weight, as in memory
    if is_dask_array(v):
        if name == "y" and v.ndim == 2 and v.shape[1] == 1:
            # scikit-learn's column_or_1d, with its warning
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. "
                "Please change the shape of y to (n_samples, ), for example "
                "using ravel().", DataConversionWarning, stacklevel=5)
            v = v[:, 0]
        if v.ndim != 1:
            if name == "sample_weight":
                raise ValueError("Sample weights must be 1D array or scalar")
            raise ValueError(
                f"{name} should be a 1d array, got a dask array of shape "
                f"{v.shape} instead."
            )
        known = not (np.isnan(v.shape[0]) or any(np.isnan(c) for c in X.chunks[0]))
        if known:
            if v.shape[0] != X.shape[0]:
                raise ValueError(
                    f"Found input variables with inconsistent numbers of "
                    f"samples: [{X.shape[0]}, {v.shape[0]}] (X and {name})."
                )
            if v.chunks[0] != X.chunks[0]:
                v = v.rechunk((X.chunks[0],))
        elif v.numblocks[0] != n_chunks:
            # unknown chunk sizes (a DataFrame's partitions): the chunks are
            # matched one to one, and their lengths checked on the workers
            raise ValueError(
                f"{name} has {v.numblocks[0]} row chunks and X {n_chunks}, and "
                "their sizes are unknown: give both the same partitions, or "
                "call compute_chunk_sizes() on them."
            )
        return list(v.to_delayed().ravel())
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"X's row chunks have unknown sizes, so the in-memory {name} "
            "cannot be split to match them: call X.compute_chunk_sizes() "
            f"first, or give {name} as a dask array with X's partitions."
        )
    if name == "y":
        v = column_or_1d(v, warn=True)
    v = np.asarray(v)
    if name == "sample_weight" and v.ndim != 1:
        raise ValueError("Sample weights must be 1D array or scalar")
    if v.shape[0] != X.shape[0]:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{X.shape[0]}, {v.shape[0] if v.ndim else 1}] (X and {name})."
        )
    bounds = np.cumsum((0,) + X.chunks[0])
    return [v[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _validate_chunk(X, y, sw, dtype, y_numeric, name):
    """One row chunk checked as ``fit`` checks an in-memory ``X``, ``y``,
    ``sample_weight``; returns them with the chunk's statistics."""
    import scipy.sparse as sp
    from sklearn.utils import check_array
    from sklearn.utils.validation import _check_sample_weight, _check_y

    from ._validation import canonical_csr

    # as an in-memory fit: no copy unless the dtype or the layout asks for
    # one (the chunk may be the user's own persisted array, never modified)
    X = check_array(X, accept_sparse="csr", dtype=dtype, order="C",
                    ensure_min_samples=0, estimator=name)
    X = canonical_csr(X)
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    y = _check_y(y, y_numeric=y_numeric, estimator=name)
    if y_numeric:
        y = np.ascontiguousarray(y, dtype=np.float64)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples in a "
            f"row chunk: [{X.shape[0]}, {y.shape[0]}] (X and y)."
        )
    # a chunk may hold zero weights only: the sum is checked over all chunks
    sw = _check_sample_weight(sw, X, dtype=np.float64, ensure_non_negative=True,
                              allow_all_zero_weights=True)
    nnz = int(X.indptr[-1]) if sp.issparse(X) else X.size
    stats = (X.shape[0], nnz, float(sw.sum()), sp.issparse(X))
    return X, y, sw, stats


def _actor_executor(client, parts):
    """An :class:`~skbnorm.objectives._chunked.ActorExecutor` whose stores
    are made on the workers holding the validated chunks ``parts``."""
    from distributed import wait

    from .objectives._chunked import ActorExecutor, ChunkStore

    wait(parts)
    who = client.who_has(parts)
    workers = []
    owner = []
    for p in parts:
        holders = who.get(p.key) or [None]
        if holders[0] not in workers:
            workers.append(holders[0])
        owner.append(workers.index(holders[0]))
    futures = []
    proxies = []
    try:
        for a, w in enumerate(workers):
            mine = {i: parts[i] for i, o in enumerate(owner) if o == a}
            # on the worker that holds the chunks, or another if it has left
            futures.append(client.submit(
                ChunkStore, mine, actor=True, pure=False,
                workers=None if w is None else [w], allow_other_workers=True))
        for f in futures:
            proxies.append(f.result())
    except BaseException:
        _release(futures, proxies)
        raise
    # the actors' futures are kept: releasing one ends its actor
    executor = ActorExecutor(proxies, owner)
    executor.futures = futures
    return executor


def _release(futures, proxies):
    from .objectives._chunked import release_actors

    release_actors(futures, proxies)


def _chunk_xbar(X, s):
    return np.asarray(X.T @ s, dtype=np.float64).ravel()


def chunked_fit_input(estimator, X, y, sample_weight, y_numeric=False):
    """The dask inputs of ``fit`` validated and kept in row chunks.

    Every chunk is checked on the worker that computes it; the driver
    receives its statistics only. Returns ``(chunks, y, s, xbar, total)`` as
    :meth:`NormalizedLinearModel._validate_fit_input` does, with ``chunks`` a
    :class:`~skbnorm.objectives._chunked.Chunks` and ``y``, ``s`` (the
    normalised weights) :class:`~skbnorm.objectives._chunked.Rows`.
    """
    import dask
    from sklearn.utils.validation import validate_data

    from .objectives._chunked import (
        SW_KEY,
        X_CHUNK,
        X_KEY,
        Y_KEY,
        Chunks,
        LocalExecutor,
        Slot,
        _ordered_sum,
    )
    name = type(estimator).__name__
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-d dask array of samples; got {X.ndim} dimension(s)."
        )
    validate_data(estimator, X, skip_check_array=True)  # n_features_in_
    source_X = X
    if X.numblocks[1] != 1:
        # a chunk must hold whole rows
        X = X.rechunk({1: -1})
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    ys = _row_parts(y, "y", X)
    sws = _row_parts(sample_weight, "sample_weight", X)
    checked = [dask.delayed(_validate_chunk, pure=True)(xb, yb, sb, dtype,
                                                        y_numeric, name)
               for xb, yb, sb in zip(X.to_delayed()[:, 0], ys, sws,
                                     strict=True)]
    client = _client()
    if client is None:
        parts = list(dask.compute(*checked))
        stats = [p[3] for p in parts]
    else:
        parts = client.compute(checked)
        stats = client.gather([client.submit(operator.itemgetter(3), p)
                               for p in parts])
    keep = [i for i, st in enumerate(stats) if st[0] > 0]
    if not keep:
        raise ValueError(
            f"Found array with 0 sample(s) (shape=(0, {X.shape[1]})) while a "
            f"minimum of 1 is required by {name}."
        )
    parts = [parts[i] for i in keep]
    stats = [stats[i] for i in keep]
    if len({st[3] for st in stats}) > 1:
        raise ValueError(
            "X mixes dense and sparse row chunks; give one kind (for example "
            "X.map_blocks(scipy.sparse.csr_matrix))."
        )
    if client is None:
        executor = LocalExecutor()
        x_parts, y_parts, sw_parts = ([p[k] for p in parts] for k in range(3))
    else:
        executor = _actor_executor(client, parts)
        x_parts, y_parts, sw_parts = ([Slot(k, i) for i in range(len(parts))]
                                      for k in (X_KEY, Y_KEY, SW_KEY))
    del parts  # the chunks are the stores' now
    chunks = Chunks(executor, x_parts, [st[0] for st in stats],
                    [st[1] for st in stats], X.shape[1], stats[0][3], dtype)
    chunks.source = source_X  # what callbacks are shown
    try:
        total = _ordered_sum(st[2] for st in stats)
        if total == 0:  # scikit-learn's message, as in memory
            raise ValueError(
                "Sample weights must contain at least one non-zero number.")
        if not total > 0:
            raise ValueError(
                f"sample_weight must have a positive sum; got sum {total!r}."
            )
        y_rows = chunks.rows(y_parts)
        y_rows.source = y
        y = y_rows
        s = chunks.rows(sw_parts) / total
        if estimator.fit_intercept:
            xbar = _ordered_sum(chunks.reduce(_chunk_xbar, X_CHUNK, s))
        else:
            xbar = np.zeros(X.shape[1])
    except BaseException:
        chunks.close()  # the fit's own block closes them from here on
        raise
    return chunks, y, s, xbar, total


def _chunk_classes(y):
    from sklearn.utils.multiclass import check_classification_targets

    check_classification_targets(y)
    return np.unique(y)


def _chunk_encode(y, classes):
    return np.searchsorted(classes, y)


def _chunk_class_weights(yi, s, n_classes):
    return np.bincount(yi, weights=s, minlength=n_classes)


def chunked_labels(y, s):
    """``(classes, yi, present)`` of labels in row chunks: the sorted
    classes, each row's class index (in chunks), whether a class has weight."""
    from .objectives._chunked import _ordered_sum

    chunks = y.chunks
    classes = np.unique(np.concatenate(chunks.reduce(_chunk_classes, y)))
    yi = y.map(_chunk_encode, classes)
    present = _ordered_sum(chunks.reduce(_chunk_class_weights, yi, s,
                                         classes.size)) > 0
    return classes, yi, present


def _chunk_all_positive(m, s):
    return bool(np.all(m[s > 0] > 0))


def chunked_separable(design, yk, s, coef, intercept):
    """Whether every row of positive weight has a positive margin
    ``yk (x^T coef + intercept)`` (the rows in chunks)."""
    t = design.matvec(coef, design.empty_rows())
    m = yk * (t + (float(design.xbar @ coef) + intercept))
    return all(design.chunks.reduce(_chunk_all_positive, m, s))
