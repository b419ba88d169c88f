"""The C contract as seen through ctypes: every header function declared with matching types,
struct layout, versions, statuses, thread-local errors, and NULL/size misuse of the raw API."""
import ctypes
import os
import re
import shutil
import subprocess
import threading

import numpy as np
import pytest

import flowgen
from flowgen import _lib as L
from flowgen import constants as C

from conftest import header_path


# ------------------------------------------------------------------------------------------------
# Header parsing
# ------------------------------------------------------------------------------------------------

def _strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#[^\n]*(\\\n[^\n]*)*", " ", text, flags=re.M)
    return text


def parse_functions(text):
    """{name: (return type, [parameter types])} for every function declared in the header."""
    body = _strip(text).replace('extern "C" {', " ")
    functions = {}
    for statement in body.split(";"):
        statement = " ".join(statement.split())
        if not statement or statement.startswith("typedef") or statement.startswith("}"):
            continue
        match = re.fullmatch(r"(.+?)\b(fg_\w+)\s*\((.*)\)", statement)
        if not match:
            continue
        restype, name, params = match.groups()
        params = [p.strip() for p in params.split(",")] if params.strip() not in ("", "void") else []
        # drop the parameter name: the last identifier, unless the parameter is only a type
        types = []
        for param in params:
            m = re.fullmatch(r"(.*?[\s\*])(\w+)", param)
            types.append(" ".join(m.group(1).replace("*", " * ").split()) if m else param)
        functions[name] = (" ".join(restype.replace("*", " * ").split()), types)
    return functions


def parse_defines(text):
    return {name: value for name, value in
            re.findall(r"^\s*#define\s+(FG_\w+|FLOWGEN_VERSION_\w+)\s+(-?\d+)\b", text, flags=re.M)}


_SCALARS = {"size_t": ctypes.c_size_t, "uint32_t": ctypes.c_uint32, "uint64_t": ctypes.c_uint64,
            "int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64, "uint8_t": ctypes.c_uint8,
            "double": ctypes.c_double, "fg_status": ctypes.c_int32, "float": ctypes.c_float,
            "fg_mlp_params": L.MLPParams, "fg_progress_fn": L.ProgressFn}


def _struct_ctype(base):
    """ctypes class of a struct type: registered in _lib.C_TYPES, or the return type of the matching
    fg_<obj>_default_params / fg_<obj>_default_<name> function."""
    registered = getattr(L, "C_TYPES", {})
    if base in registered:
        return registered[base]
    if base in _SCALARS:
        return _SCALARS[base]
    if base.endswith("_params"):
        default = base[: -len("_params")] + "_default_params"
        if default in L.SIGNATURES:
            return L.SIGNATURES[default][0]
    return None


_HEADER_STRUCTS = {}  # complete struct typedefs of the header: name -> number of fields (filled below)


class _AnyStruct:
    """Matches a ctypes Structure with the same number of fields as the header's struct."""

    def __init__(self, name, fields):
        self.name, self.fields = name, fields

    def __eq__(self, other):
        return (isinstance(other, type) and issubclass(other, ctypes.Structure)
                and len(other._fields_) == self.fields)

    def __repr__(self):
        return "<struct %s with %d fields>" % (self.name, self.fields)


class _AnyStructPointer(_AnyStruct):
    def __eq__(self, other):
        target = getattr(other, "_type_", None)
        return isinstance(target, type) and _AnyStruct.__eq__(self, target)


class _AnyCallback:
    """Matches any ctypes function-pointer type (callback typedefs named fg_*_fn)."""

    def __eq__(self, other):
        return hasattr(other, "_argtypes_") and hasattr(other, "_restype_")


