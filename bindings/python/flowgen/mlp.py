"""MLP: a multilayer perceptron trained inside libflowgen (fg_mlp_* of include/flowgen.h)."""
import ctypes
import math
import operator
import os

import numpy as np

from . import constants as _c
from ._handle import NativeHandle, progress_callback
from ._lib import get_lib
from .errors import (FlowgenError, InternalError, InvalidArgumentError,
                     ShapeMismatchError, UnknownEnumError, check)

__all__ = ["MLP"]

_float_p = ctypes.POINTER(ctypes.c_float)


# ------------------------------------------------------------------------------------------------
# Argument conversion (anything the C side cannot see, e.g. integer wrap-around in ctypes, is
# rejected here with the status the library would use; everything else is left to the library).
# ------------------------------------------------------------------------------------------------

def _as_float32(name, value):
    """C-contiguous float32 copy/view of ``value``; real numeric dtypes only."""
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                   "%s is not convertible to a numeric array (%s)" % (name, error))
    if array.dtype.kind not in "biuf":
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                   "%s must hold real numbers; got dtype %s" % (name, array.dtype))
    with np.errstate(over="ignore", invalid="ignore"):
        # Values beyond float32 become inf here and are then rejected by the library (NON_FINITE).
        return np.ascontiguousarray(array, dtype=np.float32)


def _rows(name, value):
    array = _as_float32(name, value)
    if array.ndim != 2:
        raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH,
                                 "%s must be 2-D [n_rows, n_cols]; got shape %s" % (name, array.shape))
    return array


def _targets(value):
    """y as a flat float32 array: regression [n_rows, output_dim] (or [n_rows] when output_dim == 1),
    classification class ids [n_rows] (or [n_rows, 1]). The library checks the length."""
    array = _as_float32("y", value)
    if array.ndim not in (1, 2):
        raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH,
                                 "y must be 1-D or 2-D; got shape %s" % (array.shape,))
    return array.reshape(-1)


def _unsigned(name, value, bits, status=_c.ERR_INVALID_ARGUMENT):
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                   "%s must be an integer; got %r" % (name, value)) from None
    if not 0 <= number < (1 << bits):
        raise FlowgenError.from_status(
            status, "%s must be in 0 ... 2^%d-1; got %d" % (name, bits, number))
    return number


def _real(name, value):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                   "%s must be a real number; got %r" % (name, value)) from None


def _enum(name, value, table):
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key not in table:
            raise UnknownEnumError(_c.ERR_UNKNOWN_ENUM, "unknown %s %r; expected one of %s" % (
                name, value, ", ".join(sorted(table))))
        return table[key]
    # Integers go to the library unchanged, which rejects unknown values with FG_ERR_UNKNOWN_ENUM.
    return _unsigned(name, value, 32, status=_c.ERR_UNKNOWN_ENUM)


def _encode_path(path):
    try:
        raw = os.fsencode(path)
    except TypeError:
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                   "path must be str, bytes or os.PathLike; got %r" % (path,)) from None
    if b"\0" in raw:
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "path contains a NUL byte: %r" % (path,))
    return raw


def _ptr(array):
    return array.ctypes.data_as(_float_p)


