"""Where numba caches the compiled kernels, when it finds no place of its own.

numba caches a ``cache=True`` function where ``NUMBA_CACHE_DIR`` says if it is set, else
in the ``__pycache__`` next to its source, else in the user's cache directory
(``~/.cache/numba``). When none of them can be written (a read-only installation run by a
user without a writable home: a container's non-root user, a Nix store, a serverless
function), numba refuses to define the function at all, and importing the kernels raised
"cannot cache function ...: no locator available". Then sgdlogit caches its own kernels in
a directory of the user's own under the temporary directory, and if that cannot be
written either, compiles them in every process (with a warning), rather than failing.
"""

import getpass
import os
import stat
import tempfile
import warnings

from numba.core import caching

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def private_cache_root():
    """The fallback cache directory: the temporary directory's, one per user."""
    user = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
    return os.path.join(tempfile.gettempdir(), f"sgdlogit-numba-cache-{user}")


def _ensure_private_directory(path):
    """Create ``path`` for this user only; an OSError unless it is private to them.

    Private: a directory of theirs that nobody else can write. numba's cache files are
    pickles, loaded as they are: a directory under a shared temporary directory that
    someone else created (or could write) would let them run code in this process.
    """
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(path)
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
        raise PermissionError(f"{path} is not private to this user")


def _fallback_locator_class():
    # recent numba (0.68) names its locators without the leading underscore of older ones
    user_wide = getattr(caching, "UserWideCacheLocator", None) or caching._UserWideCacheLocator

    class PrivateTempCacheLocator(user_wide):
        """numba's user-wide locator rooted in :func:`private_cache_root`, for sgdlogit."""

        def __init__(self, py_func, py_file):
            super().__init__(py_func, py_file)
            subpath = self.get_suitable_cache_subpath(py_file)
            self._cache_path = os.path.join(private_cache_root(), subpath)

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != _PACKAGE_DIR:
                return None  # another library's function: numba's own rules apply
            try:
                _ensure_private_directory(private_cache_root())
            except OSError:
                return None
            return super().from_function(py_func, py_file)

    return PrivateTempCacheLocator


def _numba_finds_a_cache(py_file):
    """Whether numba would cache a function defined in ``py_file``."""
    namespace = {}
    exec(compile("def probe():\n    pass\n", py_file, "exec"), namespace)
    try:
        caching.FunctionCache(namespace["probe"])
    except RuntimeError:  # "no locator available"
        return False
    return True


# Whether numba can cache, per directory of modules of kernels (the answer, and the
# warning, once for every module of the package).
_CACHING_POSSIBLE = {}


def caching_possible(py_file):
    """Make sure numba can cache the functions of ``py_file``; False if it cannot.

    Called by each module of kernels before they are defined, so that their decorators
    get ``cache=False`` rather than an error. Worked out once per directory.
    """
    directory = os.path.dirname(os.path.abspath(py_file))
    if directory not in _CACHING_POSSIBLE:
        _CACHING_POSSIBLE[directory] = _make_caching_possible(py_file)
    return _CACHING_POSSIBLE[directory]


def _make_caching_possible(py_file):
    try:
        if _numba_finds_a_cache(py_file):
            return True
        implementation = caching.FunctionCache._impl_class
        locator = _fallback_locator_class()
        # on the class that caches jitted functions, after numba's own locators
        implementation._locator_classes = [*implementation._locator_classes, locator]
        if _numba_finds_a_cache(py_file):
            return True
    except AttributeError:
        # numba's caching internals have moved: leave caching to numba, as it would be
        # without this module
        return True
    warnings.warn(
        "numba cannot cache sgdlogit's compiled kernels: neither the installation "
        f"directory, nor the user's cache directory, nor {private_cache_root()} is "
        "writable. They will be compiled in every process, which takes seconds; set "
        "NUMBA_CACHE_DIR to a writable directory to avoid that.",
        RuntimeWarning,
        stacklevel=3,
    )
    return False
