"""``python -m sgdlogit``: SGDLogitClassifier against LogisticRegression, side by side.

With no arguments, runs on two datasets scikit-learn ships (breast_cancer, digits); with
``--csv PATH --target COL``, on the numeric columns of a CSV file. Each model is a
``StandardScaler`` pipeline tuned by ``GridSearchCV`` on 75% of the data and scored on the
remaining 25%; the table shows the best parameters, the number of candidates searched, the
cross-validated accuracy, the test accuracy and log-loss, the time of the grid search and the
time to fit the best model.
"""

import argparse
import os
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target

from sgdlogit import SGDLogitClassifier, __version__

TEST_SIZE = 0.25
MAX_FOLDS = 5
COLUMNS = [
    "model",
    "best params",
    "candidates",
    "cv accuracy",
    "test accuracy",
    "test log-loss",
    "search (s)",
    "fit (s)",
]


class InputError(Exception):
    """Bad user input, reported as one line on stderr."""


def _models(random_state):
    """(name, pipeline, grid) of each model compared."""
    sgd = Pipeline(
        [("scale", StandardScaler()), ("clf", SGDLogitClassifier(random_state=random_state))]
    )
    lr = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))])
    return [
        (
            "SGDLogitClassifier",
            sgd,
            {"clf__alpha": [1e-4, 1e-3, 1e-2], "clf__batch_size": [16, 64]},
        ),
        ("LogisticRegression", lr, {"clf__C": [0.1, 1.0, 10.0]}),
    ]


def compare(X, y, n_jobs=None, random_state=0):
    """Grid-search every model on a train split and score it on the test split.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features.
    y : array-like of shape (n_samples,)
        Class labels.
    n_jobs : int, default=None
        Parallel jobs of each ``GridSearchCV``.
    random_state : int, default=0
        Seed of the split and of ``SGDLogitClassifier``.

    Returns
    -------
    rows : list of dict
        One row per model: the columns of the table, and the fitted best pipeline under
        ``'estimator'``.
    """
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=random_state
    )
    n_folds = min(MAX_FOLDS, int(np.unique(y_train, return_counts=True)[1].min()))
    rows = []
    for name, pipeline, grid in _models(random_state):
        search = GridSearchCV(pipeline, grid, cv=n_folds, n_jobs=n_jobs)
        start = time.perf_counter()
        search.fit(X_train, y_train)
        search_time = time.perf_counter() - start
        best = search.best_estimator_
        labels = best.classes_
        rows.append(
            {
                "model": name,
                "best params": ", ".join(
                    f"{key.removeprefix('clf__')}={value}"
                    for key, value in search.best_params_.items()
                ),
                # the search time covers this many candidates, n_folds fits each
                "candidates": len(search.cv_results_["params"]),
                "cv accuracy": search.best_score_,
                "test accuracy": best.score(X_test, y_test),
                "test log-loss": log_loss(y_test, best.predict_proba(X_test), labels=labels),
                "search (s)": search_time,
                "fit (s)": search.refit_time_,
                "estimator": best,
                "data": (X_train, y_train, X_test, y_test),
            }
        )
    return rows


