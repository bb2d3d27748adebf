"""Persistence: pickle and joblib in a fresh process, skops secure files, ONNX export."""

import json
import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier


def make_data(n_classes, labels=None):
    X, y = make_classification(
        n_samples=600, n_features=12, n_informative=6, n_classes=n_classes, random_state=0
    )
    return X, (y if labels is None else np.asarray(labels)[y])


# ----------------------------------------------------------------------------- pickle

LOAD_IN_FRESH_PROCESS = textwrap.dedent(
    """
    import json, pickle, sys
    import joblib
    import numpy as np

    directory = sys.argv[1]
    X = np.load(f"{directory}/X.npy")
    y = np.load(f"{directory}/y.npy")
    with open(f"{directory}/model.pkl", "rb") as f:
        from_pickle = pickle.load(f)
    from_joblib = joblib.load(f"{directory}/model.joblib")
    np.save(f"{directory}/proba_pickle.npy", from_pickle.predict_proba(X))
    np.save(f"{directory}/proba_joblib.npy", from_joblib.predict_proba(X))
    # training resumes from the pickled state, with the kernels loaded from numba's cache
    from_pickle.partial_fit(X, y)
    np.save(f"{directory}/coef_after.npy", from_pickle.coef_)
    from sgdlogit import _kernels
    stats = {
        name: [sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values())]
        for name, k in vars(_kernels).items()
        if hasattr(k, "stats") and hasattr(k, "py_func")
    }
    print(json.dumps(stats))
    """
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pickle_and_joblib_round_trip_in_a_fresh_process(tmp_path, dtype):
    X, y = make_data(3)
    X = X.astype(dtype)
    clf = SGDLogitClassifier(random_state=0, max_iter=5, tol=None)
    clf.partial_fit(X, y, classes=np.unique(y))  # the kernels are compiled or loaded here
    clf.partial_fit(X, y)
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(clf, f)
    joblib.dump(clf, tmp_path / "model.joblib")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)

    result = subprocess.run(
        [sys.executable, "-c", LOAD_IN_FRESH_PROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(np.load(tmp_path / "proba_pickle.npy"), expected)
    np.testing.assert_array_equal(np.load(tmp_path / "proba_joblib.npy"), expected)
    clf.partial_fit(X, y)
    np.testing.assert_array_equal(np.load(tmp_path / "coef_after.npy"), clf.coef_)

    # The cache is warm (this process used the same kernels): the fresh process loads
    # them from numba's on-disk cache and compiles nothing.
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert sum(hits for hits, _ in stats.values()) >= 1
    assert {name: misses for name, (_, misses) in stats.items() if misses} == {}


# ----------------------------------------------------------------------------- skops


@pytest.fixture(params=["fit", "partial_fit", "early_stopping", "sparse"])
def fitted(request):
    X, y = make_data(3, labels=["a", "b", "c"])
    clf = SGDLogitClassifier(random_state=np.random.RandomState(0), max_iter=5, tol=None)
    if request.param == "fit":
        clf.fit(X, y)
    elif request.param == "partial_fit":
        clf.set_params(solver="adam").partial_fit(X, y, classes=["a", "b", "c"])
    elif request.param == "early_stopping":
        clf.set_params(early_stopping=True, penalty="elasticnet", momentum=0.5).fit(X, y)
    else:
        import scipy.sparse as sp

        X = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
        clf.set_params(penalty="l1").fit(X, y)
    return clf, X, y


def test_skops_lists_only_our_types_and_loads_them_when_trusted(fitted):
    sio = pytest.importorskip("skops.io")
    clf, X, y = fitted
    data = sio.dumps(clf)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted
    assert all(name.startswith("sgdlogit.") for name in untrusted), untrusted
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data)

    loaded = sio.loads(data, trusted=untrusted)
    assert type(loaded) is SGDLogitClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    # the training state survives: one more epoch gives the same weights
    np.testing.assert_array_equal(loaded.partial_fit(X, y).coef_, clf.partial_fit(X, y).coef_)


def test_skops_pipeline_round_trip(tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = make_data(2)
    pipeline = make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0)).fit(X, y)
    sio.dump(pipeline, tmp_path / "model.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "model.skops")
    assert all(name.startswith("sgdlogit.") for name in untrusted), untrusted
    loaded = sio.load(tmp_path / "model.skops", trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))


# ----------------------------------------------------------------------------- ONNX


def test_training_continues_after_a_memory_mapped_joblib_load(tmp_path):
    # joblib.load(..., mmap_mode="r") gives read-only state arrays: partial_fit failed
    # ("assignment destination is read-only") and the next call started over
    X, y = make_data(3)
    model = SGDLogitClassifier(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    for _ in range(2):
        loaded.partial_fit(X, y)
        model.partial_fit(X, y)
    assert loaded.n_iter_ == 3
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.loss_curve_, model.loss_curve_)


