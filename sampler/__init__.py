"""sampler: the measurement side of randomized smoothing, in torch.

Turns noisy samples into per-class vote counts and hands the counts to
:mod:`rstheory`; no statistics are computed here. Noise, model adapters, text
oracles and dataset-level runs join this package as it grows.
"""

from sampler._votes import (
    TopTwo,
    VoteCertificate,
    certificate_from_counts,
    count_votes,
    top_two,
)

__all__ = [
    "TopTwo",
    "VoteCertificate",
    "certificate_from_counts",
    "count_votes",
    "top_two",
]
