import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils import Bunch

import skbnorm.datasets
from skbnorm.datasets import (
    load_a9a,
    make_gaussian_halfspace,
    make_ols_problem,
)

# Figures from skbnorm/datasets/data/README.md.
A9A_EXPECTED = {
    "train": {
        "file": "a9a.gz",
        "shape": (32561, 123),
        "nnz": 451592,
        "counts": {-1.0: 24720, 1.0: 7841},
        "sha256": "f5d5ffd8d865ff41328e7ee043e4b020816914ff6843ff15b98905ddbedce906",
        "n_bytes": 2329875,
    },
    "test": {
        "file": "a9a.t.gz",
        "shape": (16281, 123),
        "nnz": 225731,
        "counts": {-1.0: 12435, 1.0: 3846},
        "sha256": "1f448a153f0320399a7e40836eb207655b0bde0f21fc941cc472193daa9f5de9",
        "n_bytes": 1164628,
    },
}


def test_public_api():
    assert sorted(skbnorm.datasets.__all__) == [
        "load_a9a",
        "make_gaussian_halfspace",
        "make_ols_problem",
    ]


# --------------------------------------------------------------------------- a9a


@pytest.fixture(scope="module")
def a9a():
    return {split: load_a9a(split) for split in ("train", "test")}


@pytest.mark.parametrize("split", ["train", "test"])
def test_a9a_shipped_file_checksum(split):
    expected = A9A_EXPECTED[split]
    ref = resources.files("skbnorm.datasets").joinpath("data", expected["file"])
    content = gzip.decompress(ref.read_bytes())
    assert len(content) == expected["n_bytes"]
    assert hashlib.sha256(content).hexdigest() == expected["sha256"]


@pytest.mark.parametrize("split", ["train", "test"])
def test_a9a_shape_nnz_and_values(a9a, split):
    X, y = a9a[split]
    expected = A9A_EXPECTED[split]
    assert isinstance(X, sp.csr_matrix)
    assert X.format == "csr"
    assert X.shape == expected["shape"]
    assert X.dtype == np.float64
    assert X.nnz == expected["nnz"]
    np.testing.assert_array_equal(X.data, 1.0)
    assert y.shape == (expected["shape"][0],)
    assert y.dtype == np.float64


@pytest.mark.parametrize("split", ["train", "test"])
def test_a9a_label_counts(a9a, split):
    _, y = a9a[split]
    labels, counts = np.unique(y, return_counts=True)
    found = dict(zip(labels.tolist(), counts.tolist(), strict=True))
    assert found == A9A_EXPECTED[split]["counts"]


def test_a9a_feature_123_only_used_in_train(a9a):
    # README caveat: a9a.t never uses feature 123, a9a uses it in one row.
    X_train, _ = a9a["train"]
    X_test, _ = a9a["test"]
    assert X_train[:, 122].nnz == 1
    assert X_train[19609, 122] == 1.0  # row 19610 in 1-based numbering
    assert X_test[:, 122].nnz == 0


def test_a9a_dtype_option():
    X, y = load_a9a("test", dtype=np.float32)
    assert X.dtype == np.float32
    assert y.dtype == np.float64
    assert X.shape == A9A_EXPECTED["test"]["shape"]
    np.testing.assert_array_equal(X.data, np.float32(1.0))


def test_a9a_bunch():
    bunch = load_a9a("test", return_X_y=False)
    assert isinstance(bunch, Bunch)
    assert set(bunch) == {"data", "target", "feature_names", "DESCR"}
    assert isinstance(bunch.data, sp.csr_matrix)
    assert bunch.data.shape == A9A_EXPECTED["test"]["shape"]
    assert bunch.target.shape == (A9A_EXPECTED["test"]["shape"][0],)
    assert bunch.feature_names is None
    assert isinstance(bunch.DESCR, str)
    for needle in ("a9a", "Chang", "Platt", "Kohavi", "load_a9a"):
        assert needle in bunch.DESCR


