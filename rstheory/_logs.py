r"""Readers of per-input certification logs: Cohen et al.'s TSV, the 2024 paper's CSV, sampler rows.

Three formats, told apart by the file's content (``format=None``) or chosen by name:

* ``"cohen"``: the output of CERTIFY in Cohen, Rosenfeld & Kolter (2019), ICML (their
  code, which most randomized-smoothing papers fork): tab-separated
  ``idx label predict radius correct time``, ``predict = -1`` on abstention, ``time`` in
  seconds or ``H:MM:SS.ffffff``. The file holds no settings; ``sigma`` is read from a
  ``sigma_T`` part of its path when not given.
* ``"p2"``: the per-input CSV of Seferis, Kollias & Cheng (2024), ECAI:
  ``index, y_real, y_pred, radius[, pA][, time]`` (``y_pred = -1`` on abstention);
  ``sigma``, ``alpha`` and ``n`` come from a file name ``..._sigma<S>_alpha<A>_n<N>.csv``;
  ``n0`` defaults to 0 (the paper's single-stage runs), 100 for the published
  ``imagenet_resnet50_sigma0.5_alpha0.001_n100000.csv``, Cohen et al.'s two-stage output
  (:data:`rstheory._logs_formats.P2_SELECTION`).
* ``"rows"``: the JSONL rows of ``python -m sampler collect`` (:func:`rstheory.rows.scan_rows`,
  schema :func:`rstheory.rows.check_row`), or a Parquet copy of them (needs pyarrow). The
  rows hold ``sigma``, ``alpha``, ``n``, ``n0`` and the counts; they hold no true label, so
  ``correct`` means "certified" unless a row carries an integer ``label``.

A setting the file does not hold comes from the keyword of the same name; one given both
ways must agree. ``alpha`` defaults to 0.001 (Cohen et al.'s runs); ``n`` and ``n0`` are
needed only to recover counts and predict other runs.

**Count recovery.** CERTIFY's radius is ``sigma Phi^-1(p_lower)`` with
``p_lower = cp_lower(k, n, alpha)`` increasing in ``k`` (Cohen et al. 2019, Theorem 1 and
Section 3.2), so the printed radius ``r`` fixes ``k`` up to its rounding: Cohen et al.'s
code prints three significant digits, hence the true radius lies within
``h = min(half a unit of the last printed digit, half a unit of the third significant
digit)`` of ``r`` and ``k`` within ``[k_low, k_high]``, the counts whose bound lies in
``[Phi((r - h) / sigma), Phi((r + h) / sigma)]``. A full-precision ``pA`` (2024 CSV) gives
one integer. Abstentions give ``[0, largest k with cp_lower <= 1/2]``. A count is *exact*
when it is one integer that reproduces the printed value (:meth:`CertificationLog.exact_counts`).

**Inferred level.** ``alpha="infer"`` chooses the level among :data:`ALPHA_CANDIDATES`
whose bound reproduces the most printed radii (:func:`rstheory._logs_alpha.fit_alpha`);
the file's or default level is the stated one, kept on a tie. Every ImageNet CERTIFY log of
Cohen et al., and the 2024 n = 100,000 CSV (the same run), fits 0.01, not the 0.001 of their
paper; the CIFAR-10 logs split (data/cohen2019/README.md, Notes).

The formats are read in :mod:`rstheory._logs_formats`, the counts recovered in
:mod:`rstheory._logs_counts` and :mod:`rstheory._logs_alpha`, sampler rows in
:mod:`rstheory._logs_rows`.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib

import numpy as np
import scipy.special

from rstheory import _jax  # noqa: F401  (float64 before any array)
from rstheory._logs_alpha import ALPHA_CANDIDATES, AlphaFit, fit_alpha, recover_interval
from rstheory._logs_counts import CountInterval, count_interval
from rstheory._logs_formats import FORMATS, detect_format, parse_seconds, read_cohen, read_p2
from rstheory._validation import check_alpha, check_choice, check_int, check_sigma

__all__ = [
    "ALPHA_CANDIDATES",
    "FORMATS",
    "AlphaFit",
    "CertificationLog",
    "CountInterval",
    "count_interval",
    "detect_format",
    "fit_alpha",
    "parse_seconds",
    "read_log",
]


@dataclasses.dataclass(frozen=True, eq=False)
class CertificationLog:
    """One certification run, per input: numpy arrays of shape ``(m,)`` and the run's settings.

    Attributes:
      path, format: the file read and its format (one of :data:`FORMATS`).
      idx: input index (int64; the row's position for sampler rows).
      label: true label (int64, -1 when unknown).
      predict: certified class, -1 on abstention (int64).
      radius: certified L2 radius, 0 on abstention (float64, as printed).
      correct: certified with the true label (bool).
      abstain: the run abstained (bool).
      time: seconds per input (float64, nan when not recorded).
      sigma, alpha: noise level and certificate level of the run.
      n, n0: estimation and selection samples (``n0 = 0``: single-stage); None when unknown.
      k, k_low, k_high: recovered top-class counts (int64; ``k`` the count whose bound is
        nearest the printed one, ``[k_low, k_high]`` every count consistent with the
        rounding); None when ``n`` is unknown.
      consistent: whether some count reproduces each printed radius at ``n`` and ``alpha``
        (bool; all True for exact counts; None when ``n`` is unknown). False entries say the
        run used other settings than the ones given.
      p_lower: lower bound of the top class, ``nan`` when unknown (float64).
      alpha_fit: with ``alpha="infer"``, the :class:`AlphaFit` that chose ``alpha``.
    """

    path: str
    format: str
    idx: np.ndarray
    label: np.ndarray
    predict: np.ndarray
    radius: np.ndarray
    correct: np.ndarray
    abstain: np.ndarray
    time: np.ndarray
    sigma: float
    alpha: float
    n: int | None
    n0: int | None
    k: np.ndarray | None
    k_low: np.ndarray | None
    k_high: np.ndarray | None
    consistent: np.ndarray | None
    p_lower: np.ndarray
    alpha_fit: AlphaFit | None = None

    @property
    def inputs(self) -> int:
        """Number of inputs ``m``."""
        return int(self.idx.size)

    def acr(self) -> float:
        """Average certified radius: ``mean(radius * correct)`` over all inputs."""
        return float(np.mean(self.radius * self.correct))

    def exact_counts(self) -> np.ndarray:
        """Whether each input's count is exact, bool ``(m,)``: a single integer
        (``k_low == k_high``) that reproduces the printed value (``consistent``). From a
        full-precision ``pA`` every consistent count is exact; from a radius printed to three
        significant digits only where no neighbouring count rounds to the same digits (at
        ``n = 100,000`` a unit of the third digit spans up to ~100 counts)."""
        if self.k is None:
            return np.zeros(self.inputs, dtype=bool)
        return (self.k_low == self.k_high) & self.consistent


def _setting(name: str, given, found, path, check):
    """The run's ``name``: the file's value, else the keyword; both must agree."""
    if given is not None:
        check(given)
        if found is not None and not math.isclose(float(given), float(found), rel_tol=1e-12):
            raise ValueError(
                f"{path}: {name}={given!r} conflicts with {name} = {found!r} of the file"
            )
        return given
    return found


def read_log(
    path, *, format=None, sigma=None, alpha=None, n=None, n0=None, config_hash=None
) -> CertificationLog:
    """Read one certification log (module docstring) into a :class:`CertificationLog`.

    Args:
      path: the file.
      format: ``"cohen"``, ``"p2"``, ``"rows"`` or None (detected from the content).
      sigma, alpha, n, n0: the run's settings where the file does not hold them (``alpha``
        defaults to 0.001; ``n0``, for the 2024 CSV, to its provenance: 0, single-stage, but 100
        for Cohen et al.'s n = 100,000 file, module docstring). ``alpha="infer"``
        chooses the level by the fit of the printed radii (module docstring; needs ``n``,
        overrides a level in the file name and sets ``alpha_fit``).
      config_hash: for sampler rows of several configurations, the one to read.

    Raises:
      ValueError: an unknown format; a bad field (naming the file, the line and the field);
        ``sigma`` neither given nor found; a keyword that conflicts with the file.

    Example:
      >>> log = read_log("data/cohen2019/certify/cifar10/resnet110/noise_0.25/test/sigma_0.25",
      ...                n=100_000, n0=100)
      >>> log.format, log.sigma, log.inputs, round(log.acr(), 4)
      ('cohen', 0.25, 500, 0.4289)
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    fmt = (
        detect_format(path)
        if format is None
        else check_choice(format, name="format", choices=FORMATS)
    )
    if fmt == "rows":
        from rstheory._logs_rows import read_rows_log

        raw = read_rows_log(path, config_hash=config_hash)
    elif config_hash is not None:
        raise ValueError(f"config_hash applies to sampler rows only, not to a {fmt!r} log")
    else:
        raw = (read_cohen if fmt == "cohen" else read_p2)(path)
    found = raw["found"]
    sigma = _setting("sigma", sigma, found.get("sigma"), path, check_sigma)
    if sigma is None:
        raise ValueError(f"{path}: the file does not hold the noise level: pass sigma= (--sigma)")
    infer = isinstance(alpha, str) and alpha == "infer"
    if infer:
        stated = found.get("alpha")
    else:
        alpha = _setting("alpha", alpha, found.get("alpha"), path, check_alpha)
        stated = alpha
    stated = 0.001 if stated is None else float(stated)
    n = _setting(
        "n", None if n is None else check_int(n, name="n"), found.get("n"), path, lambda v: v
    )
    n0 = _setting(
        "n0",
        None if n0 is None else check_int(n0, name="n0", low=0),
        found.get("n0"),
        path,
        lambda v: v,
    )
    if n0 is None:
        n0 = raw.get("defaults", {}).get("n0")
    predict, radius = raw["predict"], raw["radius"]
    abstain = predict < 0
    k = k_low = k_high = consistent = alpha_fit = None
    p_lower = raw["p_lower"]
    if infer and (raw.get("k") is not None or n is None):
        raise ValueError(
            f"{path}: alpha='infer' needs printed radii and n (--n): "
            + ("sampler rows hold their alpha" if raw.get("k") is not None else "pass n=")
        )
    alpha = stated
    if infer:
        alpha_fit = fit_alpha(
            radius, raw["radius_text"], p_lower, n=n, sigma=float(sigma), stated=stated
        )
        alpha = alpha_fit.alpha
    if raw.get("k") is not None:
        k = k_low = k_high = raw["k"]
        consistent = np.ones(k.size, dtype=bool)
    elif n is not None:
        k, k_low, k_high, consistent = recover_interval(
            radius, raw["radius_text"], p_lower, n=n, alpha=alpha, sigma=float(sigma)
        )
    if p_lower is None:
        p_lower = np.where(abstain, np.nan, scipy.special.ndtr(radius / float(sigma)))
    return CertificationLog(
        path=str(path),
        format=fmt,
        idx=raw["idx"],
        label=raw["label"],
        predict=predict,
        radius=radius,
        correct=np.asarray(raw["correct"], dtype=bool),
        abstain=abstain,
        time=np.asarray(raw["time"], dtype=np.float64),
        sigma=float(sigma),
        alpha=alpha,
        n=None if n is None else int(n),
        n0=None if n0 is None else int(n0),
        k=k,
        k_low=k_low,
        k_high=k_high,
        consistent=consistent,
        p_lower=np.asarray(p_lower, dtype=np.float64),
        alpha_fit=alpha_fit,
    )
