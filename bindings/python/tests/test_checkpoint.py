"""Checkpoints: exact save/load round trips, bit-exact resumed training, and files readable by an
independent numpy safetensors parser and by the `safetensors` package, whose weights reproduce
predict() when the forward pass is recomputed in numpy."""
import math
import os

import numpy as np
import pytest

import flowgen

from conftest import layer_weights, read_safetensors, regression_data, spiral_data

_SELU_ALPHA = 1.6732632423543728
_SELU_SCALE = 1.0507009873554805
_erf = np.vectorize(math.erf, otypes=[np.float64])

ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
    "selu": lambda z: _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0.0))),
    "gelu": lambda z: 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0))),
    "silu": lambda z: z / (1.0 + np.exp(-z)),
    "softplus": lambda z: np.logaddexp(0.0, z),
}


def numpy_forward(layers, x, activation):
    """y = x W^T + b per layer, the activation between layers (not after the last), in float64."""
    h = np.asarray(x, dtype=np.float64)
    for index, (weight, bias) in enumerate(layers):
        h = h @ weight.astype(np.float64).T + bias.astype(np.float64)
        if index < len(layers) - 1:
            h = ACTIVATIONS[activation](h)
    return h


def _trained(sizes=(3, 7, 5, 2), activation="tanh", steps=5, seed=0, **options):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(32, sizes[0])).astype(np.float32)
    y = rng.normal(size=(32, sizes[-1])).astype(np.float32)
    model = flowgen.MLP(list(sizes), activation=activation, seed=seed, learning_rate=1e-2, **options)
    model.fit(x, y, steps=steps)
    return model, x


def test_save_load_round_trip_is_exact(tmp_path):
    model, x = _trained()
    path = tmp_path / "model.safetensors"
    with model:
        model.save(path)  # pathlib.Path accepted
        with flowgen.MLP.load(str(path)) as loaded:
            assert np.array_equal(loaded.predict(x), model.predict(x))
            assert loaded.predict(x).tobytes() == model.predict(x).tobytes()
            assert (loaded.input_dim, loaded.output_dim, loaded.parameter_count, loaded.step) == (
                model.input_dim, model.output_dim, model.parameter_count, model.step)
            again = tmp_path / "again.safetensors"
            loaded.save(again)
    first, first_meta = read_safetensors(path)
    second, second_meta = read_safetensors(again)
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name].tobytes() == second[name].tobytes(), name
    assert first_meta == second_meta


def test_classification_round_trip_keeps_the_task(tmp_path):
    x, labels = spiral_data(20)
    with flowgen.MLP([2, 8, 3], task="classification", seed=1) as model:
        model.fit(x, labels, steps=3)
        model.save(tmp_path / "c.safetensors")
        expected = model.evaluate(x, labels)
    with flowgen.MLP.load(tmp_path / "c.safetensors") as loaded:
        assert loaded.evaluate(x, labels) == expected
        assert not math.isnan(expected[1])


RESUME_CONFIGS = [
    dict(task="regression", optimizer="adam", batch_size=16),
    dict(task="regression", optimizer="adamw", weight_decay=1e-2, batch_size=16, grad_clip_norm=0.5),
    dict(task="regression", optimizer="sgd", batch_size=0),
    dict(task="classification", optimizer="adam", batch_size=24, activation="gelu"),
]


@pytest.mark.parametrize("config", RESUME_CONFIGS, ids=lambda c: "-".join(
    "%s=%s" % item for item in sorted(c.items())))
def test_resumed_training_equals_uninterrupted_training_bit_for_bit(tmp_path, config):
    config = dict(config)
    task = config["task"]
    if task == "regression":
        x, y = regression_data(100, seed=7)
        sizes = [2, 24, 24, 1]
    else:
        x, y = spiral_data(40, seed=7)
        sizes = [2, 24, 24, 3]
    options = dict(activation="tanh", learning_rate=5e-3, seed=123)
    options.update(config)
    path = tmp_path / "resume.safetensors"

    with flowgen.MLP(sizes, **options) as straight:
        losses = {}
        final = straight.fit(x, y, steps=40,
                             progress=lambda step, total, loss: losses.__setitem__(step, loss))
        straight_losses = [losses[20], final]
        straight_prediction = straight.predict(x)
        straight.save(tmp_path / "straight.safetensors")

    with flowgen.MLP(sizes, **options) as first_half:
        assert first_half.fit(x, y, steps=20) == straight_losses[0]
        first_half.save(path)
        continued_loss = first_half.fit(x, y, steps=20)  # the saved object continues too
        continued_prediction = first_half.predict(x)

    with flowgen.MLP.load(path) as resumed:
        assert resumed.step == 20
        resumed_loss = resumed.fit(x, y, steps=20)
        assert resumed.step == 40
        resumed_prediction = resumed.predict(x)
        resumed.save(tmp_path / "resumed.safetensors")

    # 1) the checkpoint restores everything: the loaded model does what the saved object does next
    assert resumed_loss == continued_loss
    assert resumed_prediction.tobytes() == continued_prediction.tobytes()
    # 2) and both equal training 40 steps in one call
    assert resumed_loss == straight_losses[1], "fit(20) + fit(20) differs from fit(40)"
    assert resumed_prediction.tobytes() == straight_prediction.tobytes()
    straight_tensors, _ = read_safetensors(tmp_path / "straight.safetensors")
    resumed_tensors, _ = read_safetensors(tmp_path / "resumed.safetensors")
    assert sorted(straight_tensors) == sorted(resumed_tensors)
    for name in straight_tensors:  # weights and optimizer state alike
        assert straight_tensors[name].tobytes() == resumed_tensors[name].tobytes(), name


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_numpy_parser_reads_weights_that_reproduce_predict(tmp_path, activation):
    sizes = (3, 7, 5, 2)
    model, x = _trained(sizes, activation=activation, seed=2)
    path = tmp_path / ("%s.safetensors" % activation)
    with model:
        model.save(path)
        predicted = model.predict(x)
        parameter_count = model.parameter_count
    tensors, metadata = read_safetensors(path)
    layers = layer_weights(tensors)
    assert len(layers) == len(sizes) - 1
    for (weight, bias), fan_in, fan_out in zip(layers, sizes[:-1], sizes[1:]):
        assert weight.dtype == np.float32 and bias.dtype == np.float32
        assert weight.shape == (fan_out, fan_in)  # [out, in]
        assert bias.shape == (fan_out,)
    assert sum(w.size + b.size for w, b in layers) == parameter_count
    recomputed = numpy_forward(layers, x, activation)
    np.testing.assert_allclose(predicted, recomputed, rtol=1e-4, atol=1e-5)


