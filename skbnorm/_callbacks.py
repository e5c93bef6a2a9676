"""scikit-learn's callback API, as every estimator of the package opens and
closes its fit's task."""

from sklearn.callback import CallbackSupportMixin


class FitCallbacks(CallbackSupportMixin):
    """``set_callbacks``, and the fit-level task of the callback tree.

    A fit calls :meth:`_init_callbacks` first (None without callbacks: the
    fit then builds no context at all) and :meth:`_end_callbacks` last;
    its iterations (epochs, ADMM checks, one-vs-rest problems) are
    subcontexts of the returned context.
    """

    def _init_callbacks(self, X, y, n_tasks, sample_weight=None):
        if not getattr(self, "_skl_callbacks", None):
            return None
        ctx = self._init_callback_context(max_subtasks=n_tasks)
        # a dask fit's row chunks show the callbacks the user's arrays
        X, y = getattr(X, "source", X), getattr(y, "source", y)
        ctx.call_on_fit_task_begin(estimator=self, X=X, y=y,
                                   metadata={"sample_weight": sample_weight})
        return ctx

    def _end_callbacks(self, ctx, X, y, attributes):
        """Close the fit's task with the fitted ``attributes`` (a dict)."""
        if ctx is not None:
            X, y = getattr(X, "source", X), getattr(y, "source", y)
            ctx.call_on_fit_task_end(estimator=self, X=X, y=y,
                                     reconstruction_attributes=attributes)
