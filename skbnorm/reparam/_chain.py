"""The chain rule of the BN/WN reparametrisations, as jitted kernels."""

import math

from .._numba import jit


@jit
def _chain(G, w, g, Mw, norm_sq, grad_w):
    """Shared BN/WN chain rule; returns ``df/dg`` and fills ``grad_w``."""
    norm = math.sqrt(norm_sq)
    wG = 0.0
    for j in range(w.shape[0]):
        wG += w[j] * G[j]
    c = wG / norm_sq
    a = g / norm
    for j in range(w.shape[0]):
        grad_w[j] = a * (G[j] - c * Mw[j])
    return wG / norm


@jit
def bn_chain(G, w, g, Sw, norm_s_sq, grad_w):
    """BN: ``grad_w <- (g/||w||_S)(G - (w^T G/||w||_S^2) S w)``; return df/dg."""
    return _chain(G, w, g, Sw, norm_s_sq, grad_w)


@jit
def wn_chain(G, w, g, grad_w):
    """WN: ``grad_w <- (g/||w||)(G - (w^T G/||w||^2) w)``; return df/dg."""
    sq = 0.0
    for j in range(w.shape[0]):
        sq += w[j] * w[j]
    return _chain(G, w, g, w, sq, grad_w)


@jit
def direction_norm(w):
    """Euclidean norm of the direction ``w``."""
    sq = 0.0
    for j in range(w.shape[0]):
        sq += w[j] * w[j]
    return math.sqrt(sq)
