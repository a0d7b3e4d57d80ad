"""Cohen et al.'s (2019) PREDICT with abstention: public names of :mod:`rstheory._predict`."""

from rstheory._predict import PredictDecision, decide, p_value

__all__ = ["PredictDecision", "decide", "p_value"]