def expected_ctype(c_type):
    """The ctypes type a C type must be declared as (None for void)."""
    words = c_type.replace("const", " ").split()
    stars = words.count("*")
    base = " ".join(w for w in words if w != "*")
    struct = _struct_ctype(base)
    if struct is None and base in _HEADER_STRUCTS:
        if stars == 0:
            return _AnyStruct(base, _HEADER_STRUCTS[base])
        if stars == 1:
            return _AnyStructPointer(base, _HEADER_STRUCTS[base])
    if stars == 0:
        if base == "void":
            return None
        if struct is not None:
            return struct
        if base.startswith("fg_") and base.endswith("_fn"):
            return _AnyCallback()
        return _SCALARS[base]
    if stars == 1 and base == "char":
        return ctypes.c_char_p
    if stars == 1 and struct is not None:
        return ctypes.POINTER(struct)
    if stars == 1 and (base == "void" or base.startswith("fg_")):
        return ctypes.c_void_p  # opaque handles / user data: full-width pointers
    if stars == 2 and base.startswith("fg_") and struct is None:
        return ctypes.POINTER(ctypes.c_void_p)
    raise AssertionError("no mapping for C type %r" % c_type)


def test_header_parser_sees_all_functions(header_text):
    functions = parse_functions(header_text)
    # sanity of the parser itself: a few known declarations with their arity
    assert len(functions["fg_mlp_fit"][1]) == 10
    assert functions["fg_last_error"] == ("const char *", [])
    assert functions["fg_mlp_free"] == ("void", ["fg_mlp *"])
    assert "fg_progress_fn" not in functions  # a typedef, not a function
    assert len(functions) >= 19


def parse_structs(text):
    """{name: field count} for every `typedef struct fg_x { ... } fg_x;` of the header."""
    body = _strip(text)
    return {name: fields.count(";") for name, fields in
            re.findall(r"typedef\s+struct\s+(fg_\w+)\s*\{(.*?)\}\s*\1\s*;", body, flags=re.S)}


def test_every_header_function_is_declared_with_matching_types(header_text):
    _HEADER_STRUCTS.update(parse_structs(header_text))
    functions = parse_functions(header_text)
    assert sorted(functions) == sorted(L.SIGNATURES), (
        "missing in _lib.py: %s; not in header: %s" % (
            sorted(set(functions) - set(L.SIGNATURES)), sorted(set(L.SIGNATURES) - set(functions))))
    for name, (c_restype, c_params) in functions.items():
        restype, argtypes = L.SIGNATURES[name]
        expected = expected_ctype(c_restype)
        assert restype is expected or expected == restype, (name, c_restype, restype)
        assert len(argtypes) == len(c_params), (name, c_params, argtypes)
        for c_param, argtype in zip(c_params, argtypes):
            expected = expected_ctype(c_param)
            assert expected == argtype, (name, c_param, argtype)


def test_loaded_library_functions_carry_the_declarations(lib):
    for name, (restype, argtypes) in L.SIGNATURES.items():
        function = getattr(lib, name)
        assert function.restype == restype, name
        assert list(function.argtypes) == list(argtypes), name


def test_defines_match_python_constants(header_text):
    defines = parse_defines(header_text)
    checked = 0
    for name, value in defines.items():
        if name.startswith("FG_"):
            python_name = name[3:]
            assert getattr(C, python_name) == int(value), name
            checked += 1
    assert checked >= 16 + 9 + 2 + 3
    for status in range(16):
        assert C.STATUS_NAMES[status] in defines or status == 0


def test_params_struct_layout_matches_the_c_compiler():
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler")
    fields = [name for name, _ in L.MLPParams._fields_]
    source = '#include <stdio.h>\n#include <stddef.h>\n#include "flowgen.h"\nint main(void) {\n'
    source += '  printf("size %zu\\n", sizeof(fg_mlp_params));\n'
    for field in fields:
        source += '  printf("%s %%zu %%zu\\n", offsetof(fg_mlp_params, %s), ' \
                  'sizeof(((fg_mlp_params *)0)->%s));\n' % (field, field, field)
    source += "  return 0;\n}\n"
    workdir = os.path.join(os.environ.get("TMPDIR", "/tmp"), "flowgen-layout-%d" % os.getpid())
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "layout.c"), "w") as handle:
        handle.write(source)
    exe = os.path.join(workdir, "layout")
    subprocess.run([compiler, "-I", os.path.dirname(header_path()), "-o", exe,
                    os.path.join(workdir, "layout.c")], check=True)
    lines = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split("\n")
    shutil.rmtree(workdir, ignore_errors=True)
    assert lines[0] == "size %d" % ctypes.sizeof(L.MLPParams)
    for line, field in zip(lines[1:], fields):
        name, offset, size = line.split()
        descriptor = getattr(L.MLPParams, field)
        assert (name, int(offset), int(size)) == (field, descriptor.offset, descriptor.size)


