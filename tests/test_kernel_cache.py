"""Kernels compile and cache where numba finds no writable cache directory of its own.

Each test runs a fit in a fresh process, on a copy of the package whose ``__pycache__`` is
a file and with a cache home under a file, so that numba's own places fail even for root.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sgdlogit

FIT_SCRIPT = textwrap.dedent(
    """
    import json, warnings
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import scale

    X, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import sgdlogit
        from sgdlogit import SGDLogitClassifier, _kernels

        clf = SGDLogitClassifier(max_iter=3, tol=None, random_state=0).fit(scale(X), y)
    print(json.dumps({
        "package": sgdlogit.__file__,
        "score": clf.score(scale(X), y),
        "cache": _kernels.CACHE,
        "hits": sum(_kernels.dense_epoch.stats.cache_hits.values()),
        "warnings": [str(w.message) for w in caught if "numba" in str(w.message)],
    }))
    """
)


@pytest.fixture
def unwritable_numba_places(tmp_path):
    """A package copy and an environment where numba has nowhere to cache."""
    package = tmp_path / "site" / "sgdlogit"
    shutil.copytree(
        Path(sgdlogit.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    (package / "__pycache__").write_text("a file, not a directory")  # no in-tree cache
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.update(
        PYTHONPATH=str(package.parent),
        HOME=str(blocker / "home"),  # no user-wide cache (~/.cache/numba) either
        XDG_CACHE_HOME=str(blocker / "cache"),
    )
    return package, env


def fit_in_fresh_process(env, tmpdir):
    result = subprocess.run(
        [sys.executable, "-c", FIT_SCRIPT],
        env={**env, "TMPDIR": str(tmpdir)},
        cwd=tmpdir,  # not a checkout, whose package would come first on sys.path
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def private_root(tmpdir):
    user = os.getuid() if hasattr(os, "getuid") else None
    return Path(tmpdir) / f"sgdlogit-numba-cache-{user}"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership checks")
def test_kernels_cache_in_a_private_temporary_directory(unwritable_numba_places, tmp_path):
    package, env = unwritable_numba_places
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    first = fit_in_fresh_process(env, tmpdir)
    assert Path(first["package"]).parent == package  # the copy, not the installed package
    assert first["cache"] is True and first["warnings"] == []
    assert first["score"] > 0.95
    root = private_root(tmpdir)
    assert oct(root.stat().st_mode & 0o077) == "0o0"  # nobody else can read or write it
    assert list(root.rglob("*.nbi")), "no cache index written"
    again = fit_in_fresh_process(env, tmpdir)
    assert again["hits"] >= 1  # loaded from the cache, not compiled again
    assert again["score"] == first["score"]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX ownership checks")
@pytest.mark.parametrize("taken_by", ["file", "shared-directory"])
def test_kernels_compile_uncached_with_a_warning_where_nothing_is_writable(
    unwritable_numba_places, tmp_path, taken_by
):
    """A fallback directory that is not private to the user is not used (others could
    plant pickles there, which numba would load): the kernels compile in the process."""
    _, env = unwritable_numba_places
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    root = private_root(tmpdir)
    if taken_by == "file":
        root.write_text("not a directory")
    else:
        root.mkdir()
        root.chmod(0o777)  # anyone may write there
    result = fit_in_fresh_process(env, tmpdir)
    assert result["cache"] is False and result["hits"] == 0
    assert result["score"] > 0.95
    if taken_by == "shared-directory":
        assert not any(root.iterdir())
    [warning] = result["warnings"]
    assert "numba cannot cache sgdlogit's compiled kernels" in warning
    assert "NUMBA_CACHE_DIR" in warning


def test_caching_is_left_to_numba_when_its_internals_move(monkeypatch):
    """A numba whose caching classes are named otherwise gets cache=True, as before."""
    from numba.core import caching

    from sgdlogit import _kernel_cache

    monkeypatch.delattr(caching, "FunctionCache")
    assert _kernel_cache.caching_possible(_kernel_cache.__file__) is True
