"""scikit-learn common tests, docstring validation and doctests for skbnorm.

In the style of scikit-learn-contrib/project-template's ``test_common.py``:
every estimator, with every solver (and, for ``HalfspaceClassifier``, every
loss), is run through :func:`~sklearn.utils.estimator_checks.parametrize_with_checks`
with no expected failures.

The docstring test validates the public classes and their public methods with
``numpydoc.validate`` (the same filter as scikit-learn's own
``sklearn/tests/test_docstrings.py``); it is skipped when numpydoc is not
installed. The doctest test runs the examples in the docstrings of every
module of the ``skbnorm`` package (the equivalent of
``pytest --doctest-modules skbnorm``, which is not run by default because
``testpaths = ["tests"]``).
"""

import doctest
import importlib
import inspect
import pkgutil

import pytest
from sklearn.utils.estimator_checks import (
    _get_check_estimator_ids,
    parametrize_with_checks,
)

import skbnorm
from skbnorm import (
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
    NormalizedMLPClassifier,
    NormalizedMLPRegressor,
)

SOLVERS = ("gdnp", "gd", "agd", "bn", "wn")
LOSSES = ("sigmoid", "softplus")

ESTIMATORS = (
    [NormalizedLinearRegression(solver=solver) for solver in SOLVERS]
    + [
        HalfspaceClassifier(loss=loss, solver=solver)
        for loss in LOSSES
        for solver in SOLVERS
    ]
    + [NormalizedLogisticRegression(solver=solver) for solver in SOLVERS]
    # gdnp's other steps: Kohler et al.'s, and the subspace step along
    # grad_w f (convex losses)
    + [
        Est(solver="gdnp", direction_step="paper")
        for Est in (NormalizedLinearRegression, NormalizedLogisticRegression)
    ]
    + [HalfspaceClassifier(loss=loss, direction_step="paper") for loss in LOSSES]
    + [
        NormalizedLinearRegression(metric="identity"),
        NormalizedLogisticRegression(metric="identity"),
    ]
)

PUBLIC_CLASSES = [
    HalfspaceClassifier,
    NormalizedLinearRegression,
    NormalizedLogisticRegression,
    NormalizedMLPClassifier,
    NormalizedMLPRegressor,
]


def _check_id(obj):
    """Test id showing the estimator, its loss (if any) and its solver.

    scikit-learn's default id is the repr with ``print_changed_only=True``,
    which hides the default solver ``"gdnp"`` and the default loss; spell
    them out so that every parametrisation is visible and ``-k`` selectable.
    """
    if hasattr(obj, "get_params"):
        params = obj.get_params()
        shown = [f"{k}={params[k]}" for k in ("loss", "solver") if k in params]
        if params.get("direction_step", "subspace") != "subspace":
            shown.append(f"direction_step={params['direction_step']}")
        if params.get("metric", "auto") != "auto":
            shown.append(f"metric={params['metric']}")
        return f"{type(obj).__name__}({','.join(shown)})"
    return _get_check_estimator_ids(obj)


def _with_ids(mark, ids):
    """The parametrize mark of ``parametrize_with_checks`` with other ids."""
    return pytest.mark.parametrize(*mark.args, **{**mark.kwargs, "ids": ids})


def test_estimator_grid():
    """Every estimator x loss x solver is covered once (and gdnp's other steps)."""
    ids = [_check_id(est) for est in ESTIMATORS]
    assert len(ids) == len(set(ids)) == 5 + 2 * 5 + 5 + 4 + 2


@_with_ids(parametrize_with_checks(ESTIMATORS), _check_id)
def test_estimators(estimator, check, request):
    """Check the compatibility with the scikit-learn API."""
    check(estimator)


# -- numpydoc validation of the public API -----------------------------------


def _public_methods(klass):
    methods = []
    for name in dir(klass):
        if name.startswith("_"):
            continue
        obj = getattr(klass, name)
        if callable(obj) or isinstance(obj, property):
            methods.append(name)
    return [None] + sorted(methods)


DOCSTRING_TARGETS = [
    (klass, method) for klass in PUBLIC_CLASSES for method in _public_methods(klass)
]


def _filter_errors(errors, klass, method):
    """scikit-learn's rules (sklearn/tests/test_docstrings.py::filter_errors)."""
    for code, message in errors:
        # RT02: first line of Returns holds the type only (names are used);
        # GL01/GL02: blank-line placement around the summary.
        if code in ("RT02", "GL01", "GL02"):
            continue
        if code in ("PR02", "GL08") and method is not None:
            if isinstance(getattr(klass, method), property):
                continue
        # Extended summary, See Also and Examples: required on classes only.
        if method is not None and code in ("EX01", "SA01", "ES01"):
            continue
        yield code, message


@pytest.mark.parametrize(
    "klass, method",
    DOCSTRING_TARGETS,
    ids=[f"{k.__name__}.{m or '__init__'}" for k, m in DOCSTRING_TARGETS],
)
def test_docstring(klass, method):
    """Validate the numpydoc docstrings of the public classes and methods."""
    numpydoc_validation = pytest.importorskip("numpydoc.validate")
    import_path = ".".join(
        [klass.__module__, klass.__name__] + ([method] if method else [])
    )
    res = numpydoc_validation.validate(import_path)
    errors = list(_filter_errors(res["errors"], klass, method))
    if errors:
        obj = getattr(klass, method or "__init__")
        try:
            sig = str(inspect.signature(obj))
        except (TypeError, ValueError):
            sig = ""
        msg = "\n".join(
            [
                f"{klass.__name__}.{method or '__init__'}{sig} ({res['file']})",
                *(f" - {code}: {message}" for code, message in errors),
            ]
        )
        raise AssertionError(msg)


# -- doctests -----------------------------------------------------------------


def _package_modules():
    names = [skbnorm.__name__]
    for info in pkgutil.walk_packages(skbnorm.__path__, prefix="skbnorm."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", _package_modules())
def test_doctests(module_name):
    """Run the docstring examples of every ``skbnorm`` module."""
    module = importlib.import_module(module_name)
    result = doctest.testmod(
        module,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        report=True,
        verbose=False,
    )
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} doctest examples failed in "
        f"{module_name} (see the captured output above)"
    )