def test_default_params(lib):
    params = lib.fg_mlp_default_params()
    assert params.struct_size == ctypes.sizeof(L.MLPParams)
    assert (params.activation, params.task, params.optimizer) == (
        C.ACT_RELU, C.TASK_REGRESSION, C.OPTIM_ADAM)
    assert params.seed == 0
    assert params.learning_rate == pytest.approx(1e-3)
    assert (params.weight_decay, params.grad_clip_norm, params.batch_size) == (0.0, 0.0, 0)


# ------------------------------------------------------------------------------------------------
# Global functions
# ------------------------------------------------------------------------------------------------

def test_version_matches_header(header_text):
    defines = parse_defines(header_text)
    major, minor, patch = (int(defines["FLOWGEN_VERSION_" + k]) for k in ("MAJOR", "MINOR", "PATCH"))
    assert flowgen.version() == "%d.%d.%d" % (major, minor, patch)
    assert flowgen.version_number() == major * 10000 + minor * 100 + patch


def test_status_names(lib):
    for status, name in C.STATUS_NAMES.items():
        assert flowgen.status_name(status) == name
    for unknown in (16, 99, -1, 2**31 - 1):
        assert flowgen.status_name(unknown) == "FG_ERR_UNKNOWN_STATUS"


def test_last_error_is_never_null(lib):
    assert lib.fg_last_error() is not None


def test_num_threads_round_trip_and_validation():
    before = flowgen.get_num_threads()
    assert before >= 1
    try:
        flowgen.set_num_threads(1)
        assert flowgen.get_num_threads() == 1
        for bad in (0, -1, 1025, 2**40):
            with pytest.raises(flowgen.FlowgenError) as info:
                flowgen.set_num_threads(bad)
            assert info.value.status == C.ERR_INVALID_ARGUMENT
            assert info.value.message
            assert flowgen.get_num_threads() == 1
    finally:
        flowgen.set_num_threads(before)
    assert flowgen.get_num_threads() == before


def test_blas_core_name():
    name = flowgen.blas_core_name()
    assert isinstance(name, str) and name


def test_last_error_is_thread_local(lib):
    with pytest.raises(flowgen.FlowgenError):
        flowgen.set_num_threads(0)
    mine = lib.fg_last_error()
    assert mine
    other = {}

    def fail_elsewhere():
        status = lib.fg_mlp_load(b"/nonexistent/flowgen/other-thread.safetensors",
                                 ctypes.byref(ctypes.c_void_p()))
        other["status"] = status
        other["message"] = lib.fg_last_error()

    thread = threading.Thread(target=fail_elsewhere)
    thread.start()
    thread.join()
    assert other["status"] == C.ERR_IO and other["message"]
    assert lib.fg_last_error() == mine


# ------------------------------------------------------------------------------------------------
# Raw fg_mlp misuse: NULLs, struct_size, buffer sizes, *out on failure
# ------------------------------------------------------------------------------------------------

def _create(lib, sizes=(2, 4, 1), params=None):
    array = (ctypes.c_uint32 * len(sizes))(*sizes)
    out = ctypes.c_void_p()
    status = lib.fg_mlp_create(array, len(sizes), params, ctypes.byref(out))
    assert status == C.OK, lib.fg_last_error()
    return out.value


def _expect(lib, status, expected):
    assert status == expected, (status, expected, lib.fg_last_error())
    assert lib.fg_last_error(), "empty fg_last_error() after status %d" % status


