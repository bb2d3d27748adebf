"""``python -m sgdlogit``: the demo on shipped datasets, on a CSV file, and its input errors."""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import ParameterGrid

from sgdlogit.__main__ import COLUMNS, _models, compare, main


@pytest.fixture
def csv_path(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    frame["label"] = np.where(y == 1, "yes", "no")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path, frame


def run(*args, cwd=None, timeout=60):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "sgdlogit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_default_run_prints_the_table_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    start = time.perf_counter()
    result = run(cwd=tmp_path)
    assert time.perf_counter() - start < 60
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for dataset in ("breast_cancer", "digits"):
        assert f"{dataset}: " in out
    assert out.count("SGDLogitClassifier  ") == 2
    assert out.count("LogisticRegression  ") == 2
    header = next(line for line in out.splitlines() if line.startswith("model"))
    assert header.split("  ")[0] == "model"
    for column in COLUMNS:
        assert column in header
    assert (tmp_path / "sgdlogit_loss_curve.png").stat().st_size > 0
    assert "Traceback" not in result.stderr


def test_csv(csv_path, capsys):
    path, _ = csv_path
    assert main(["--csv", str(path), "--target", "label", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert f"{path}: 120 samples, 4 features, 2 classes" in out
    rows = [line for line in out.splitlines() if line.startswith(("SGDLogit", "Logistic"))]
    assert len(rows) == 2
    test_accuracy = float(rows[0].split()[-4])
    assert 0.5 < test_accuracy <= 1.0


def test_each_row_says_how_many_candidates_its_search_timed():
    # the grids differ in size: the search times compare only with their counts beside them
    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    rows = compare(X, y)
    sizes = [len(ParameterGrid(grid)) for _, _, grid in _models(0)]
    assert [row["candidates"] for row in rows] == sizes
    assert len(set(sizes)) > 1


@pytest.mark.parametrize("name, written", [("curves.png", "curves.png"), ("curves", "curves.png")])
def test_csv_plot(csv_path, tmp_path, capsys, name, written):
    # a path without an extension gets matplotlib's default format, PNG
    pytest.importorskip("matplotlib")
    path, _ = csv_path
    assert main(["--csv", str(path), "--target", "label", "--plot", str(tmp_path / name)]) == 0
    assert (tmp_path / written).stat().st_size > 0
    # the file written, not the name given (the line said "written to curves")
    assert f"loss curves written to {tmp_path / written}\n" in capsys.readouterr().out


def write(tmp_path, frame):
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing file", "no such file"),
        ("missing column", "column 'nope' not in"),
        ("non-numeric", "non-numeric feature column(s)"),
        ("missing values", "missing values"),
        ("continuous target", "'continuous', not a set of classes"),
        ("tiny class", "every class needs at least 4"),
        ("no features", "no feature column"),
        ("empty file", "cannot read"),
        # these ran every fit of the search and ended with an empty message, tracebacks on
        # stderr or the wrong reason
        ("single class", "has a single class (1)"),
        ("infinite value", "infinite values in"),
        # every fit failed on the NaN StandardScaler made, after 240 lines of warnings
        ("huge values", "values too large to standardize in"),
        ("header only", "has a header line but no rows"),
        ("numpy label", "class 1 of column 'label' has 3 sample(s)"),
    ],
)
def test_bad_csv_gives_one_line_error(csv_path, tmp_path, capsys, case, message):
    _, frame = csv_path
    path, target = str(tmp_path / "data.csv"), "label"
    if case == "missing file":
        path = str(tmp_path / "absent.csv")
    elif case == "missing column":
        target = "nope"
    elif case == "non-numeric":
        path = write(tmp_path, frame.assign(x1="a"))
    elif case == "missing values":
        path = write(tmp_path, frame.assign(x2=frame["x2"].where(frame.index != 3)))
    elif case == "continuous target":
        path = write(tmp_path, frame.assign(label=np.linspace(0, 1, len(frame))))
    elif case == "tiny class":
        labels = frame["label"].copy()
        labels.iloc[:2] = "rare"
        path = write(tmp_path, frame.assign(label=labels))
    elif case == "no features":
        path = write(tmp_path, frame[["label"]])
    elif case == "empty file":
        (tmp_path / "empty.csv").write_text("")
        path = str(tmp_path / "empty.csv")
    elif case == "single class":
        path = write(tmp_path, frame.assign(label=1))
    elif case == "infinite value":
        path = write(tmp_path, frame.assign(x2=frame["x2"].where(frame.index != 3, np.inf)))
    elif case == "huge values":
        path = write(tmp_path, frame.assign(x2=frame["x2"] * 1e300))
    elif case == "header only":
        path = write(tmp_path, frame.iloc[:0])
    elif case == "numpy label":
        path = write(tmp_path, frame.assign(label=np.arange(len(frame)) % 2).iloc[:7])
    assert main(["--csv", path, "--target", target, "--no-plot"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("python -m sgdlogit: error: ")
    assert message in err
    assert captured.out == ""


def test_the_installed_command_names_itself():
    # its usage and errors said "python -m sgdlogit"
    command = shutil.which("sgdlogit", path=os.path.dirname(sys.executable))
    if command is None:
        pytest.skip("the sgdlogit command is not installed next to this Python")
    result = subprocess.run(
        [command, "--bogus"], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: sgdlogit ")
    assert "\nsgdlogit: error: unrecognized arguments: --bogus" in result.stderr


def test_bad_csv_from_the_command_line(tmp_path):
    result = run("--csv", str(tmp_path / "absent.csv"), "--target", "y")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"python -m sgdlogit: error: no such file: {tmp_path / 'absent.csv'}"
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--csv", "data.csv"], "go together"),
        (["--target", "y"], "go together"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--bogus"], "unrecognized arguments"),
        # refused before the comparison runs, not after it (or as a fault of the data)
        (["--n-jobs", "0"], "--n-jobs must not be 0"),
        (["--random-state", "-1"], "--random-state must be between"),
        (["--plot", "no/such/dir/curves.png"], "no such directory"),
        (["--plot", "curves.xyz"], "unsupported image format 'xyz'"),
        # --no-plot won silently
        (["--plot", "curves.png", "--no-plot"], "not allowed with argument --plot"),
    ],
)
def test_bad_arguments(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in err


@pytest.mark.parametrize("name", ["plots/", "curves.png"])
def test_plot_path_that_is_a_directory_is_refused_up_front(tmp_path, capsys, name):
    # a directory got a hidden ".png" inside it, or a traceback after the whole comparison
    (tmp_path / "plots").mkdir()
    (tmp_path / "curves.png").mkdir()
    with pytest.raises(SystemExit) as exc:
        main(["--plot", os.path.join(str(tmp_path), name)])  # pathlib drops the "/"
    assert exc.value.code == 2
    assert "is a directory" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["curves.png", "plots"]
    assert not any((tmp_path / "plots").iterdir())


def test_plot_that_cannot_be_written_is_a_one_line_error(csv_path, tmp_path, capsys, monkeypatch):
    # what the checks up front cannot foresee (/proc, a full disk) came as a traceback
    pytest.importorskip("matplotlib")
    import sgdlogit.__main__ as cli

    def refuse(results, path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(cli, "plot_loss_curves", refuse)
    path, _ = csv_path
    plot = str(tmp_path / "curves.png")
    assert main(["--csv", str(path), "--target", "label", "--plot", plot]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"python -m sgdlogit: error: --plot {plot}: Permission denied"]


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--csv", "--target", "--n-jobs", "--threads", "--random-state", "--plot"):
        assert option in out
    assert "--no-plot" in out
    assert "breast_cancer" in out


def test_console_script():
    script = shutil.which("sgdlogit")
    if script is None:
        pytest.skip("the sgdlogit console script is not installed")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("sgdlogit ")
