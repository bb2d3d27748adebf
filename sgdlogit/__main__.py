"""``python -m sgdlogit``: SGDLogitClassifier against LogisticRegression, side by side.

With no arguments, runs on datasets scikit-learn ships (breast_cancer, digits); with
``--csv PATH --target COL``, on a CSV file. Each model is a ``StandardScaler`` pipeline tuned
by ``GridSearchCV``; the table shows the best parameters, CV accuracy, test accuracy, test
log-loss and fit time.
"""

import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sgdlogit import SGDLogitClassifier


def _models(random_state):
    """(name, pipeline, grid) of each model compared."""
    sgd = Pipeline([("scale", StandardScaler()), ("clf", SGDLogitClassifier(random_state=0))])
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
    """Grid-search every model on a train split; return one result row per model."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state
    )
    rows = []
    for name, pipeline, grid in _models(random_state):
        search = GridSearchCV(pipeline, grid, cv=5, n_jobs=n_jobs)
        search.fit(X_train, y_train)
        best = search.best_estimator_
        start = time.perf_counter()
        best.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
        rows.append(
            {
                "model": name,
                "best params": ", ".join(
                    f"{key.removeprefix('clf__')}={value}"
                    for key, value in search.best_params_.items()
                ),
                "cv accuracy": search.best_score_,
                "test accuracy": best.score(X_test, y_test),
                "test log-loss": log_loss(y_test, best.predict_proba(X_test)),
                "fit time (s)": fit_time,
                "estimator": best,
            }
        )
    return rows


def format_table(title, rows):
    """Render result rows as a fixed-width text table."""
    columns = ["model", "best params", "cv accuracy", "test accuracy", "test log-loss"]
    columns.append("fit time (s)")
    cells = [
        [f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def load_csv(path, target):
    """Features and target of a CSV file, with one-line errors for bad input."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise SystemExit(f"error: no such file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SystemExit(f"error: cannot read {path} as CSV: {exc}") from None
    if target not in frame.columns:
        raise SystemExit(
            f"error: column {target!r} not in {path}; columns are: {', '.join(frame.columns)}"
        )
    y = frame.pop(target).to_numpy()
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise SystemExit(
            f"error: non-numeric feature column(s): {', '.join(non_numeric)}; encode them "
            "first or drop them"
        )
    if frame.shape[1] == 0:
        raise SystemExit(f"error: {path} has no feature column besides {target!r}")
    if frame.isna().any().any():
        raise SystemExit(f"error: {path} has missing values; impute or drop them first")
    return frame.to_numpy(dtype=np.float64), y


def _plot_loss_curve(estimator, path):
    """Save the training loss per epoch of a fitted pipeline's classifier, if possible."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    clf = estimator[-1]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(1, len(clf.loss_curve_) + 1), clf.loss_curve_, label="training")
    ax.set_xlabel("epoch")
    ax.set_ylabel("objective")
    ax.set_title("SGDLogitClassifier loss curve")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv=None):
    """Run the comparison; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m sgdlogit",
        description=__doc__.split("\n\n")[0]
        + " Tunes each model by 5-fold GridSearchCV on 75%% of the data and scores it on "
        "the remaining 25%%.",
    )
    parser.add_argument("--csv", metavar="PATH", help="CSV file to use instead of the demos")
    parser.add_argument("--target", metavar="COL", help="label column of the CSV file")
    parser.add_argument("--n-jobs", type=int, default=None, help="parallel jobs for GridSearchCV")
    parser.add_argument(
        "--plot",
        metavar="PNG",
        default="sgdlogit_loss_curve.png",
        help="where to write the loss-curve plot (needs matplotlib; default: %(default)s)",
    )
    parser.add_argument("--no-plot", action="store_true", help="do not write the plot")
    args = parser.parse_args(argv)
    if (args.csv is None) != (args.target is None):
        parser.error("--csv and --target go together")

    if args.csv is not None:
        datasets = [(args.csv, *load_csv(args.csv, args.target))]
    else:
        datasets = [
            ("breast_cancer", *load_breast_cancer(return_X_y=True)),
            ("digits", *load_digits(return_X_y=True)),
        ]
    last = None
    for name, X, y in datasets:
        try:
            rows = compare(X, y, n_jobs=args.n_jobs)
        except ValueError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            return 1
        print(format_table(f"\n{name}: {X.shape[0]} samples, {X.shape[1]} features", rows))
        last = rows[0]["estimator"]
    if not args.no_plot and last is not None:
        written = _plot_loss_curve(last, args.plot)
        if written:
            print(f"\nloss curve written to {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