def test_create_null_arguments_and_out_reset(lib):
    sizes = (ctypes.c_uint32 * 2)(2, 1)
    out = ctypes.c_void_p(0x1234)
    _expect(lib, lib.fg_mlp_create(None, 2, None, ctypes.byref(out)), C.ERR_NULL_ARGUMENT)
    assert out.value is None, "*out must be NULL after a failed create"
    _expect(lib, lib.fg_mlp_create(sizes, 2, None, None), C.ERR_NULL_ARGUMENT)
    out = ctypes.c_void_p(0x1234)
    _expect(lib, lib.fg_mlp_create(sizes, 1, None, ctypes.byref(out)), C.ERR_INVALID_ARGUMENT)
    assert out.value is None


def test_create_with_null_params_uses_defaults(lib):
    handle = _create(lib, (3, 5, 2), None)
    try:
        assert lib.fg_mlp_input_dim(handle) == 3
        assert lib.fg_mlp_output_dim(handle) == 2
        assert lib.fg_mlp_parameter_count(handle) == 3 * 5 + 5 + 5 * 2 + 2
        assert lib.fg_mlp_step(handle) == 0
    finally:
        lib.fg_mlp_free(handle)


@pytest.mark.parametrize("struct_size", [0, 4, 39])  # 39: no header can have that sizeof
def test_create_rejects_unknown_struct_size(lib, struct_size):
    params = lib.fg_mlp_default_params()
    params.struct_size = struct_size
    sizes = (ctypes.c_uint32 * 2)(2, 1)
    out = ctypes.c_void_p(0x1234)
    _expect(lib, lib.fg_mlp_create(sizes, 2, ctypes.byref(params), ctypes.byref(out)),
            C.ERR_STRUCT_SIZE)
    assert out.value is None


def test_free_and_getters_accept_null(lib):
    lib.fg_mlp_free(None)
    assert lib.fg_mlp_input_dim(None) == 0
    assert lib.fg_mlp_output_dim(None) == 0
    assert lib.fg_mlp_parameter_count(None) == 0
    assert lib.fg_mlp_step(None) == 0


def test_fit_predict_evaluate_null_arguments(lib):
    handle = _create(lib)
    f = ctypes.POINTER(ctypes.c_float)
    x = np.zeros((3, 2), np.float32)
    y = np.zeros(3, np.float32)
    xp, yp = x.ctypes.data_as(f), y.ctypes.data_as(f)
    none = L.ProgressFn()
    n = ctypes.c_size_t()
    try:
        _expect(lib, lib.fg_mlp_fit(None, xp, 3, 2, yp, 3, 1, none, None, None), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_mlp_fit(handle, None, 3, 2, yp, 3, 1, none, None, None),
                C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_mlp_fit(handle, xp, 3, 2, None, 3, 1, none, None, None),
                C.ERR_NULL_ARGUMENT)
        assert lib.fg_mlp_step(handle) == 0
        # out_loss and progress are optional
        assert lib.fg_mlp_fit(handle, xp, 3, 2, yp, 3, 1, none, None, None) == C.OK
        assert lib.fg_mlp_step(handle) == 1
        _expect(lib, lib.fg_mlp_predict(None, xp, 3, 2, None, 0, ctypes.byref(n)),
                C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_mlp_predict(handle, None, 3, 2, None, 0, ctypes.byref(n)),
                C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_mlp_predict(handle, xp, 3, 2, None, 0, None), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_mlp_evaluate(None, xp, 3, 2, yp, 3, None, None), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_mlp_evaluate(handle, None, 3, 2, yp, 3, None, None),
                C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_mlp_evaluate(handle, xp, 3, 2, None, 3, None, None),
                C.ERR_NULL_ARGUMENT)
        assert lib.fg_mlp_evaluate(handle, xp, 3, 2, yp, 3, None, None) == C.OK
    finally:
        lib.fg_mlp_free(handle)


