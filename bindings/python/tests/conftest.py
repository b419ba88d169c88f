"""Shared fixtures: the package under test (this checkout's bindings/python), data sets, and a
small pure-numpy safetensors reader used by several test files."""
import json
import os
import sys

import numpy as np
import pytest

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_ROOT))
# Test this checkout's sources, not an installed copy.
sys.path.insert(0, PACKAGE_ROOT)

import flowgen  # noqa: E402


def header_path():
    return os.environ.get("FLOWGEN_HEADER", os.path.join(REPO_ROOT, "include", "flowgen.h"))


@pytest.fixture(scope="session")
def lib():
    """The loaded library (fails with the list of places tried if it cannot be found)."""
    return flowgen._lib.get_lib()


@pytest.fixture(scope="session")
def header_text():
    path = header_path()
    if not os.path.exists(path):
        pytest.skip("flowgen.h not found at %s (set FLOWGEN_HEADER)" % path)
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def regression_data(n=512, seed=0):
    """x uniform in [-2, 2]^2, y = sin(x0) cos(x1) + 0.3 x0: [n, 2] -> [n, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 2)).astype(np.float32)
    y = (np.sin(x[:, 0]) * np.cos(x[:, 1]) + 0.3 * x[:, 0]).astype(np.float32)[:, None]
    return x, y


def spiral_data(points_per_class=100, classes=3, seed=0):
    """The classic 3-arm spiral (CS231n): x [n, 2], y class ids [n] (int64)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label in range(classes):
        radius = np.linspace(0.0, 1.0, points_per_class)
        theta = (np.linspace(label * 4.0, (label + 1) * 4.0, points_per_class)
                 + rng.normal(0.0, 0.2, points_per_class))
        xs.append(np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=1))
        ys.append(np.full(points_per_class, label))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)


_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8,
           "I16": np.int16, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "U16": np.uint16,
           "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_}


def read_safetensors(path):
    """Minimal independent safetensors reader: (tensors dict, metadata dict).

    Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON
    {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
    then the data buffer; offsets are relative to the buffer and must tile it without holes.
    """
    with open(path, "rb") as handle:
        blob = handle.read()
    assert len(blob) >= 8, "file shorter than the length prefix"
    header_len = int.from_bytes(blob[:8], "little")
    assert 8 + header_len <= len(blob), "header runs past the end of the file"
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()), metadata
    buffer = memoryview(blob)[8 + header_len:]
    tensors = {}
    spans = []
    for name, info in header.items():
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        shape = tuple(int(d) for d in info["shape"])
        begin, end = (int(v) for v in info["data_offsets"])
        assert 0 <= begin <= end <= len(buffer), (name, begin, end, len(buffer))
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        assert end - begin == count * dtype.itemsize, (name, shape, begin, end)
        tensors[name] = np.frombuffer(buffer[begin:end], dtype=dtype).reshape(shape).copy()
        spans.append((begin, end))
    spans.sort()
    position = 0
    for begin, end in spans:
        assert begin == position, "hole or overlap in the data buffer at byte %d" % position
        position = end
    assert position == len(buffer), "data buffer has %d unindexed trailing bytes" % (
        len(buffer) - position)
    return tensors, metadata


def write_safetensors_raw(path, header, buffer):
    """Writes a safetensors file from a header dict and raw buffer bytes (no validation)."""
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as handle:
        handle.write(len(text).to_bytes(8, "little"))
        handle.write(text)
        handle.write(buffer)


def split_safetensors(path):
    """(header dict including __metadata__, data buffer bytes) of a file, for crafting bad files."""
    with open(path, "rb") as handle:
        blob = handle.read()
    header_len = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + header_len].decode("utf-8")), blob[8 + header_len:]


def layer_weights(tensors):
    """[(W [out, in], b [out]), …] in layer order from the "layers.<i>.weight/bias" tensors."""
    indices = sorted({int(name.split(".")[1]) for name in tensors
                      if name.startswith("layers.") and name.count(".") == 2
                      and name.split(".")[1].isdigit()})
    assert indices == list(range(len(indices))), indices
    return [(tensors["layers.%d.weight" % i], tensors["layers.%d.bias" % i]) for i in indices]


# ---- the `flowgen` command (the release build ./flowgen.sh test makes, or FLOWGEN_CLI) ----
CLI = os.environ.get("FLOWGEN_CLI", os.path.join(REPO_ROOT, ".build", "release", "flowgen"))


@pytest.fixture(scope="session")
def cli():
    """Path of the flowgen command; fails (not skips) when it has not been built."""
    if not os.path.exists(CLI):
        pytest.fail("flowgen CLI not found at %s: build it with `swift build -c release --product flowgen` "
                    "or set FLOWGEN_CLI" % CLI)
    return CLI


def run_cli(cli, *args, ok=True, timeout=300):
    """Runs `flowgen ARGS` on one BLAS thread; with ok=True asserts a zero exit (stderr in the message),
    with ok=False a non-zero one."""
    import subprocess
    result = subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    assert (result.returncode == 0) == ok, "flowgen %s exited %d:\n%s" % (" ".join(args), result.returncode,
                                                                         result.stderr[-2000:])
    return result


def last_json(result):
    """The JSON object on the last line of a command's stdout."""
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cora():
    """The bundled Cora graph (features, labels, public split), one per test module."""
    with flowgen.Graph.cora() as graph:
        yield graph