class MLP(NativeHandle):
    """A multilayer perceptron y = W_L σ(… σ(W_1 x + b_1) …) + b_L, trained by libflowgen.

    Args:
        layer_sizes: widths [input, hidden…, output]; at least two, each in 1 … 2^20.
        activation: after every hidden layer: "relu", "leaky_relu", "tanh", "sigmoid", "elu",
            "selu", "gelu", "silu" (alias "swish"), "softplus", or an FG_ACT_* integer.
        task: "regression" (mean squared error, y [n, output]) or "classification" (softmax
            cross-entropy, y = class ids [n]); or an FG_TASK_* integer.
        optimizer: "adam", "adamw" (decoupled weight decay) or "sgd" (momentum 0.9); or FG_OPTIM_*.
        seed: initialisation and mini-batch sampling seed (uint64).
        learning_rate: > 0. weight_decay: >= 0. grad_clip_norm: global-norm clip, 0 = off.
        batch_size: rows per step sampled without replacement; 0 = all rows.
    Options left as None take the library's defaults (fg_mlp_default_params: relu, regression,
    adam, seed 0, learning rate 1e-3, no weight decay, no clipping, full batch).

    Arrays are converted to C-contiguous float32. Errors raise flowgen.FlowgenError (subclasses per
    status). One thread at a time uses an MLP (calls from other threads wait); the MLP must not be used
    from inside its own progress callback. Release it with close() or a ``with`` block.
    """

    _free_name = "fg_mlp_free"
    _kind = "MLP"

    def __init__(self, layer_sizes, *, activation=None, task=None, optimizer=None, seed=None,
                 learning_rate=None, weight_decay=None, grad_clip_norm=None, batch_size=None):
        self._init_handle()
        lib = get_lib()

        try:
            sizes = [_unsigned("layer_sizes[%d]" % i, size, 32) for i, size in enumerate(layer_sizes)]
        except TypeError:
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                       "layer_sizes must be a sequence of integers; got %r"
                                       % (layer_sizes,)) from None
        params = lib.fg_mlp_default_params()
        if activation is not None:
            params.activation = _enum("activation", activation, _c.ACTIVATIONS)
        if task is not None:
            params.task = _enum("task", task, _c.TASKS)
        if optimizer is not None:
            params.optimizer = _enum("optimizer", optimizer, _c.OPTIMIZERS)
        if seed is not None:
            params.seed = _unsigned("seed", seed, 64)
        if learning_rate is not None:
            params.learning_rate = _real("learning_rate", learning_rate)
        if weight_decay is not None:
            params.weight_decay = _real("weight_decay", weight_decay)
        if grad_clip_norm is not None:
            params.grad_clip_norm = _real("grad_clip_norm", grad_clip_norm)
        if batch_size is not None:
            params.batch_size = _unsigned("batch_size", batch_size, 32)

        c_sizes = (ctypes.c_uint32 * max(len(sizes), 1))(*sizes)
        out = ctypes.c_void_p()
        status = lib.fg_mlp_create(c_sizes, len(sizes), ctypes.byref(params), ctypes.byref(out))
        check(status, lib)
        if not out.value:
            raise InternalError(_c.ERR_INTERNAL, "fg_mlp_create returned FG_OK and a NULL handle")
        self._handle = out.value

    @classmethod
    def load(cls, path):
        """An MLP read from a checkpoint written by save() (continues training exactly)."""
        lib = get_lib()
        raw = _encode_path(path)
        out = ctypes.c_void_p()
        status = lib.fg_mlp_load(raw, ctypes.byref(out))
        check(status, lib)
        if not out.value:
            raise InternalError(_c.ERR_INTERNAL, "fg_mlp_load returned FG_OK and a NULL handle")
        model = cls.__new__(cls)
        model._init_handle(out.value)
        return model

    # -- lifetime ----------------------------------------------------------------------------------

    def __repr__(self):
        if self.closed:
            return "<flowgen.MLP (closed)>"
        return "<flowgen.MLP %d -> %d, %d parameters, step %d>" % (
            self.input_dim, self.output_dim, self.parameter_count, self.step)

    # -- properties --------------------------------------------------------------------------------

    @property
    def input_dim(self):
        """Input width (layer_sizes[0])."""
        with self._use() as handle:
            return int(get_lib().fg_mlp_input_dim(handle))

    @property
    def output_dim(self):
        """Output width (layer_sizes[-1]; the number of classes for classification)."""
        with self._use() as handle:
            return int(get_lib().fg_mlp_output_dim(handle))

    @property
    def parameter_count(self):
        """Number of trainable scalars (weights and biases)."""
        with self._use() as handle:
            return int(get_lib().fg_mlp_parameter_count(handle))

    @property
    def step(self):
        """Optimizer steps taken so far (kept by save/load)."""
        with self._use() as handle:
            return int(get_lib().fg_mlp_step(handle))

    # -- work --------------------------------------------------------------------------------------

    def fit(self, x, y, steps, progress=None):
        """Runs ``steps`` optimizer steps on (x, y) and returns the loss of the last step.

        x: [n_rows, input_dim]. y: regression [n_rows, output_dim] (or [n_rows] if output_dim == 1);
        classification integer class ids [n_rows] in 0 … output_dim-1.
        progress: optional ``progress(step, total, loss)`` called after each step (step is 1-based);
        a truthy return value stops training: FlowgenError with status FG_ERR_CANCELLED is raised and
        the steps done so far are kept. An exception raised by ``progress`` also stops training and
        is re-raised here once the library has returned. Calling fit again continues training.
        """
        steps = _unsigned("steps", steps, 32)
        x = _rows("x", x)
        y = _targets(y)
        lib = get_lib()
        loss = ctypes.c_float(math.nan)
        raised = []
        callback = progress_callback(progress, raised)  # referenced until the call returns
        with self._use() as handle:
            status = lib.fg_mlp_fit(handle, _ptr(x), x.shape[0], x.shape[1], _ptr(y), y.size,
                                    steps, callback, None, ctypes.byref(loss))
            if raised:
                raise raised[0]
            check(status, lib)
        return float(loss.value)

    def predict(self, x):
        """Network outputs for x [n_rows, input_dim] as a float32 array [n_rows, output_dim]
        (raw outputs: logits for classification)."""
        x = _rows("x", x)
        lib = get_lib()
        with self._use() as handle:
            output_dim = int(lib.fg_mlp_output_dim(handle))
            dst = np.empty((x.shape[0], output_dim), dtype=np.float32)
            written = ctypes.c_size_t(0)
            status = lib.fg_mlp_predict(handle, _ptr(x), x.shape[0], x.shape[1], _ptr(dst),
                                        dst.size, ctypes.byref(written))
            check(status, lib)
        if written.value != dst.size:
            raise InternalError(_c.ERR_INTERNAL, "fg_mlp_predict wrote %d values, expected %d"
                                % (written.value, dst.size))
        return dst

    def evaluate(self, x, y):
        """(mean loss, accuracy) on (x, y), laid out as for fit. Accuracy is the fraction of rows
        whose arg-max output equals the label for classification, NaN for regression."""
        x = _rows("x", x)
        y = _targets(y)
        lib = get_lib()
        loss = ctypes.c_float(math.nan)
        accuracy = ctypes.c_float(math.nan)
        with self._use() as handle:
            status = lib.fg_mlp_evaluate(handle, _ptr(x), x.shape[0], x.shape[1], _ptr(y), y.size,
                                         ctypes.byref(loss), ctypes.byref(accuracy))
            check(status, lib)
        return float(loss.value), float(accuracy.value)

    def save(self, path):
        """Writes a safetensors checkpoint (weights "layers.<i>.weight" [out, in], biases, options,
        optimizer state, step and random state) atomically to ``path``."""
        raw = _encode_path(path)
        lib = get_lib()
        with self._use() as handle:
            check(lib.fg_mlp_save(handle, raw), lib)
