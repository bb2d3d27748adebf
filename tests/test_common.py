"""scikit-learn's estimator checks over the configurations users reach for."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sgdlogit import SGDLogitClassifier

CONFIGURATIONS = [
    {},
    {"penalty": "l1"},
    {"penalty": "elasticnet", "l1_ratio": 0.5},
    {"penalty": None},
    {"batch_size": 1},
    {"batch_size": 1000},
    {"early_stopping": True},
    {"average": True},
    {"average": 10, "batch_size": 4},
    {"solver": "adam"},
    {"momentum": 0.9},
    {"learning_rate": "constant", "eta0": 0.01},
    # SGDClassifier's own settings for its schedule: per-sample steps, 5 epochs of patience
    {"learning_rate": "optimal", "batch_size": 1, "n_iter_no_change": 5},
    {"learning_rate": "invscaling"},
    {"learning_rate": "adaptive"},
    {"class_weight": "balanced"},
    {"n_jobs": 2},
    {"shuffle": False},
]

# The two checks scikit-learn itself expects SGDClassifier and LogisticRegression to fail:
# visiting samples in shuffled batches makes a weight of 2 differ from a repeated sample.
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples (stochastic order)"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "sample_weight is not equivalent to removing/repeating samples (stochastic order)"
    ),
}


@parametrize_with_checks(
    [SGDLogitClassifier(random_state=0, **params) for params in CONFIGURATIONS],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
