"""Constants of include/flowgen.h (values pinned by the C ABI) and the names the Python API accepts."""

# Status codes (fg_status).
OK = 0
ERR_NULL_ARGUMENT = 1
ERR_INVALID_ARGUMENT = 2
ERR_SHAPE_MISMATCH = 3
ERR_BUFFER_TOO_SMALL = 4
ERR_NON_FINITE = 5
ERR_OUT_OF_RANGE = 6
ERR_UNKNOWN_ENUM = 7
ERR_STRUCT_SIZE = 8
ERR_IO = 9
ERR_CORRUPT_FILE = 10
ERR_CALLBACK = 11
ERR_CANCELLED = 12
ERR_OUT_OF_MEMORY = 13
ERR_NUMERICAL = 14
ERR_INTERNAL = 15

#: status value -> "FG_ERR_..." name (the same text fg_status_str returns).
STATUS_NAMES = {
    OK: "FG_OK",
    ERR_NULL_ARGUMENT: "FG_ERR_NULL_ARGUMENT",
    ERR_INVALID_ARGUMENT: "FG_ERR_INVALID_ARGUMENT",
    ERR_SHAPE_MISMATCH: "FG_ERR_SHAPE_MISMATCH",
    ERR_BUFFER_TOO_SMALL: "FG_ERR_BUFFER_TOO_SMALL",
    ERR_NON_FINITE: "FG_ERR_NON_FINITE",
    ERR_OUT_OF_RANGE: "FG_ERR_OUT_OF_RANGE",
    ERR_UNKNOWN_ENUM: "FG_ERR_UNKNOWN_ENUM",
    ERR_STRUCT_SIZE: "FG_ERR_STRUCT_SIZE",
    ERR_IO: "FG_ERR_IO",
    ERR_CORRUPT_FILE: "FG_ERR_CORRUPT_FILE",
    ERR_CALLBACK: "FG_ERR_CALLBACK",
    ERR_CANCELLED: "FG_ERR_CANCELLED",
    ERR_OUT_OF_MEMORY: "FG_ERR_OUT_OF_MEMORY",
    ERR_NUMERICAL: "FG_ERR_NUMERICAL",
    ERR_INTERNAL: "FG_ERR_INTERNAL",
}

# Activations (FG_ACT_*).
ACT_RELU = 0
ACT_LEAKY_RELU = 1
ACT_TANH = 2
ACT_SIGMOID = 3
ACT_ELU = 4
ACT_SELU = 5
ACT_GELU = 6
ACT_SILU = 7
ACT_SOFTPLUS = 8

# Tasks (FG_TASK_*).
TASK_REGRESSION = 0
TASK_CLASSIFICATION = 1

# Optimizers (FG_OPTIM_*).
OPTIM_ADAM = 0
OPTIM_ADAMW = 1
OPTIM_SGD = 2

#: Names accepted by MLP(activation=...), case-insensitive, "-" and " " read as "_".
ACTIVATIONS = {
    "relu": ACT_RELU,
    "leaky_relu": ACT_LEAKY_RELU,
    "tanh": ACT_TANH,
    "sigmoid": ACT_SIGMOID,
    "elu": ACT_ELU,
    "selu": ACT_SELU,
    "gelu": ACT_GELU,
    "silu": ACT_SILU,
    "swish": ACT_SILU,
    "softplus": ACT_SOFTPLUS,
}

#: Names accepted by MLP(task=...).
TASKS = {
    "regression": TASK_REGRESSION,
    "classification": TASK_CLASSIFICATION,
}

#: Names accepted by MLP(optimizer=...).
OPTIMIZERS = {
    "adam": OPTIM_ADAM,
    "adamw": OPTIM_ADAMW,
    "sgd": OPTIM_SGD,
}

# The model families declare their FG_* values beside their ctypes signatures (_sig_<family>.py);
# re-export every integer constant here so that flowgen.constants mirrors all of flowgen.h.
from . import _sig_fm, _sig_gfn, _sig_graph  # noqa: E402

for _module in (_sig_gfn, _sig_fm, _sig_graph):
    for _name, _value in vars(_module).items():
        if _name.isupper() and isinstance(_value, int) and not isinstance(_value, bool):
            globals().setdefault(_name, _value)
del _module, _name, _value
