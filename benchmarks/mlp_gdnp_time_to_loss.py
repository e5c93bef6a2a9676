"""The gdnp MLP (Kohler et al.'s Algorithm 2) against adam: time to a loss.

scikit-learn's ``MLPClassifier`` (adam, its defaults but
``hidden_layer_sizes=(50,)``, ``activation="tanh"`` and ``max_iter=50``)
is fitted on the shipped a9a training set; its mean training log-loss is
the target. ``NormalizedMLPClassifier(solver="gdnp")`` with the same
network then runs in chunks of iterations (``warm_start``: every chunk
continues the last), timed, until its mean training log-loss is at most
the target or the budget is spent. Prints both times and their ratio (a
lower bound when the budget ran out). The losses are measured on the same
footing: ``sklearn.metrics.log_loss`` of each model's ``predict_proba`` on
the training set, no penalty.

Run: ``python benchmarks/mlp_gdnp_time_to_loss.py [budget seconds, default
300]``.
"""

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from skbnorm import NormalizedMLPClassifier  # noqa: E402
from skbnorm.datasets import load_a9a  # noqa: E402

CHUNK = 5


def main(budget):
    X, y = load_a9a("train")
    common = dict(hidden_layer_sizes=(50,), activation="tanh", random_state=0)
    NormalizedMLPClassifier(solver="gdnp", max_iter=1, **common).fit(
        X[:500], y[:500])  # compile the kernels outside the timings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        adam = MLPClassifier(max_iter=50, **common).fit(X, y)
        t_adam = time.perf_counter() - t0
    target = log_loss(y, adam.predict_proba(X))
    print(f"adam: {t_adam:.2f} s, {adam.n_iter_} epochs, training log-loss "
          f"{target:.5f}", flush=True)
    gdnp = NormalizedMLPClassifier(solver="gdnp", max_iter=CHUNK,
                                   warm_start=True, **common)
    spent, loss = 0.0, float("inf")
    while spent < budget:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            gdnp.fit(X, y)
            spent += time.perf_counter() - t0
        loss = log_loss(y, gdnp.predict_proba(X))
        print(f"  gdnp: {gdnp.n_iter_} iterations, {spent:.1f} s, training "
              f"log-loss {loss:.5f}", flush=True)
        if loss <= target:
            break
    reached = loss <= target
    print(f"gdnp {'reached' if reached else 'did not reach'} adam's training "
          f"log-loss in {spent:.1f} s ({gdnp.n_iter_} iterations): "
          f"{'' if reached else 'more than '}{spent / t_adam:.1f}x adam's time")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 300.0)
