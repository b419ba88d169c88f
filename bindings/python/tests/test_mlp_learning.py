"""The MLP learns, and its outputs agree with independent numpy recomputations."""
import math
import time

import numpy as np
import pytest

import flowgen
from flowgen import constants as C

from conftest import regression_data, spiral_data

# Stated targets (y of the regression set has variance ≈ 0.43; a linear fit leaves MSE ≈ 0.14).
REGRESSION_MSE_THRESHOLD = 1e-3
CLASSIFICATION_ACCURACY_THRESHOLD = 0.95


def test_regression_learns_to_threshold():
    x, y = regression_data(512, seed=0)
    x_test, y_test = regression_data(256, seed=1)
    with flowgen.MLP([2, 64, 64, 1], activation="tanh", learning_rate=1e-2, seed=3) as model:
        start = time.perf_counter()
        first = model.fit(x, y, steps=1)
        last = model.fit(x, y, steps=1499)
        elapsed = time.perf_counter() - start
        assert model.step == 1500
        loss, accuracy = model.evaluate(x_test, y_test)
        print("regression: first loss %.4f, last %.5f, held-out %.5f, %.2fs"
              % (first, last, loss, elapsed))
        assert math.isnan(accuracy)
        assert last < REGRESSION_MSE_THRESHOLD
        assert loss < REGRESSION_MSE_THRESHOLD
        assert last < first / 20


def test_classification_learns_to_accuracy():
    x, y = spiral_data(100, seed=0)
    x_test, y_test = spiral_data(60, seed=1)
    with flowgen.MLP([2, 64, 64, 3], activation="relu", task="classification",
                     learning_rate=1e-2, seed=5) as model:
        model.fit(x, y, steps=1500)
        train_loss, train_accuracy = model.evaluate(x, y)
        test_loss, test_accuracy = model.evaluate(x_test, y_test)
        print("classification: train %.4f / %.3f, held-out %.4f / %.3f"
              % (train_loss, train_accuracy, test_loss, test_accuracy))
        assert train_accuracy >= CLASSIFICATION_ACCURACY_THRESHOLD
        assert test_accuracy >= CLASSIFICATION_ACCURACY_THRESHOLD - 0.03


def test_minibatch_sgd_and_adamw_also_learn():
    x, y = regression_data(512, seed=0)
    for optimizer, rate in (("sgd", 5e-2), ("adamw", 1e-2)):
        with flowgen.MLP([2, 64, 1], activation="tanh", optimizer=optimizer, learning_rate=rate,
                         weight_decay=1e-4, batch_size=64, grad_clip_norm=5.0, seed=2) as model:
            model.fit(x, y, steps=1500)
            loss, _ = model.evaluate(x, y)
            assert loss < 0.03, (optimizer, loss)


def test_evaluate_matches_numpy_on_predict():
    x, y = regression_data(200, seed=4)
    with flowgen.MLP([2, 16, 1], seed=1) as model:
        model.fit(x, y, steps=10)
        predicted = model.predict(x).astype(np.float64)
        loss, accuracy = model.evaluate(x, y)
        assert loss == pytest.approx(np.mean((predicted - y) ** 2), rel=1e-4)
        assert math.isnan(accuracy)

    x, labels = spiral_data(50, seed=2)
    with flowgen.MLP([2, 16, 3], task="classification", seed=1) as model:
        model.fit(x, labels, steps=10)
        logits = model.predict(x).astype(np.float64)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        expected_loss = -np.mean(log_softmax[np.arange(len(labels)), labels])
        loss, accuracy = model.evaluate(x, labels)
        assert loss == pytest.approx(expected_loss, rel=1e-4)
        assert accuracy == pytest.approx(np.mean(logits.argmax(axis=1) == labels), abs=1e-6)


def test_predict_shape_and_dtype():
    with flowgen.MLP([3, 8, 5], seed=0) as model:
        out = model.predict(np.zeros((7, 3)))
        assert out.shape == (7, 5) and out.dtype == np.float32 and out.flags.c_contiguous
        assert (model.input_dim, model.output_dim) == (3, 5)
        assert model.parameter_count == 3 * 8 + 8 + 8 * 5 + 5
        assert model.step == 0


def test_input_conversion_float64_ints_lists_and_strided_views():
    rng = np.random.default_rng(0)
    x32 = rng.normal(size=(10, 4)).astype(np.float32)
    with flowgen.MLP([4, 8, 2], seed=0) as model:
        reference = model.predict(x32)
        assert np.array_equal(model.predict(x32.astype(np.float64)), reference)
        assert np.array_equal(model.predict(x32.tolist()), reference)
        assert np.array_equal(model.predict(np.asfortranarray(x32)), reference)
        wide = np.zeros((10, 8), np.float32)
        wide[:, ::2] = x32
        assert np.array_equal(model.predict(wide[:, ::2]), reference)
        ints = np.arange(8).reshape(2, 4)
        assert np.array_equal(model.predict(ints), model.predict(ints.astype(np.float32)))


def test_integer_and_float_labels_train_identically():
    x, labels = spiral_data(30, seed=0)
    outputs = []
    for y in (labels, labels.astype(np.float32), labels.astype(np.uint8), labels.tolist()):
        with flowgen.MLP([2, 8, 3], task="classification", seed=9, batch_size=16) as model:
            model.fit(x, y, steps=5)
            outputs.append(model.predict(x))
    for other in outputs[1:]:
        assert np.array_equal(outputs[0], other)


def test_regression_targets_may_be_1d_when_output_dim_is_1():
    x, y = regression_data(64)
    results = []
    for targets in (y, y[:, 0]):
        with flowgen.MLP([2, 8, 1], seed=1) as model:
            results.append(model.fit(x, targets, steps=3))
    assert results[0] == results[1]


def test_same_seed_same_model_different_seed_different_model():
    x, y = regression_data(128)

    def run(seed):
        with flowgen.MLP([2, 16, 1], seed=seed, batch_size=32) as model:
            initial = model.predict(x)
            model.fit(x, y, steps=10)
            return initial, model.predict(x)

    a, b, c = run(11), run(11), run(12)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_fit_returns_the_last_step_loss_and_enum_ints_equal_names():
    x, y = regression_data(64)
    with flowgen.MLP([2, 8, 1], activation="selu", optimizer="adamw", seed=4) as by_name, \
            flowgen.MLP([2, 8, 1], activation=C.ACT_SELU, optimizer=C.OPTIM_ADAMW, seed=4) as by_int:
        losses = []
        by_name.fit(x, y, steps=4, progress=lambda step, total, loss: losses.append(loss))
        assert len(losses) == 4
        assert by_int.fit(x, y, steps=4) == losses[-1]
        assert np.array_equal(by_name.predict(x), by_int.predict(x))


def test_training_continues_across_fit_calls():
    x, y = regression_data(128)
    with flowgen.MLP([2, 16, 1], seed=1, batch_size=32) as split, \
            flowgen.MLP([2, 16, 1], seed=1, batch_size=32) as straight:
        split.fit(x, y, steps=7)
        split.fit(x, y, steps=13)
        straight.fit(x, y, steps=20)
        assert split.step == straight.step == 20
        assert np.array_equal(split.predict(x), straight.predict(x))
