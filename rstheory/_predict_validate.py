r"""PREDICT's abstention predicted from a CERTIFY log, against a measured PREDICT log.

Cohen, Rosenfeld & Kolter (2019) published, for one ImageNet ResNet-50 at sigma = 0.25, a
CERTIFY log (``n = 100,000``) and PREDICT logs at ``N = 100 .. 100,000`` on the same
inputs (``data/cohen2019/README.md``). From the CERTIFY log each input's top-class
probability is recovered as ``p_A in [k_low, k_high] / n`` (the counts consistent with the
printed radius, :func:`rstheory.analyze.read_log`). Its PREDICT abstention at ``N`` then
lies in a range fixed by how the other ``1 - p_A`` is spread:

* **high** (any spread): :func:`rstheory.predict.abstention_bound` at ``k_low / n``,
  ``P[Bin(N, p_A) < k*(N)]``, the two-class case ``p_B = 1 - p_A``, an upper bound however
  the rest is split (the second count is at most ``N - n_A``);
* **low** (``p_B = 0``, the rest spread so thin that the second count is 0): abstain iff
  ``n_A < t_0``, the smallest count whose p-value against ``Bin(t_0, 1/2)`` is ``<= alpha``
  (``t_0 = 11`` at ``alpha = 0.001``), so ``P[Bin(N, p_A) < t_0]`` at ``k_high / n``.

Both are decreasing in ``p_A``, hence the ends of the count interval. An input CERTIFY
abstained on has ``k`` anywhere in ``[0, k_high]`` (``p_A`` up to about 1/2): its high end
is 1 (``p_A = 0``) and its low end is taken at ``k_high / n``. The model assumes the class
CERTIFY selected (from ``n0 = 100`` samples) is the top class. The predicted rate over the
inputs is the mean of the per-input ends; the measured rate is the fraction of the same
inputs PREDICT abstained on, with a two-sided Clopper-Pearson interval over the inputs,
and a row is *inside* when the predicted range meets that interval.
"""

from __future__ import annotations

import csv
import pathlib
import re
from typing import NamedTuple

import numpy as np
import scipy.stats

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._clopper_pearson import cp_interval
from rstheory._logs import parse_seconds
from rstheory._predict import p_value
from rstheory._predict_rates import abstention_bound
from rstheory._validation import check_alpha, check_choice, check_int, check_real

__all__ = [
    "SUBSETS",
    "PredictLog",
    "PredictValidation",
    "abstention_range",
    "markdown_table",
    "read_predict_log",
    "smallest_winning_count",
    "validate_predict",
]

SUBSETS = ("all", "certified", "abstained")
_COLUMNS = ("idx", "label", "predict", "correct", "time")
_N_PATH = re.compile(r"^N_(?P<n>[0-9]+)$")


class PredictLog(NamedTuple):
    """One PREDICT run, per input: numpy arrays of shape ``(m,)`` and its ``n``.

    Attributes:
      path: the file read; n: samples per input.
      idx, label, predict (``-1`` on abstention), correct, abstain, time (seconds).
    """

    path: str
    n: int
    idx: np.ndarray
    label: np.ndarray
    predict: np.ndarray
    correct: np.ndarray
    abstain: np.ndarray
    time: np.ndarray


class PredictValidation(NamedTuple):
    """Result of :func:`validate_predict`, one entry per PREDICT log (arrays ``(s,)``).

    Attributes:
      n: PREDICT's samples per input (int64).
      inputs: inputs in both logs (of ``subset``); abstained: how many PREDICT abstained on.
      rate, low, high: measured abstention rate and its Clopper-Pearson interval.
      predicted_low, predicted_high: the predicted range (module docstring).
      inside: whether the range meets the interval (bool).
      inputs_all, abstained_all: the same count over every input of the PREDICT log.
      alpha, confidence, subset: PREDICT's level, the interval's confidence, the inputs
        compared (``"all"``, ``"certified"`` or ``"abstained"`` by CERTIFY).
    """

    n: np.ndarray
    inputs: np.ndarray
    abstained: np.ndarray
    rate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    predicted_low: np.ndarray
    predicted_high: np.ndarray
    inside: np.ndarray
    inputs_all: np.ndarray
    abstained_all: np.ndarray
    alpha: float
    confidence: float
    subset: str


