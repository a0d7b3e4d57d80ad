"""Analysis of certification logs: bring your own results.

Public names of :mod:`rstheory._logs` (reading Cohen et al.'s CERTIFY logs, the 2024
paper's per-input CSV and the rows of ``python -m sampler collect``, with the per-input
counts recovered), :mod:`rstheory._analyze` (certified accuracy against radius, average
certified radius, dataset-level confidence intervals, Cohen et al.'s tables) and
:mod:`rstheory._analyze_predict` (the exact expected ACR and accuracy at other ``n``).
The command line is ``rstheory analyze FILE...``.

Example:
  >>> from rstheory import analyze
  >>> log = analyze.read_log(
  ...     "data/cohen2019/certify/imagenet/resnet50/noise_0.50/test/sigma_0.50")
  >>> analyze.certified_accuracy(log, [0.5, 1.0]).tolist()
  [0.458, 0.372]
"""

from rstheory._analyze import *  # noqa: F403  (the names of its __all__)
from rstheory._analyze import __all__ as _analyze_all
from rstheory._analyze_predict import *  # noqa: F403
from rstheory._analyze_predict import __all__ as _predict_all
from rstheory._logs import *  # noqa: F403
from rstheory._logs import __all__ as _logs_all

__all__ = sorted([*_logs_all, *_analyze_all, *_predict_all])
