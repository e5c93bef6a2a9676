"""A scikit-learn FitCallback for the tests: it predicts with the model of
every task of one name and counts the tasks opened and closed."""


class PredictingRecorder:
    """Records ``fitted_estimator.predict(X)`` at the end of every task
    named ``task_name``; returns True (stop) once ``stop_after`` are seen."""

    def __init__(self, X, task_name, stop_after=None):
        self.X = X
        self.task_name = task_name
        self.stop_after = stop_after
        self.predictions = []
        self.begun = self.ended = 0

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        self.begun += 1

    def on_fit_task_end(self, estimator, context, *, fitted_estimator):
        self.ended += 1
        if context.task_name == self.task_name:
            self.predictions.append(fitted_estimator.predict(self.X))
            return (self.stop_after is not None
                    and len(self.predictions) >= self.stop_after)
        return False

    def teardown(self, estimator, context):
        pass