def read_predict_log(path, *, n=None) -> PredictLog:
    """Read Cohen et al.'s PREDICT output: tab-separated ``idx label predict correct time``.

    ``n`` is read from an ``N_<n>`` file name when not given (both must agree).

    Example:
      >>> log = read_predict_log("data/cohen2019/predict/imagenet/resnet50/noise_0.25/test/N_100")
      >>> log.n, log.idx.size, int(log.abstain.sum())
      (100, 500, 46)
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    found = _N_PATH.match(path.name)
    if n is None and found is None:
        raise ValueError(f"{path}: the file name does not hold n (N_<n>): pass n=")
    if n is not None:
        n = check_int(n, name="n")
        if found is not None and int(found["n"]) != n:
            raise ValueError(f"{path}: n={n} but the file name says n={found['n']}")
    n = int(found["n"]) if n is None else n
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or any(c not in rows[0] for c in _COLUMNS):
        raise ValueError(f"{path}: expected tab-separated columns {' '.join(_COLUMNS)}")

    def column(name, kind):
        try:
            return np.array([kind(r[name]) for r in rows])
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: bad {name!r} value: {err}") from None

    predict = column("predict", int).astype(np.int64)
    return PredictLog(
        path=str(path),
        n=n,
        idx=column("idx", int).astype(np.int64),
        label=column("label", int).astype(np.int64),
        predict=predict,
        correct=column("correct", int).astype(bool),
        abstain=predict < 0,
        time=column("time", parse_seconds).astype(np.float64),
    )


def smallest_winning_count(*, alpha=0.001) -> int:
    """``t_0``: the smallest top count that PREDICT returns with a second count of 0.

    ``p(t, 0) = min(1, 2^(1 - t))`` (:func:`rstheory.predict.p_value`), so
    ``t_0 = ceil(1 + log2(1 / alpha))``.

    >>> smallest_winning_count(alpha=0.001)
    11
    """
    check_alpha(alpha)
    t = np.arange(1, 2 + int(np.ceil(np.log2(1.0 / alpha))) + 1)
    return int(t[np.asarray(p_value(t, np.zeros_like(t))) <= alpha][0])


def abstention_range(certify_log, n, *, alpha=0.001) -> tuple[np.ndarray, np.ndarray]:
    """Per-input ``(low, high)`` PREDICT abstention at ``n`` samples, float64 ``(m,)`` each.

    ``certify_log``: a :class:`rstheory.analyze.CertificationLog` with counts (``n``
    known); the ends of the module docstring.

    Example:
      >>> from rstheory import analyze
      >>> log = analyze.read_log(
      ...     "data/cohen2019/certify/imagenet/resnet50/noise_0.25/test/sigma_0.25",
      ...     n=100_000, alpha="infer")
      >>> low, high = abstention_range(log, 100)
      >>> float(high[log.abstain].min()), bool((low <= high).all())
      (1.0, True)
    """
    check_alpha(alpha)
    n = check_int(n, name="n")
    if certify_log.k is None:
        raise ValueError(f"{certify_log.path}: the CERTIFY log has no counts: read it with n=")
    total = certify_log.n
    p_low = np.where(certify_log.abstain, 0.0, certify_log.k_low / total)
    p_high = certify_log.k_high / total
    high = np.asarray(abstention_bound(p_low, n, alpha=alpha), dtype=np.float64)
    t0 = smallest_winning_count(alpha=alpha)
    low = scipy.stats.binom.cdf(t0 - 1, n, p_high)
    return np.minimum(low, high), high


def validate_predict(
    certify_log, predict_logs, *, alpha=0.001, confidence=0.95, subset="all"
) -> PredictValidation:
    """Measured PREDICT abstention against the range predicted from ``certify_log``.

    Args:
      certify_log: a :class:`rstheory.analyze.CertificationLog` with counts.
      predict_logs: :class:`PredictLog` runs (or their paths) on the same model and inputs.
      alpha: PREDICT's level, in (0, 1).
      confidence: of the measured rate's two-sided Clopper-Pearson interval, in (0, 1).
      subset: ``"all"`` inputs of both logs, or those CERTIFY ``"certified"`` (a radius)
        or ``"abstained"`` on.

    Example:
      >>> from rstheory import analyze
      >>> root = "data/cohen2019/"
      >>> log = analyze.read_log(
      ...     root + "certify/imagenet/resnet50/noise_0.25/test/sigma_0.25",
      ...     n=100_000, alpha="infer")
      >>> v = validate_predict(log, [root + "predict/imagenet/resnet50/noise_0.25/test/N_100"])
      >>> int(v.inputs[0]), int(v.abstained[0]), bool(v.inside[0])
      (427, 41, True)
    """
    check_alpha(alpha)
    conf = check_real(
        confidence, name="confidence", low=0.0, high=1.0, low_open=True, high_open=True
    )
    check_choice(subset, name="subset", choices=SUBSETS)
    logs = [p if isinstance(p, PredictLog) else read_predict_log(p) for p in predict_logs]
    if not logs:
        raise ValueError("predict_logs must hold at least one PREDICT log")
    keep = {
        "all": np.ones(certify_log.inputs, dtype=bool),
        "certified": ~certify_log.abstain,
        "abstained": certify_log.abstain,
    }[subset]
    out = {k: [] for k in ("n", "inputs", "abstained", "lo", "hi", "inputs_all", "abstained_all")}
    for log in logs:
        order = np.argsort(log.idx)
        at = np.searchsorted(log.idx[order], certify_log.idx)
        found = (at < log.idx.size) & (
            log.idx[order][np.minimum(at, log.idx.size - 1)] == certify_log.idx
        )
        use = keep & found
        abstained = log.abstain[order][at[use]]
        low, high = abstention_range(certify_log, log.n, alpha=alpha)
        out["n"].append(log.n)
        out["inputs"].append(int(use.sum()))
        out["abstained"].append(int(abstained.sum()))
        out["lo"].append(float(low[use].mean()) if use.any() else np.nan)
        out["hi"].append(float(high[use].mean()) if use.any() else np.nan)
        out["inputs_all"].append(log.idx.size)
        out["abstained_all"].append(int(log.abstain.sum()))
    inputs = np.array(out["inputs"], dtype=np.int64)
    abstained = np.array(out["abstained"], dtype=np.int64)
    if (inputs == 0).any():
        raise ValueError("no input of the CERTIFY log (of this subset) is in a PREDICT log")
    ci = cp_interval(abstained, inputs, alpha=1.0 - conf)
    lo, hi = np.asarray(ci.low), np.asarray(ci.high)
    p_lo, p_hi = np.array(out["lo"]), np.array(out["hi"])
    return PredictValidation(
        n=np.array(out["n"], dtype=np.int64),
        inputs=inputs,
        abstained=abstained,
        rate=abstained / inputs,
        low=lo,
        high=hi,
        predicted_low=p_lo,
        predicted_high=p_hi,
        inside=(p_lo <= hi) & (p_hi >= lo),
        inputs_all=np.array(out["inputs_all"], dtype=np.int64),
        abstained_all=np.array(out["abstained_all"], dtype=np.int64),
        alpha=float(alpha),
        confidence=conf,
        subset=subset,
    )


def _pct(x: float) -> str:
    if x == 0:
        return "0"
    if x < 1e-4:
        return "< 0.01"
    return f"{100 * x:.2f}"


def markdown_table(validation: PredictValidation) -> str:
    """The rows of :func:`validate_predict` as a Markdown table, rates in percent.

    Columns: ``N``, measured abstention ``k / m`` with its rate and interval, the
    predicted range, and whether they meet; ``< 0.01`` marks a positive rate below 0.01 %.
    """
    v = validation
    conf = f"{100 * v.confidence:g}"
    lines = [
        f"| N | measured | rate % ({conf} % CI) | predicted % (p_B = 0 .. 1 - p_A) | inside? |",
        "|---:|---:|---|---|:---:|",
    ]
    for j in range(v.n.size):
        lines.append(
            f"| {int(v.n[j]):,} | {int(v.abstained[j])} / {int(v.inputs[j])} "
            f"| {_pct(v.rate[j])} ({_pct(v.low[j])} .. {_pct(v.high[j])}) "
            f"| {_pct(v.predicted_low[j])} .. {_pct(v.predicted_high[j])} "
            f"| {'yes' if v.inside[j] else 'no'} |"
        )
    return "\n".join(lines)
