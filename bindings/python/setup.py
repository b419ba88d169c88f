"""Build hook: bundle libflowgen.so into the installed package when one can be found.

All metadata lives in pyproject.toml. At build time this copies the shared library into
``flowgen/lib/`` of the build tree (never into the source tree) from, in order:
``$FLOWGEN_LIBRARY``, a copy already in ``flowgen/lib/`` (picked up as package data), or the
repository's ``build/lib/libflowgen.so`` (``scripts/build-lib.sh``). Set ``FLOWGEN_BUNDLE=0`` to
install the pure-Python package only; the library is then searched at run time (see flowgen/_lib.py).
"""
import glob
import os
import shutil

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _library_to_bundle():
    if os.environ.get("FLOWGEN_BUNDLE", "1") == "0":
        return None
    if glob.glob(os.path.join(HERE, "flowgen", "lib", "libflowgen.so*")):
        return None  # already shipped as package data
    candidates = [
        os.environ.get("FLOWGEN_LIBRARY"),
        os.path.join(HERE, "..", "..", "build", "lib", "libflowgen.so"),
    ]
    for path in candidates:
        if path and os.path.isfile(path):
            return os.path.realpath(path)
    return None


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        library = _library_to_bundle()
        if library is None:
            return
        destination = os.path.join(self.build_lib, "flowgen", "lib")
        os.makedirs(destination, exist_ok=True)
        # The loader opens the file by full path; the SONAME name is the conventional one.
        target = os.path.join(destination, "libflowgen.so.0")
        shutil.copyfile(library, target)
        os.chmod(target, 0o755)
        self.announce("bundled %s as %s" % (library, target), level=2)


class MaybeBinaryDistribution(Distribution):
    """Tags the wheel for this platform when it carries the native library."""

    def has_ext_modules(self):
        return _library_to_bundle() is not None or bool(
            glob.glob(os.path.join(HERE, "flowgen", "lib", "libflowgen.so*")))


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=MaybeBinaryDistribution)