def test_a9a_returns_fresh_arrays():
    X1, y1 = load_a9a("test")
    X1.data[:] = 5.0
    y1[:] = 0.0
    X2, y2 = load_a9a("test")
    np.testing.assert_array_equal(X2.data, 1.0)
    assert set(np.unique(y2).tolist()) == {-1.0, 1.0}


@pytest.mark.parametrize("split", ["validation", "TRAIN", "", None, 0])
def test_a9a_bad_split(split):
    with pytest.raises(ValueError, match="split must be one of.*'test'.*'train'"):
        load_a9a(split)


# ------------------------------------------------------------------ generators


def _class_stats(X, y):
    """Recover mu and the pooled within-class covariance from labelled data."""
    pos, neg = X[y == 1], X[y == -1]
    m_pos, m_neg = pos.mean(axis=0), neg.mean(axis=0)
    mu = (m_pos - m_neg) / 2
    resid = np.vstack([pos - m_pos, neg - m_neg])
    cov = resid.T @ resid / (len(resid) - 2)
    return mu, cov


def _cond(cov):
    eigvals = np.linalg.eigvalsh(cov)
    return eigvals[-1] / eigvals[0]


def test_gaussian_halfspace_shapes_and_labels():
    X, y = make_gaussian_halfspace(n_samples=123, n_features=7, random_state=0)
    assert X.shape == (123, 7)
    assert y.shape == (123,)
    assert X.dtype == np.float64
    assert y.dtype == np.float64
    assert set(np.unique(y).tolist()) <= {-1.0, 1.0}


def test_gaussian_halfspace_defaults():
    X, y = make_gaussian_halfspace(random_state=0)
    assert X.shape == (1000, 10)
    assert y.shape == (1000,)


def test_gaussian_halfspace_reproducible():
    X1, y1 = make_gaussian_halfspace(200, 5, random_state=42)
    X2, y2 = make_gaussian_halfspace(200, 5, random_state=42)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make_gaussian_halfspace(200, 5, random_state=43)
    assert not np.allclose(X1, X3)
    rng = np.random.RandomState(7)
    X4, y4 = make_gaussian_halfspace(200, 5, random_state=rng)
    X5, y5 = make_gaussian_halfspace(200, 5, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(X4, X5)
    np.testing.assert_array_equal(y4, y5)


@pytest.mark.parametrize("condition_number", [1.0, 10.0, 100.0])
def test_gaussian_halfspace_condition_number(condition_number):
    X, y = make_gaussian_halfspace(
        n_samples=20000,
        n_features=8,
        condition_number=condition_number,
        random_state=0,
    )
    _, cov = _class_stats(X, y)
    eigvals = np.linalg.eigvalsh(cov)
    assert _cond(cov) == pytest.approx(condition_number, rel=0.1)
    assert eigvals[-1] == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("class_balance", [0.5, 0.2])
def test_gaussian_halfspace_z_is_gaussian_with_mean_minus_mu(class_balance):
    separation = 2.0
    X, y = make_gaussian_halfspace(
        n_samples=20000,
        n_features=6,
        condition_number=20.0,
        separation=separation,
        class_balance=class_balance,
        random_state=1,
    )
    assert np.mean(y == 1) == pytest.approx(class_balance, abs=0.02)
    mu, cov = _class_stats(X, y)
    assert np.linalg.norm(mu) == pytest.approx(separation, rel=0.02)

    z = -y[:, np.newaxis] * X
    np.testing.assert_allclose(z.mean(axis=0), -mu, atol=0.03)
    # z ~ N(-mu, Sigma) whatever the class balance: its covariance is the
    # within-class covariance, with no between-class component along mu.
    cov_z = np.cov(z, rowvar=False)
    np.testing.assert_allclose(cov_z, cov, atol=0.03)
    assert _cond(cov_z) == pytest.approx(20.0, rel=0.1)


def test_gaussian_halfspace_zero_separation():
    X, y = make_gaussian_halfspace(
        n_samples=20000, n_features=4, separation=0.0, random_state=3
    )
    mu, _ = _class_stats(X, y)
    np.testing.assert_allclose(mu, 0.0, atol=0.03)


def test_gaussian_halfspace_single_feature():
    X, y = make_gaussian_halfspace(n_samples=50, n_features=1, random_state=0)
    assert X.shape == (50, 1)
    assert y.shape == (50,)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": -5}, "n_samples"),
        ({"n_samples": 10.0}, "n_samples"),
        ({"n_samples": True}, "n_samples"),
        ({"n_features": 0}, "n_features"),
        ({"n_features": "3"}, "n_features"),
        ({"condition_number": 0.5}, "condition_number"),
        ({"condition_number": np.inf}, "condition_number"),
        ({"condition_number": np.nan}, "condition_number"),
        ({"condition_number": "10"}, "condition_number"),
        ({"separation": -0.1}, "separation"),
        ({"separation": np.inf}, "separation"),
        ({"class_balance": 0.0}, "class_balance"),
        ({"class_balance": 1.0}, "class_balance"),
        ({"class_balance": 1.5}, "class_balance"),
        ({"class_balance": None}, "class_balance"),
    ],
)
def test_gaussian_halfspace_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_gaussian_halfspace(**kwargs)