def test_predict_size_query_and_short_buffer(lib):
    handle = _create(lib, (2, 4, 3))
    f = ctypes.POINTER(ctypes.c_float)
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    needed = ctypes.c_size_t(0)
    try:
        assert lib.fg_mlp_predict(handle, x.ctypes.data_as(f), 5, 2, None, 0,
                                  ctypes.byref(needed)) == C.OK
        assert needed.value == 15
        short = np.full(14, -7.0, np.float32)
        needed.value = 0
        _expect(lib, lib.fg_mlp_predict(handle, x.ctypes.data_as(f), 5, 2, short.ctypes.data_as(f),
                                        14, ctypes.byref(needed)), C.ERR_BUFFER_TOO_SMALL)
        assert needed.value == 15
        full = np.empty(16, np.float32)
        full[15] = 42.0
        written = ctypes.c_size_t(0)
        assert lib.fg_mlp_predict(handle, x.ctypes.data_as(f), 5, 2, full.ctypes.data_as(f), 16,
                                  ctypes.byref(written)) == C.OK
        assert written.value == 15 and full[15] == 42.0  # nothing written past out_len
    finally:
        lib.fg_mlp_free(handle)


def test_save_load_null_arguments(lib, tmp_path):
    handle = _create(lib)
    path = str(tmp_path / "m.safetensors").encode()
    try:
        _expect(lib, lib.fg_mlp_save(None, path), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_mlp_save(handle, None), C.ERR_NULL_ARGUMENT)
        assert lib.fg_mlp_save(handle, path) == C.OK
        out = ctypes.c_void_p(0x1234)
        _expect(lib, lib.fg_mlp_load(None, ctypes.byref(out)), C.ERR_NULL_ARGUMENT)
        assert out.value is None
        _expect(lib, lib.fg_mlp_load(path, None), C.ERR_NULL_ARGUMENT)
        out = ctypes.c_void_p(0x1234)
        _expect(lib, lib.fg_mlp_load(path + b".missing", ctypes.byref(out)), C.ERR_IO)
        assert out.value is None
    finally:
        lib.fg_mlp_free(handle)


def test_library_exports_only_fg_symbols(lib):
    nm = shutil.which("nm")
    path = L.library_path()
    if nm is None or os.sep not in path:
        pytest.skip("needs nm and a library file path")
    result = subprocess.run([nm, "-D", "--defined-only", path], capture_output=True, text=True,
                            check=True)
    names = []
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        kind, name = line.split()[-2:]
        # global bindings only: upper-case kinds, or u/i/v/w; "A" is the version node (FLOWGEN_0);
        # lower-case t/d/b are local entries that cannot be bound to
        if (kind.isupper() or kind in "uivw") and kind != "A":
            names.append(name.split("@")[0])  # drop "@@FLOWGEN_0"
    foreign = [n for n in names if not n.startswith("fg_")]
    assert not foreign, "non-fg_ exported symbols: %s" % foreign[:20]
    assert set(L.SIGNATURES) <= set(names)


# ------------------------------------------------------------------------------------------------
# Library search (fresh interpreters, so the cached library does not interfere)
# ------------------------------------------------------------------------------------------------

def _run_python(code, **env):
    import sys
    from conftest import PACKAGE_ROOT
    full_env = dict(os.environ)
    full_env.pop("FLOWGEN_LIBRARY", None)
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r)\n" % PACKAGE_ROOT
                           + code], capture_output=True, text=True, env=full_env, timeout=60)


def test_flowgen_library_env_var_wins(lib):
    path = os.path.realpath(L.library_path())
    result = _run_python("import flowgen; print(flowgen.library_path()); print(flowgen.version())",
                         FLOWGEN_LIBRARY=path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [path, flowgen.version()]


def test_a_bad_flowgen_library_env_var_fails_clearly_without_fallback():
    result = _run_python(
        "import flowgen\n"
        "try:\n    flowgen.version()\n"
        "except ImportError as error:\n    print(type(error).__name__); print(error)\n",
        FLOWGEN_LIBRARY="/nonexistent/libflowgen.so")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("LibraryNotFoundError")
    assert "/nonexistent/libflowgen.so" in result.stdout and "FLOWGEN_LIBRARY" in result.stdout


def test_import_does_not_need_the_library():
    result = _run_python("import flowgen; print(flowgen.ERR_IO, flowgen.ACT_SELU)",
                         FLOWGEN_LIBRARY="/nonexistent/libflowgen.so")
    assert result.returncode == 0 and result.stdout.split() == ["9", "5"], result.stderr