def onnx_probabilities(model, X, **options):
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    import sgdlogit.onnx

    sgdlogit.onnx.register()
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}, **options)
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {session.get_inputs()[0].name: X})
    return labels, probabilities


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("labels", [None, ["no", "yes", "maybe"]])
def test_onnx_pipeline_matches_predict_proba(n_classes, labels):
    X, y = make_data(n_classes, labels=None if labels is None else labels[:n_classes])
    pipeline = make_pipeline(StandardScaler(), SGDLogitClassifier(random_state=0)).fit(X, y)
    X32 = X.astype(np.float32)  # float32 inputs are the ONNX norm
    onnx_labels, probabilities = onnx_probabilities(pipeline, X32)
    assert probabilities.shape == (X.shape[0], n_classes)
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(X32), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(onnx_labels, pipeline.predict(X32))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_onnx_double_input_matches_to_rounding(n_classes):
    X, y = make_data(n_classes)
    clf = SGDLogitClassifier(random_state=0, fit_intercept=False).fit(X, y)
    onnx_labels, probabilities = onnx_probabilities(clf, X)
    assert probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities, clf.predict_proba(X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(onnx_labels, clf.predict(X))


@pytest.mark.parametrize("dtype, limit", [(np.float64, 700.0), (np.float32, 80.0)])
def test_onnx_binary_probabilities_near_zero_and_labels_at_zero(dtype, limit):
    # both columns as predict_proba gives them, to a few ulps even at 1e-300, and a logit
    # of exactly 0 is class 0, as in predict
    z = np.concatenate([np.linspace(-limit, limit, 1_401), [0.0, -0.0]]).astype(dtype)
    X = np.column_stack([z, np.ones_like(z)])
    clf = SGDLogitClassifier().fit(X[[0, -1]], ["low", "high"])
    clf.coef_ = np.array([[1.0, 0.0]], dtype=dtype)
    clf.intercept_ = np.zeros(1, dtype=dtype)
    onnx_labels, probabilities = onnx_probabilities(clf, X)
    expected = clf.predict_proba(X)
    assert np.all(probabilities > 0)
    ulps = np.abs(probabilities - expected) / np.spacing(expected)
    assert ulps.max() <= 4.0
    np.testing.assert_array_equal(onnx_labels, clf.predict(X))
    assert list(clf.predict(X[-2:])) == [clf.classes_[0]] * 2


def test_onnx_export_of_a_sparsified_model():
    X, y = make_data(3)
    clf = SGDLogitClassifier(penalty="l1", alpha=0.05, random_state=0).fit(X, y)
    assert np.any(clf.coef_ == 0)
    clf.sparsify()
    onnx_labels, probabilities = onnx_probabilities(clf, X)
    np.testing.assert_allclose(probabilities, clf.predict_proba(X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(onnx_labels, clf.predict(X))


def test_onnx_zipmap_output_and_repeated_registration():
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    import sgdlogit.onnx

    X, y = make_data(2, labels=["no", "yes"])
    clf = SGDLogitClassifier(random_state=0).fit(X, y)
    sgdlogit.onnx.register()
    sgdlogit.onnx.register()
    onx = skl2onnx.to_onnx(clf, X[:1].astype(np.float32))
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    _, rows = session.run(None, {session.get_inputs()[0].name: X[:3].astype(np.float32)})
    expected = clf.predict_proba(X[:3].astype(np.float32))
    for row, probabilities in zip(rows, expected, strict=True):
        assert set(row) == {"no", "yes"}
        np.testing.assert_allclose([row["no"], row["yes"]], probabilities, atol=1e-5)


# ----------------------------------------------------------------------------- imports


def test_import_sgdlogit_does_not_import_optional_packages():
    code = textwrap.dedent(
        """
        import sys
        import sgdlogit, sgdlogit.onnx
        print(sorted(m for m in ("dask", "distributed", "dask_ml", "skl2onnx", "onnx",
                                 "onnxruntime", "skops") if m in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize(
    "classes", [np.array([1, 2**40, 2**63 - 1], np.uint64), np.array([-3, 7], np.int8), [0.0, 2.0]]
)
def test_onnx_labels_of_any_integer_dtype_that_fits_int64(classes):
    X, y = make_data(len(classes))
    clf = SGDLogitClassifier(random_state=0).fit(X, np.asarray(classes)[y])
    onnx_labels, _ = onnx_probabilities(clf, X)
    np.testing.assert_array_equal(onnx_labels, clf.predict(X))


@pytest.mark.parametrize("classes", [[0, 2**63 + 5], [2**63, 2**64 - 1]])
def test_onnx_refuses_labels_beyond_int64(classes):
    # they were cast to int64 unchecked: 2**63 + 5 became -2**63 + 5, and ONNX's labels
    # agreed with predict on half of the rows (skl2onnx's own converters refuse them)
    X, y = make_data(2)
    clf = SGDLogitClassifier(random_state=0).fit(X, np.asarray(classes, np.uint64)[y])
    with pytest.raises(ValueError, match="do not fit in ONNX's int64 labels"):
        onnx_probabilities(clf, X)
