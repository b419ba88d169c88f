"""Misuse through the Python API: each bad call raises FlowgenError with the right status and a
non-empty message, changes nothing, and the model keeps working afterwards."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import flowgen
from flowgen import constants as C
from flowgen import errors as E

from conftest import PACKAGE_ROOT, read_safetensors, split_safetensors, write_safetensors_raw

IN, OUT = 3, 4


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, IN)).astype(np.float32)
    labels = rng.integers(0, OUT, size=16)
    targets = rng.normal(size=(16, OUT)).astype(np.float32)
    return x, labels, targets


@pytest.fixture
def classifier(data):
    x, labels, _ = data
    model = flowgen.MLP([IN, 8, OUT], task="classification", seed=1, batch_size=8)
    model.fit(x, labels, steps=2)
    yield model
    model.close()


@pytest.fixture
def regressor(data):
    x, _, targets = data
    model = flowgen.MLP([IN, 8, OUT], seed=1)
    model.fit(x, targets, steps=2)
    yield model
    model.close()


def expect(status, call, *args, **kwargs):
    with pytest.raises(flowgen.FlowgenError) as info:
        call(*args, **kwargs)
    error = info.value
    assert error.status == status, (error.status_name, error.message)
    assert error.status_name == C.STATUS_NAMES[status]
    assert isinstance(error.message, str) and error.message.strip()
    assert isinstance(error, E.error_class(status))
    assert error.status_name in str(error)
    return error


def still_works(model, x, y, reference_prediction, reference_step):
    """Nothing changed by the failed call, and the model still predicts, trains and evaluates."""
    assert model.step == reference_step
    assert np.array_equal(model.predict(x), reference_prediction)
    model.fit(x, y, steps=1)
    assert model.step == reference_step + 1
    loss, _ = model.evaluate(x, y)
    assert np.isfinite(loss)


# ------------------------------------------------------------------------------------------------
# fit / predict / evaluate arguments
# ------------------------------------------------------------------------------------------------

def _with_nan(a, value=np.nan):
    a = np.array(a, dtype=np.float64)
    a.flat[5] = value
    return a


FIT_CASES = {
    # name: (status, function(x, labels) -> (x, y, steps))
    "x wrong column count": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x[:, :2], y, 1)),
    "y wrong length": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x, y[:-1], 1)),
    "x and y row counts differ": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x[:-2], y, 1)),
    "x 1-D": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x.ravel(), y, 1)),
    "x 3-D": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x[None], y, 1)),
    "y 3-D": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x, y.reshape(1, 1, -1), 1)),
    "y one-hot": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x, np.eye(OUT)[y], 1)),
    "x complex dtype": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x.astype(np.complex64), y, 1)),
    "x string dtype": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x.astype(str), y, 1)),
    "x object dtype": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x.astype(object), y, 1)),
    "x ragged list": (C.ERR_INVALID_ARGUMENT, lambda x, y: ([[1.0, 2.0, 3.0], [1.0]], y[:2], 1)),
    "x NaN": (C.ERR_NON_FINITE, lambda x, y: (_with_nan(x), y, 1)),
    "x +inf": (C.ERR_NON_FINITE, lambda x, y: (_with_nan(x, np.inf), y, 1)),
    "x beyond float32": (C.ERR_NON_FINITE, lambda x, y: (_with_nan(x, 1e39), y, 1)),
    "label NaN": (C.ERR_NON_FINITE, lambda x, y: (x, _with_nan(y), 1)),
    "label == classes": (C.ERR_OUT_OF_RANGE, lambda x, y: (x, np.where(np.arange(16) == 3, OUT, y), 1)),
    "label negative": (C.ERR_OUT_OF_RANGE, lambda x, y: (x, np.where(np.arange(16) == 3, -1, y), 1)),
    "label huge": (C.ERR_OUT_OF_RANGE, lambda x, y: (x, np.where(np.arange(16) == 3, 1e10, y), 1)),
    "zero steps": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x, y, 0)),
    "negative steps": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x, y, -1)),
    "steps beyond uint32": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x, y, 2**32)),
    "steps not an integer": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x, y, 2.5)),
    "zero rows": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x[:0], y[:0], 1)),
}


@pytest.mark.parametrize("case", sorted(FIT_CASES))
def test_fit_misuse(classifier, data, case):
    x, labels, _ = data
    status, make = FIT_CASES[case]
    before = classifier.predict(x)
    step = classifier.step
    bad_x, bad_y, steps = make(x, labels)
    expect(status, classifier.fit, bad_x, bad_y, steps)
    still_works(classifier, x, labels, before, step)


def test_fit_non_integral_label(classifier, data):
    x, labels, _ = data
    before, step = classifier.predict(x), classifier.step
    bad = labels.astype(np.float32)
    bad[4] = 0.5
    # The header asks for "integral values in 0 … output_dim-1"; either status names the problem.
    error = expect_any((C.ERR_OUT_OF_RANGE, C.ERR_INVALID_ARGUMENT), classifier.fit, x, bad, 1)
    assert error.message
    still_works(classifier, x, labels, before, step)


def expect_any(statuses, call, *args):
    with pytest.raises(flowgen.FlowgenError) as info:
        call(*args)
    assert info.value.status in statuses, (info.value.status_name, info.value.message)
    assert info.value.message.strip()
    return info.value


def test_fit_regression_target_misuse(regressor, data):
    x, _, targets = data
    before, step = regressor.predict(x), regressor.step
    expect(C.ERR_SHAPE_MISMATCH, regressor.fit, x, targets[:, :2], 1)
    expect(C.ERR_SHAPE_MISMATCH, regressor.fit, x, targets[:, 0], 1)
    expect(C.ERR_NON_FINITE, regressor.fit, x, _with_nan(targets, -np.inf), 1)
    still_works(regressor, x, targets, before, step)


def test_fit_progress_not_callable(classifier, data):
    x, labels, _ = data
    before, step = classifier.predict(x), classifier.step
    expect(C.ERR_INVALID_ARGUMENT, classifier.fit, x, labels, 1, progress=42)
    still_works(classifier, x, labels, before, step)


PREDICT_CASES = {
    "wrong column count": (C.ERR_SHAPE_MISMATCH, lambda x: x[:, 1:]),
    "1-D": (C.ERR_SHAPE_MISMATCH, lambda x: x[0]),
    "NaN": (C.ERR_NON_FINITE, lambda x: _with_nan(x)),
    "-inf": (C.ERR_NON_FINITE, lambda x: _with_nan(x, -np.inf)),
    "complex": (C.ERR_INVALID_ARGUMENT, lambda x: x + 1j),
}


@pytest.mark.parametrize("case", sorted(PREDICT_CASES))
def test_predict_misuse(classifier, data, case):
    x, labels, _ = data
    status, make = PREDICT_CASES[case]
    before, step = classifier.predict(x), classifier.step
    expect(status, classifier.predict, make(x))
    still_works(classifier, x, labels, before, step)


EVALUATE_CASES = {
    "y wrong length": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x, y[1:])),
    "x wrong column count": (C.ERR_SHAPE_MISMATCH, lambda x, y: (x[:, :1], y)),
    "label out of range": (C.ERR_OUT_OF_RANGE, lambda x, y: (x, y + OUT)),
    "x NaN": (C.ERR_NON_FINITE, lambda x, y: (_with_nan(x), y)),
    "zero rows": (C.ERR_INVALID_ARGUMENT, lambda x, y: (x[:0], y[:0])),
}


@pytest.mark.parametrize("case", sorted(EVALUATE_CASES))
def test_evaluate_misuse(classifier, data, case):
    x, labels, _ = data
    status, make = EVALUATE_CASES[case]
    before, step = classifier.predict(x), classifier.step
    expect(status, classifier.evaluate, *make(x, labels))
    still_works(classifier, x, labels, before, step)


# ------------------------------------------------------------------------------------------------
# Construction options
# ------------------------------------------------------------------------------------------------

CREATE_CASES = {
    "activation name": (C.ERR_UNKNOWN_ENUM, dict(activation="reluu")),
    "activation int": (C.ERR_UNKNOWN_ENUM, dict(activation=99)),
    "activation negative": (C.ERR_UNKNOWN_ENUM, dict(activation=-1)),
    "activation float": (C.ERR_INVALID_ARGUMENT, dict(activation=1.5)),
    "task name": (C.ERR_UNKNOWN_ENUM, dict(task="regresion")),
    "task int": (C.ERR_UNKNOWN_ENUM, dict(task=2)),
    "optimizer name": (C.ERR_UNKNOWN_ENUM, dict(optimizer="adagrad")),
    "optimizer int": (C.ERR_UNKNOWN_ENUM, dict(optimizer=3)),
    "learning rate zero": (C.ERR_INVALID_ARGUMENT, dict(learning_rate=0.0)),
    "learning rate negative": (C.ERR_INVALID_ARGUMENT, dict(learning_rate=-1e-3)),
    "learning rate NaN": (C.ERR_INVALID_ARGUMENT, dict(learning_rate=float("nan"))),
    "learning rate inf": (C.ERR_INVALID_ARGUMENT, dict(learning_rate=float("inf"))),
    "learning rate text": (C.ERR_INVALID_ARGUMENT, dict(learning_rate="fast")),
    "weight decay negative": (C.ERR_INVALID_ARGUMENT, dict(weight_decay=-0.1)),
    "weight decay NaN": (C.ERR_INVALID_ARGUMENT, dict(weight_decay=float("nan"))),
    "grad clip negative": (C.ERR_INVALID_ARGUMENT, dict(grad_clip_norm=-1.0)),
    "grad clip NaN": (C.ERR_INVALID_ARGUMENT, dict(grad_clip_norm=float("nan"))),
    "seed negative": (C.ERR_INVALID_ARGUMENT, dict(seed=-1)),
    "seed beyond uint64": (C.ERR_INVALID_ARGUMENT, dict(seed=2**64)),
    "batch size negative": (C.ERR_INVALID_ARGUMENT, dict(batch_size=-4)),
}


@pytest.mark.parametrize("case", sorted(CREATE_CASES))
def test_create_option_misuse(classifier, data, case):
    x, labels, _ = data
    status, options = CREATE_CASES[case]
    before, step = classifier.predict(x), classifier.step
    expect(status, flowgen.MLP, [IN, 8, OUT], **options)
    still_works(classifier, x, labels, before, step)  # an unrelated model is unaffected


LAYER_CASES = {
    "no layers": [],
    "one layer": [3],
    "zero width": [3, 0, 1],
    "width above 2^20": [3, (1 << 20) + 1, 1],
    "negative width": [3, -2, 1],
    "width beyond uint32": [3, 2**32 + 4, 1],
    "non-integer width": [3, 2.5, 1],
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_create_layer_size_misuse(case):
    expect(C.ERR_INVALID_ARGUMENT, flowgen.MLP, LAYER_CASES[case])


def test_layer_sizes_not_a_sequence():
    expect(C.ERR_INVALID_ARGUMENT, flowgen.MLP, 5)


def test_enum_names_are_case_and_dash_insensitive():
    with flowgen.MLP([2, 3, 1], activation="Leaky-ReLU", task="REGRESSION", optimizer="AdamW") as m:
        assert m.output_dim == 1


def test_huge_model_is_refused_without_crashing_the_process():
    """2^20 x 2^20 weights (4 TiB) must come back as a status, not a trap that kills Python."""
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        import flowgen
        try:
            flowgen.MLP([1 << 20, 1 << 20, 1 << 20])
        except flowgen.FlowgenError as error:
            print(error.status_name, "|", error.message)
        else:
            print("created")
    """ % PACKAGE_ROOT)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, "process died (%d): %s" % (result.returncode, result.stderr[-2000:])
    name = result.stdout.split("|")[0].strip()
    assert name in ("FG_ERR_OUT_OF_MEMORY", "FG_ERR_INVALID_ARGUMENT"), result.stdout
    assert result.stdout.split("|", 1)[1].strip()


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------

