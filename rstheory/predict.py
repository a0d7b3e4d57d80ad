"""Cohen et al.'s (2019) PREDICT with abstention: public names.

The decision rule (:mod:`rstheory._predict`), its exact abstention and error rates and
the abstention bound from ``p_A`` alone (:mod:`rstheory._predict_rates`), and the
expected abstention over a dataset with the ``n`` that keeps it low
(:mod:`rstheory._predict_plan`). Guide: ``docs/guides/predict.md``.
"""

from rstheory._predict import PredictDecision, decide, p_value
from rstheory._predict_plan import (
    AbstentionPlan,
    ExpectedAbstention,
    expected_abstention,
    n_for_abstention,
)
from rstheory._predict_rates import PredictRates, abstention_bound, predict_rates

__all__ = [
    "AbstentionPlan",
    "ExpectedAbstention",
    "PredictDecision",
    "PredictRates",
    "abstention_bound",
    "decide",
    "expected_abstention",
    "n_for_abstention",
    "p_value",
    "predict_rates",
]