def format_table(title, rows):
    """Render result rows as a fixed-width text table.

    Parameters
    ----------
    title : str
        First line of the table.
    rows : list of dict
        Rows as returned by :func:`compare`.

    Returns
    -------
    table : str
        The table, without a trailing newline.
    """
    cells = [
        [f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in COLUMNS]
        for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def load_csv(path, target):
    """Numeric features and the target column of a CSV file.

    Parameters
    ----------
    path : str
        Path of the CSV file (with a header line).
    target : str
        Name of the label column.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
        Every other column.
    y : ndarray of shape (n_samples,)
        The labels.

    Raises
    ------
    InputError
        When the file cannot be read, the column is missing, a feature is not numeric,
        a value is missing or too large to standardize, or the target is not a set of
        classes that can be split.
    """
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read {path} as CSV: {reason}") from None
    if target not in frame.columns:
        raise InputError(
            f"column {target!r} not in {path}; columns are: {', '.join(map(str, frame.columns))}"
        )
    y = frame.pop(target)
    if frame.shape[1] == 0:
        raise InputError(f"{path} has no feature column besides {target!r}")
    if frame.shape[0] == 0:
        raise InputError(f"{path} has a header line but no rows")
    non_numeric = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise InputError(
            f"non-numeric feature column(s) in {path}: {', '.join(non_numeric)}; encode them "
            "as numbers or drop them"
        )
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    if y.isna().any():
        missing.insert(0, str(target))
    if missing:
        raise InputError(
            f"missing values in {path}, column(s): {', '.join(missing)}; impute or drop them"
        )
    X = frame.to_numpy(dtype=np.float64)
    infinite = [str(c) for c in frame.columns[~np.isfinite(X).all(axis=0)]]
    if infinite:
        raise InputError(
            f"infinite values in {path}, column(s): {', '.join(infinite)}; replace or drop them"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # squares beyond the float range
        unscalable = [str(c) for c in frame.columns[~np.isfinite(X.var(axis=0))]]
    if unscalable:
        raise InputError(
            f"values too large to standardize in {path}, column(s): {', '.join(unscalable)} "
            "(their squares overflow); rescale them (e.g. to other units) or drop them"
        )
    y = y.to_numpy()
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise InputError(
            f"target column {target!r} is {kind!r}, not a set of classes; "
            "SGDLogitClassifier needs discrete labels"
        )
    labels, counts = np.unique(y, return_counts=True)
    if labels.shape[0] < 2:
        raise InputError(
            f"target column {target!r} has a single class ({labels[0]}); a classifier "
            "needs at least two"
        )
    # stratified 75/25 split, then at least 2 folds: 3 samples per class at the very least
    if counts.min() < 4:
        raise InputError(
            f"class {labels[counts.argmin()]} of column {target!r} has {counts.min()} "
            "sample(s); every class needs at least 4"
        )
    return X, y


def plot_loss_curves(results, path):
    """Save the loss curves of each dataset's best SGDLogitClassifier to a PNG file.

    The best pipeline's classifier is fitted again with the test split as ``X_val`` (the
    same training run, since the validation data is only monitored), to draw the test
    loss and accuracy per epoch next to the training loss.

    Parameters
    ----------
    results : list of (str, list of dict)
        Dataset name and the rows returned by :func:`compare`.
    path : str
        File to write.

    Returns
    -------
    path : str or None
        ``path``, or None when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from sklearn.base import clone

    from sgdlogit import LossCurveDisplay

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 3.8), squeeze=False)
    for ax, (name, rows) in zip(axes[0], results, strict=True):
        row = next(r for r in rows if r["model"] == "SGDLogitClassifier")
        X_train, y_train, X_test, y_test = row["data"]
        scaler, clf = row["estimator"][:-1], clone(row["estimator"][-1])
        clf.fit(scaler.transform(X_train), y_train, X_val=scaler.transform(X_test), y_val=y_test)
        LossCurveDisplay.from_estimator(
            clf,
            ax=ax,
            name=row["best params"],
            validation_kw={"label": "test loss"},
            score_kw={"label": "test accuracy"},
        )
        ax.set_title(f"{name}: SGDLogitClassifier")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def warm_up():
    """Compile (or load from numba's cache) the kernels used on dense float64 data.

    Returns
    -------
    seconds : float
        Time taken, which the timings of the table then leave out.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    start = time.perf_counter()
    for n_classes in (2, 3):
        SGDLogitClassifier(max_iter=2, tol=None).fit(X, np.arange(40) % n_classes)
    return time.perf_counter() - start


def _plot_file(path):
    """The file the plot goes to: matplotlib adds ``.png`` to a name without extension."""
    named = os.path.splitext(path)[1] or path.endswith((os.sep, "/"))  # a directory: refused
    return path if named else f"{path}.png"


def _plot_path_problem(path):
    """Why the plot cannot be written to ``path`` (see :func:`_plot_file`), or None.

    Checked before the comparison runs; None without matplotlib too, which skips the plot.
    """
    if path.endswith((os.sep, "/")) or os.path.isdir(path):
        return "is a directory; give a file name"
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return f"no such directory: {directory}"
    if not os.access(path if os.path.exists(path) else directory, os.W_OK):
        return "permission denied"
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    formats = Figure().canvas.get_supported_filetypes()
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    if extension not in formats:
        return f"unsupported image format {extension!r}; use one of {', '.join(sorted(formats))}"
    return None


def _program_name():
    """How the program was started: the installed ``sgdlogit`` command, or the module."""
    command = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    return "sgdlogit" if command == "sgdlogit" else "python -m sgdlogit"


def _parser():
    parser = argparse.ArgumentParser(
        prog=_program_name(),
        description=__doc__.split("\n\n", 1)[1].replace("``", ""),
        epilog="Also installed as the `sgdlogit` command. Bad input (missing file or "
        "column, no rows, non-numeric features, missing or infinite values, a continuous "
        "or single-class target, a class with fewer than 4 samples, a --plot path that "
        "cannot be written) exits with status 2 and a one-line error.",
    )
    parser.add_argument(
        "--csv",
        metavar="PATH",
        help="CSV file (with a header line) to use instead of the built-in datasets; every "
        "column but --target must be numeric",
    )
    parser.add_argument("--target", metavar="COL", help="label column of the CSV file")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help="parallel jobs of each GridSearchCV (default: 1; -1 for all cores)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS/OpenMP threads inside each fit (default: %(default)s, so both models "
        "are timed on one thread)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the train/test split and of SGDLogitClassifier (default: %(default)s)",
    )
    plotting = parser.add_mutually_exclusive_group()  # --no-plot silently won over --plot
    plotting.add_argument(
        "--plot",
        metavar="PNG",
        default="sgdlogit_loss_curve.png",
        help="where to write the loss curves of the best SGDLogitClassifier models (needs "
        "matplotlib; default: %(default)s)",
    )
    plotting.add_argument("--no-plot", action="store_true", help="do not write the plot")
    parser.add_argument("--version", action="version", version=f"sgdlogit {__version__}")
    return parser


def main(argv=None):
    """Run the comparison.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Exit status: 0 on success, 2 on bad input.
    """
    from threadpoolctl import threadpool_limits

    parser = _parser()
    args = parser.parse_args(argv)
    if (args.csv is None) != (args.target is None):
        parser.error("--csv and --target go together")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.n_jobs == 0:
        parser.error("--n-jobs must not be 0 (1 for one job, -1 for all cores)")
    if not 0 <= args.random_state < 2**32:
        parser.error("--random-state must be between 0 and 2**32 - 1")
    if not args.no_plot:
        args.plot = _plot_file(args.plot)
        problem = _plot_path_problem(args.plot)
        if problem:
            parser.error(f"--plot {args.plot}: {problem}")

    try:
        if args.csv is not None:
            datasets = [(args.csv, *load_csv(args.csv, args.target))]
        else:
            from sklearn.datasets import load_breast_cancer, load_digits

            datasets = [
                ("breast_cancer", *load_breast_cancer(return_X_y=True)),
                ("digits", *load_digits(return_X_y=True)),
            ]
    except InputError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2

    print(f"sgdlogit {__version__}: SGDLogitClassifier vs LogisticRegression")
    print("each in a StandardScaler pipeline, GridSearchCV on 75% of the data, tested on 25%")
    print(f"(numba kernels compiled or loaded in {warm_up():.1f} s, not included in the times)")
    results = []
    for name, X, y in datasets:
        try:
            with threadpool_limits(limits=args.threads):
                rows = compare(X, y, n_jobs=args.n_jobs, random_state=args.random_state)
        except ValueError as exc:
            # the first line that says something (GridSearchCV's start with a blank line)
            reason = next((line for line in str(exc).splitlines() if line.strip()), repr(exc))
            print(f"{parser.prog}: error: {name}: {reason.strip()}", file=sys.stderr)
            return 2
        n_classes = np.unique(y).shape[0]
        title = f"\n{name}: {X.shape[0]} samples, {X.shape[1]} features, {n_classes} classes"
        print(format_table(title, rows), flush=True)
        results.append((name, rows))
    if not args.no_plot:
        try:
            written = plot_loss_curves(results, args.plot)
        except OSError as exc:  # what the checks up front cannot foresee (/proc, a full disk)
            print(
                f"{parser.prog}: error: --plot {args.plot}: {exc.strerror or exc}", file=sys.stderr
            )
            return 2
        if written:
            print(f"\nloss curves written to {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