def test_load_missing_file(tmp_path):
    expect(C.ERR_IO, flowgen.MLP.load, tmp_path / "does-not-exist.safetensors")


def test_load_directory(tmp_path):
    expect(C.ERR_IO, flowgen.MLP.load, tmp_path)


def test_path_with_nul_byte(classifier, tmp_path):
    expect(C.ERR_INVALID_ARGUMENT, flowgen.MLP.load, str(tmp_path / "a\0b"))
    expect(C.ERR_INVALID_ARGUMENT, classifier.save, str(tmp_path / "a\0b"))
    expect(C.ERR_INVALID_ARGUMENT, classifier.save, 3.5)


def test_save_into_missing_directory(classifier, data, tmp_path):
    x, labels, _ = data
    before, step = classifier.predict(x), classifier.step
    expect(C.ERR_IO, classifier.save, tmp_path / "no" / "such" / "dir" / "m.safetensors")
    still_works(classifier, x, labels, before, step)


def test_save_onto_a_directory_leaves_no_temporary_file(classifier, data, tmp_path):
    x, labels, _ = data
    before, step = classifier.predict(x), classifier.step
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "keep").write_text("x")
    expect(C.ERR_IO, classifier.save, target)
    assert sorted(os.listdir(tmp_path)) == ["occupied"]
    still_works(classifier, x, labels, before, step)


