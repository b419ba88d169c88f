"""Progress callbacks (stop, Python exceptions, re-entrancy), handle lifetime (close, context
manager, __del__) and threads."""
import gc
import threading
import warnings

import numpy as np
import pytest

import flowgen
from flowgen import constants as C
from flowgen import errors as E

from conftest import regression_data


@pytest.fixture
def xy():
    return regression_data(64, seed=3)


@pytest.fixture
def model():
    with flowgen.MLP([2, 8, 1], seed=0, batch_size=16) as m:
        yield m


def test_progress_reports_every_step(model, xy):
    x, y = xy
    calls = []
    loss = model.fit(x, y, steps=12, progress=lambda step, total, l: calls.append((step, total, l)))
    assert [c[0] for c in calls] == list(range(1, 13))
    assert all(c[1] == 12 for c in calls)
    assert all(isinstance(c[2], float) and np.isfinite(c[2]) for c in calls)
    assert calls[-1][2] == loss


@pytest.mark.parametrize("stop_value", [True, 1, np.bool_(True), "stop", -5])
def test_truthy_progress_return_cancels_and_keeps_work(model, xy, stop_value):
    x, y = xy
    seen = []

    def progress(step, total, loss):
        seen.append(step)
        return stop_value if step == 5 else None

    with pytest.raises(flowgen.FlowgenError) as info:
        model.fit(x, y, steps=100, progress=progress)
    assert info.value.status == C.ERR_CANCELLED
    assert info.value.status_name == "FG_ERR_CANCELLED"
    assert isinstance(info.value, E.CancelledError)
    assert info.value.message.strip()
    assert seen == [1, 2, 3, 4, 5]
    assert model.step == 5  # work so far is kept
    model.fit(x, y, steps=2)
    assert model.step == 7


def test_cancelled_training_continues_like_uninterrupted_training(xy):
    x, y = xy
    with flowgen.MLP([2, 8, 1], seed=0, batch_size=16) as stopped, \
            flowgen.MLP([2, 8, 1], seed=0, batch_size=16) as straight:
        with pytest.raises(flowgen.FlowgenError):
            stopped.fit(x, y, steps=30, progress=lambda s, t, l: s == 10)
        stopped.fit(x, y, steps=10)
        straight.fit(x, y, steps=20)
        assert np.array_equal(stopped.predict(x), straight.predict(x))


def test_python_exception_in_progress_propagates(model, xy):
    x, y = xy

    class Boom(RuntimeError):
        pass

    def progress(step, total, loss):
        if step == 3:
            raise Boom("raised inside the callback")

    with pytest.raises(Boom, match="inside the callback"):
        model.fit(x, y, steps=50, progress=progress)
    assert model.step == 3  # training stopped right there
    before = model.predict(x)
    assert np.all(np.isfinite(before))
    model.fit(x, y, steps=1)  # and the model keeps working
    assert model.step == 4


def test_keyboard_interrupt_in_progress_propagates(model, xy):
    x, y = xy

    def progress(step, total, loss):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, steps=10, progress=progress)
    assert model.step == 1


def test_bad_progress_return_value_is_an_exception_not_a_crash(model, xy):
    x, y = xy
    with pytest.raises(ValueError):  # truth value of an array is ambiguous
        model.fit(x, y, steps=5, progress=lambda s, t, l: np.array([1, 2]))
    assert model.step == 1


def test_using_the_model_from_its_own_callback_is_refused(model, xy):
    x, y = xy

    def progress(step, total, loss):
        model.predict(x)

    with pytest.raises(flowgen.FlowgenError) as info:
        model.fit(x, y, steps=5, progress=progress)
    assert info.value.status == C.ERR_INVALID_ARGUMENT and info.value.message
    assert model.step == 1
    with pytest.raises(flowgen.FlowgenError):
        model.fit(x, y, steps=5, progress=lambda s, t, l: model.close())
    assert not model.closed
    model.fit(x, y, steps=1)


def test_other_models_and_library_calls_work_inside_a_callback(model, xy):
    x, y = xy
    with flowgen.MLP([2, 4, 1], seed=1) as other:
        outputs = []

        def progress(step, total, loss):
            outputs.append(other.predict(x))
            flowgen.version()
            with pytest.raises(flowgen.FlowgenError):
                flowgen.set_num_threads(0)  # a failing call inside the callback

        model.fit(x, y, steps=3, progress=progress)
        assert len(outputs) == 3 and np.array_equal(outputs[0], outputs[2])
    # an error raised after such a callback still carries its own message
    with pytest.raises(flowgen.FlowgenError) as info:
        model.fit(x[:, :1], y, steps=1, progress=progress)
    assert info.value.status == C.ERR_SHAPE_MISMATCH


# ------------------------------------------------------------------------------------------------
# Lifetime
# ------------------------------------------------------------------------------------------------

def test_context_manager_closes_the_handle(xy):
    x, _ = xy
    with flowgen.MLP([2, 4, 1]) as m:
        assert not m.closed
        m.predict(x)
    assert m.closed and m._handle is None
    for call in (lambda: m.predict(x), lambda: m.step, lambda: m.input_dim,
                 lambda: m.fit(x, x[:, :1], 1), lambda: m.evaluate(x, x[:, :1]),
                 lambda: m.save("/tmp/never-written.safetensors")):
        with pytest.raises(flowgen.FlowgenError) as info:
            call()
        assert info.value.status == C.ERR_NULL_ARGUMENT and "closed" in info.value.message
    m.close()  # idempotent
    assert "closed" in repr(m)


def test_context_manager_closes_on_exception():
    with pytest.raises(ZeroDivisionError):
        with flowgen.MLP([2, 4, 1]) as m:
            1 / 0
    assert m.closed


def test_loaded_model_is_a_context_manager_too(tmp_path):
    with flowgen.MLP([2, 4, 1]) as m:
        m.save(tmp_path / "m.safetensors")
    with flowgen.MLP.load(tmp_path / "m.safetensors") as loaded:
        assert "2 -> 1" in repr(loaded)
    assert loaded.closed


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_garbage_collection_frees_handles_quietly(xy):
    x, y = xy
    for index in range(200):
        m = flowgen.MLP([2, 16, 1], seed=index)
        if index % 50 == 0:
            m.fit(x, y, steps=1)
        del m
    # objects whose constructor failed have no handle; __del__ must not complain
    for _ in range(10):
        with pytest.raises(flowgen.FlowgenError):
            flowgen.MLP([2, 0, 1])
    # a cycle collected by the gc
    a = flowgen.MLP([2, 4, 1])
    a.self_reference = a
    del a
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gc.collect()


# ------------------------------------------------------------------------------------------------
# Threads
# ------------------------------------------------------------------------------------------------

def test_distinct_models_train_in_parallel_threads_like_sequentially(xy):
    x, y = xy

    def train(seed):
        with flowgen.MLP([2, 32, 32, 1], seed=seed, batch_size=16) as m:
            m.fit(x, y, steps=200)
            return m.predict(x)

    sequential = [train(seed) for seed in range(4)]
    results = [None] * 4
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, train(i)))
               for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for expected, got in zip(sequential, results):
        assert np.array_equal(expected, got)


def test_one_model_shared_by_threads_is_serialised(model, xy):
    x, y = xy
    errors = []

    def work():
        try:
            for _ in range(20):
                model.fit(x, y, steps=2)
                model.predict(x)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert model.step == 3 * 20 * 2