def test_gaussian_halfspace_accepts_numpy_scalars():
    X, y = make_gaussian_halfspace(
        n_samples=np.int64(20),
        n_features=np.int32(3),
        condition_number=np.float32(5.0),
        class_balance=np.float64(0.3),
        random_state=0,
    )
    assert X.shape == (20, 3)


def test_ols_shapes_and_return_coef():
    X, y = make_ols_problem(n_samples=123, n_features=7, random_state=0)
    assert X.shape == (123, 7)
    assert y.shape == (123,)
    assert X.dtype == np.float64
    assert y.dtype == np.float64

    X2, y2, coef = make_ols_problem(
        n_samples=123, n_features=7, return_coef=True, random_state=0
    )
    assert coef.shape == (7,)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_ols_defaults():
    X, y = make_ols_problem(random_state=0)
    assert X.shape == (1000, 10)
    assert y.shape == (1000,)


def test_ols_reproducible():
    out1 = make_ols_problem(300, 4, return_coef=True, random_state=5)
    out2 = make_ols_problem(300, 4, return_coef=True, random_state=5)
    for a, b in zip(out1, out2, strict=True):
        np.testing.assert_array_equal(a, b)
    out3 = make_ols_problem(300, 4, return_coef=True, random_state=6)
    assert not np.allclose(out1[0], out3[0])


@pytest.mark.parametrize("condition_number", [1.0, 10.0, 1000.0])
def test_ols_condition_number_and_mean(condition_number):
    X, _ = make_ols_problem(
        n_samples=20000,
        n_features=8,
        condition_number=condition_number,
        random_state=0,
    )
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=0.03)
    cov = X.T @ X / X.shape[0]
    assert _cond(cov) == pytest.approx(condition_number, rel=0.1)
    assert np.linalg.eigvalsh(cov)[-1] == pytest.approx(1.0, rel=0.1)


def test_ols_noise_level_and_coef_recovery():
    noise = 0.5
    X, y, coef = make_ols_problem(
        n_samples=20000,
        n_features=5,
        condition_number=10.0,
        noise=noise,
        return_coef=True,
        random_state=2,
    )
    resid = y - X @ coef
    assert resid.std() == pytest.approx(noise, rel=0.05)
    coef_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(coef_hat, coef, atol=0.05)


def test_ols_noiseless_is_exact():
    X, y, coef = make_ols_problem(
        n_samples=50, n_features=3, noise=0.0, return_coef=True, random_state=0
    )
    np.testing.assert_allclose(X @ coef, y)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"n_features": -1}, "n_features"),
        ({"n_features": None}, "n_features"),
        ({"condition_number": 0.99}, "condition_number"),
        ({"condition_number": np.inf}, "condition_number"),
        ({"noise": -1.0}, "noise"),
        ({"noise": np.nan}, "noise"),
        ({"noise": "0.1"}, "noise"),
    ],
)
def test_ols_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_ols_problem(**kwargs)