@pytest.fixture
def good_file(classifier, tmp_path):
    path = tmp_path / "good.safetensors"
    classifier.save(path)
    return path


def _bad_files(good, folder, weight="layers.0.weight", bias="layers.0.bias"):
    """name -> path of a corrupt variant of the good checkpoint (weight and bias: two of its tensors)."""
    blob = good.read_bytes()
    header, buffer = split_safetensors(good)
    tensors = [name for name in header if name != "__metadata__"]
    assert weight in header and bias in header, tensors
    files = {}

    def put(name, data):
        path = folder / (name.replace(" ", "_") + ".safetensors")
        path.write_bytes(data)
        files[name] = path

    def put_header(name, new_header, new_buffer=buffer):
        path = folder / (name.replace(" ", "_") + ".safetensors")
        write_safetensors_raw(path, new_header, new_buffer)
        files[name] = path

    rng = np.random.default_rng(0)
    put("garbage", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    put("empty", b"")
    put("four bytes", blob[:4])
    put("length prefix only", blob[:8])
    put("truncated in header", blob[:8 + 10])
    put("truncated at half", blob[: len(blob) // 2])
    put("last byte missing", blob[:-1])
    put("header length huge", (2**63 + 5).to_bytes(8, "little") + blob[8:])
    put("header length past end", (len(blob)).to_bytes(8, "little") + blob[8:])
    put("header not json", len(b"{not json!").to_bytes(8, "little") + b"{not json!" + buffer)
    put("header json array", len(b"[1,2,3]   ").to_bytes(8, "little") + b"[1,2,3]   " + buffer)
    put("text file", b"hello, I am not a checkpoint\n" * 20)

    h = dict(header)
    h[weight] = dict(h[weight], data_offsets=[0, len(buffer) + 64])
    put_header("offsets past end", h)
    h = dict(header)
    begin, end = header[weight]["data_offsets"]
    h[weight] = dict(h[weight], data_offsets=[end, begin])
    put_header("offsets reversed", h)
    h = dict(header)
    h[weight] = dict(h[weight], dtype="F16")
    put_header("wrong dtype", h)
    h = dict(header)
    h[weight] = dict(h[weight], shape=list(reversed(header[weight]["shape"])) + [1])
    put_header("wrong rank", h)
    h = dict(header)
    h[weight] = dict(h[weight], shape=[header[weight]["shape"][0] + 1, header[weight]["shape"][1]])
    put_header("shape disagrees with bytes", h)
    h = dict(header)
    del h[bias]
    put_header("tensor missing", h)
    h = dict(header)
    h.pop("__metadata__", None)
    put_header("metadata missing", h)
    metadata = header.get("__metadata__", {})
    assert metadata, "a flowgen checkpoint carries metadata"
    for key in sorted(metadata):  # every metadata field is checked on load
        h = dict(header)
        h["__metadata__"] = dict(metadata, **{key: "garbage{"})
        put_header("metadata %s garbage" % key, h)
        h = dict(header)
        h["__metadata__"] = {k: v for k, v in metadata.items() if k != key}
        put_header("metadata %s missing" % key, h)
    # a well-formed safetensors file that is not a flowgen model
    write_safetensors_raw(folder / "foreign.safetensors",
                          {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                          np.array([1.0, 2.0], np.float32).tobytes())
    files["foreign safetensors"] = folder / "foreign.safetensors"
    return files


def _accepted_or_unclear(bad_files, load):
    """The corrupt files that `load` accepted or rejected without FG_ERR_CORRUPT_FILE and a message."""
    failures = []
    for name, path in sorted(bad_files.items()):
        try:
            loaded = load(path)
        except flowgen.FlowgenError as error:
            if error.status != C.ERR_CORRUPT_FILE or not error.message.strip():
                failures.append("%s: %s %r" % (name, error.status_name, error.message))
        else:
            loaded.close()
            failures.append("%s: loaded without error" % name)
    return failures


def test_corrupt_files_are_rejected_with_a_message(classifier, data, good_file, tmp_path):
    x, labels, _ = data
    before, step = classifier.predict(x), classifier.step
    folder = tmp_path / "bad"
    folder.mkdir()
    failures = _accepted_or_unclear(_bad_files(good_file, folder), flowgen.MLP.load)
    assert not failures, "\n".join(failures)
    # the good file and the live model are unaffected
    with flowgen.MLP.load(good_file) as reloaded:
        assert np.array_equal(reloaded.predict(x), before)
    still_works(classifier, x, labels, before, step)


def test_corrupt_node_classifier_files_are_rejected_with_a_message(cora, tmp_path):
    with flowgen.NodeClassifier(cora, model="gcn", epochs=3, jumping_knowledge="max") as nc:
        nc.fit()
        before = nc.predict()
        good = tmp_path / "nodeclass.safetensors"
        nc.save(good)
    folder = tmp_path / "bad"
    folder.mkdir()
    failures = _accepted_or_unclear(_bad_files(good, folder, "encoder.convs.0.weight", "encoder.convs.0.bias"),
                                    lambda path: flowgen.NodeClassifier.load(cora, path))
    assert not failures, "\n".join(failures)
    with flowgen.NodeClassifier.load(cora, good) as reloaded:
        assert np.array_equal(reloaded.predict(), before)


def test_corrupt_autoregressive_flow_files_are_rejected_with_a_message(tmp_path):
    with flowgen.MAF(2, blocks=2, hidden_width=8) as flow:
        flow.fit(np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32), 3)
        good = tmp_path / "maf.safetensors"
        flow.save(good)
    folder = tmp_path / "bad"
    folder.mkdir()
    failures = _accepted_or_unclear(_bad_files(good, folder, "blocks.0.layers.0.weight", "blocks.0.layers.0.bias"),
                                    flowgen.MAF.load)
    assert not failures, "\n".join(failures)


def test_the_good_file_of_the_corruption_test_is_valid(good_file):
    tensors, metadata = read_safetensors(good_file)
    assert "layers.0.weight" in tensors and metadata


# ------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------

def test_error_classes_and_pickling():
    import pickle
    error = flowgen.FlowgenError.from_status(C.ERR_SHAPE_MISMATCH, "x has 2 columns")
    assert isinstance(error, E.ShapeMismatchError) and isinstance(error, ValueError)
    clone = pickle.loads(pickle.dumps(error))
    assert (type(clone), clone.status, clone.status_name, clone.message) == (
        type(error), error.status, error.status_name, error.message)
    assert E.error_class(12345) is flowgen.FlowgenError


def test_diverging_training_reports_numerical_error_and_stays_usable(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype(np.float32)
    y = (100.0 * x[:, :1]).astype(np.float32)
    with flowgen.MLP([2, 16, 1], optimizer="sgd", learning_rate=1e3, seed=0) as model:
        error = expect(C.ERR_NUMERICAL, model.fit, x, y, 50)
        assert isinstance(error, E.NumericalError)
        applied = model.step
        assert 0 < applied < 50  # "the step was not applied": the count stops at the last good one
        model.predict(x)  # no crash, whatever the values
        model.evaluate(x, y)
        model.save(tmp_path / "diverged.safetensors")
        with flowgen.MLP.load(tmp_path / "diverged.safetensors") as loaded:
            assert loaded.step == applied