def test_safetensors_package_reads_the_checkpoint(tmp_path):
    numpy_loader = pytest.importorskip("safetensors.numpy")
    safe_open = pytest.importorskip("safetensors").safe_open
    model, x = _trained((4, 9, 3), activation="silu", seed=4)
    path = tmp_path / "model.safetensors"
    with model:
        model.save(path)
        predicted = model.predict(x)
    loaded = numpy_loader.load_file(str(path))
    ours, metadata = read_safetensors(path)
    assert sorted(loaded) == sorted(ours)
    for name in ours:
        assert loaded[name].dtype == ours[name].dtype and np.array_equal(loaded[name], ours[name])
    with safe_open(str(path), framework="numpy") as handle:
        assert handle.metadata() == metadata
    recomputed = numpy_forward(layer_weights(loaded), x, "silu")
    np.testing.assert_allclose(predicted, recomputed, rtol=1e-4, atol=1e-5)


def test_checkpoint_metadata_has_the_documented_keys(tmp_path):
    """flowgen.h, fg_mlp_save lists the metadata keys; check them and their values."""
    model, _ = _trained(steps=1)
    with model:
        model.save(tmp_path / "m.safetensors")
        widths = [model.input_dim]
    _, metadata = read_safetensors(tmp_path / "m.safetensors")
    for key in ("flowgen.kind", "flowgen.format", "flowgen.widths", "flowgen.activation", "flowgen.task",
                "flowgen.optimizer", "flowgen.seed", "flowgen.step", "flowgen.rng"):
        assert key in metadata, (key, sorted(metadata))
    assert metadata["flowgen.kind"] == "mlp"
    assert metadata["flowgen.step"] == "1"
    assert int(metadata["flowgen.widths"].split(",")[0]) == widths[0]
    assert len(metadata["flowgen.rng"].split(",")) == 4


def test_fresh_weights_follow_pytorch_linear_initialisation(tmp_path):
    sizes = (64, 256, 10)
    with flowgen.MLP(list(sizes), seed=0) as model:
        model.save(tmp_path / "fresh.safetensors")
    tensors, _ = read_safetensors(tmp_path / "fresh.safetensors")
    for (weight, bias), fan_in in zip(layer_weights(tensors), sizes[:-1]):
        bound = 1.0 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) and the bias rule of nn.Linear
        assert np.abs(weight).max() <= bound * (1 + 1e-6)
        assert np.abs(weight).max() > 0.95 * bound
        assert abs(weight.mean()) < 0.05 * bound
        assert weight.std() == pytest.approx(bound / math.sqrt(3.0), rel=0.1)
        assert np.abs(bias).max() <= bound * (1 + 1e-6)
        assert len(np.unique(bias)) > 1


def test_save_overwrites_atomically_and_leaves_no_temporary_files(tmp_path):
    model, x = _trained(steps=1)
    path = tmp_path / "m.safetensors"
    with model:
        model.save(path)
        model.fit(x, np.zeros((len(x), 2), np.float32), steps=2)
        model.save(path)
        with flowgen.MLP.load(path) as loaded:
            assert loaded.step == 3
            assert np.array_equal(loaded.predict(x), model.predict(x))
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


def test_unicode_and_bytes_paths(tmp_path):
    model, x = _trained(steps=1)
    path = tmp_path / "modèle ü 模型.safetensors"
    with model:
        model.save(path)
        with flowgen.MLP.load(os.fsencode(str(path))) as loaded:
            assert np.array_equal(loaded.predict(x), model.predict(x))
