"""The certification parameters of one input or of a campaign: :class:`CertifyConfig`.

One frozen object holds what :func:`sampler.certify.certify`, the campaign runner
:func:`sampler.run.run`, its Ray backend :func:`sampler.run.run_ray`, the configuration
hash (:func:`sampler.run.run_config`) and ``python -m sampler collect`` share, validated
once, when it is made. The sequential rule is a second small object,
:class:`SequentialRule` (:mod:`sampler._config_sequential`, importable from here too),
held by the configuration's ``sequential`` field: ``certify`` runs the rule its
configuration names, and the configuration is hashed with its rule.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from typing import Any, Literal, TypeAlias

import numpy as np

import rstheory
from rstheory._deprecation import REMOVED_IN
from rstheory._validation import check_choice
from sampler._config_sequential import SequentialRule, check_rule
from sampler._models import DecodingConfig
from sampler._oracle_base import OracleErrorRates
from sampler._validation import (
    check_alpha,
    check_count,
    check_real,
    check_seed,
    check_sigma,
)

__all__ = ["MODES", "CertifyConfig", "Mode", "OracleError", "SequentialRule", "jsonable"]

#: The oracle-error correction of a certificate: a known symmetric error rate ``eps`` in
#: ``[0, 1)``, ``"unknown"`` (symmetric, rate unknown), an estimate from
#: :mod:`rstheory.oracle` (``ErrorBound``, ``ErrorInterval``, ``RateBounds``; a
#: ``RateBounds`` with one entry per class gives the bounds of the selected class) or a
#: :class:`sampler.oracles.OracleErrorRates` (the rates of the selected class); None: none.
OracleError: TypeAlias = (
    float
    | Literal["unknown"]
    | rstheory.oracle.ErrorBound
    | rstheory.oracle.ErrorInterval
    | rstheory.oracle.RateBounds
    | OracleErrorRates
    | None
)

#: What a campaign runs on each input (:attr:`CertifyConfig.mode`).
Mode: TypeAlias = Literal["certify", "predict"]
MODES = ("certify", "predict")

_RATE_TYPES = (
    rstheory.oracle.ErrorBound,
    rstheory.oracle.ErrorInterval,
    rstheory.oracle.RateBounds,
    OracleErrorRates,
)


def jsonable(x):
    """``x`` with tuples as lists, arrays as lists, paths as strings, non-finite floats as
    their ``repr``, other objects as their ``repr``: what a row or a hash can hold."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, bool | int | str) or x is None:
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else repr(x)
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    if isinstance(x, np.generic | np.ndarray) or hasattr(x, "__array__"):
        return jsonable(np.asarray(x).tolist())
    return repr(x)


def _check_oracle_error(value) -> OracleError:
    if value is None or isinstance(value, _RATE_TYPES):
        return value
    if isinstance(value, str):
        if value != "unknown":
            raise ValueError(f"oracle_error must be a number in [0, 1) or 'unknown', got {value!r}")
        return value
    if isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool):
        return check_real(value, name="oracle_error", low=0.0, high=1.0, high_open=True)
    raise ValueError(
        "oracle_error must be None, a number in [0, 1), 'unknown', an rstheory.oracle."
        "ErrorBound, ErrorInterval or RateBounds, or a sampler.oracles.OracleErrorRates, got "
        f"{type(value).__name__}"
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class CertifyConfig:
    """The certification parameters, validated once when the object is made.

    Attributes:
      n0: selection samples, an integer ``>= 1``.
      n: estimation samples, an integer ``>= 1``, for a fixed-``n`` certificate; None with a
        ``sequential`` rule (which has ``n_max`` instead).
      sigma: noise standard deviation in ``[0, 1]``-pixel units at the model's input
        resolution, ``> 0``.
      seed: an integer in ``[0, 2**63)``; a certificate is a function of it (a campaign
        certifies input ``id`` with ``derive_seed(seed, "input", id)``).
      alpha: significance level of the certificate, in ``(0, 1)``; default 0.001 (Cohen,
        Rosenfeld & Kolter 2019).
      batch_size: noisy copies per forward pass, ``>= 1`` (default 32). It can change the
        results (the noise is drawn one batch at a time, sampled decoding is seeded per
        batch), so it belongs to the configuration.
      oracle_error: the oracle-error correction (:data:`OracleError`), passed to
        :func:`rstheory.certify` as its ``oracle_error``; None: no correction.
      decoding: the VLM's :class:`sampler.models.DecodingConfig` for this configuration;
        None: the model's own.
      num_classes: for a classifier, the length of the counts; None: the model's
        ``num_classes`` attribute if it has one, else ``max(label) + 1`` (at least 2). Must
        be None with an oracle (the oracle decides). Hashed: it changes the counts.
      keep_texts: keep the decoded answers in the results and rows (VLMs only). Not
        hashed: it changes what is recorded, not the results.
      sequential: a :class:`SequentialRule`: :func:`~sampler.certify.certify` then runs
        the sequential rule (``n`` is None and ``oracle_error`` None: a correction would
        change the boundaries); None: a fixed-``n`` certificate.
      mode: what a campaign (:func:`sampler.run.run`, :func:`sampler.run.run_ray`,
        ``collect --mode``) runs on each input: ``"certify"`` (default; Cohen et al. 2019,
        Sec. 3.2, CERTIFY, by :func:`sampler.certify.certify`) or ``"predict"`` (PREDICT, by
        :func:`sampler.predict.predict`: ``n`` copies, the class or abstain; ``n0`` is then
        unused and not hashed, ``sequential`` and ``oracle_error`` must be None). Hashed
        only when it is not ``"certify"``, so the hashes of certify campaigns are those of
        the releases before it. :func:`sampler.certify.certify` refuses a ``"predict"``
        configuration; :func:`sampler.predict.predict` takes either.

    Example:
      >>> from sampler import CertifyConfig
      >>> cfg = CertifyConfig(n0=10, n=100, sigma=0.25, seed=0)
      >>> cfg.alpha, cfg.batch_size
      (0.001, 32)
      >>> CertifyConfig(n0=10, n=0, sigma=0.25, seed=0)
      Traceback (most recent call last):
      ...
      ValueError: n must be an integer >= 1, got 0
    """

    n0: int
    sigma: float
    seed: int
    n: int | None = None
    alpha: float = 0.001
    batch_size: int = 32
    oracle_error: OracleError = None
    decoding: DecodingConfig | None = None
    num_classes: int | None = None
    keep_texts: bool = False
    sequential: SequentialRule | None = None
    mode: Mode = "certify"

    def __post_init__(self):
        put = object.__setattr__
        put(self, "n0", check_count(self.n0, name="n0"))
        if self.sequential is None:
            if self.n is None:
                raise ValueError("n is required (estimation samples), unless a sequential rule")
            put(self, "n", check_count(self.n, name="n"))
        else:
            if not isinstance(self.sequential, SequentialRule):
                raise ValueError(
                    f"sequential must be a SequentialRule, got {type(self.sequential).__name__}"
                )
            if self.n is not None:
                raise ValueError("n must be None with a sequential rule (it has n_max)")
            if self.oracle_error is not None:
                raise ValueError(
                    "oracle_error must be None with a sequential rule (a correction changes "
                    "the bound on p_A, hence the boundaries)"
                )
        put(self, "sigma", check_sigma(self.sigma))
        put(self, "seed", check_seed(self.seed))
        put(self, "alpha", check_alpha(self.alpha))
        put(self, "batch_size", check_count(self.batch_size, name="batch_size"))
        if self.sequential is not None:
            check_rule(self.sequential, sigma=self.sigma, batch_size=self.batch_size)
        put(self, "oracle_error", _check_oracle_error(self.oracle_error))
        if self.decoding is not None and not isinstance(self.decoding, DecodingConfig):
            raise ValueError(
                f"decoding must be a DecodingConfig or None, got {type(self.decoding).__name__}"
            )
        if self.num_classes is not None:
            put(self, "num_classes", check_count(self.num_classes, name="num_classes"))
        if not isinstance(self.keep_texts, bool | np.bool_):
            raise ValueError(f"keep_texts must be a bool, got {self.keep_texts!r}")
        put(self, "keep_texts", bool(self.keep_texts))
        put(self, "mode", check_choice(self.mode, name="mode", choices=MODES))
        if self.mode == "predict" and self.sequential is not None:
            raise ValueError(
                "sequential must be None with mode='predict' (PREDICT draws a fixed n copies)"
            )
        if self.mode == "predict" and self.oracle_error is not None:
            raise ValueError(
                "oracle_error must be None with mode='predict': the test is of the labelled "
                "copies (the oracle-error correction applies to certify's bound)"
            )

    @property
    def samples_per_input(self) -> int:
        """``n0 + n``, or ``n0 + n_max`` for a sequential rule (at most), or ``n`` with
        ``mode="predict"`` (no selection step)."""
        if self.mode == "predict":
            return self.n
        return self.n0 + (self.n if self.sequential is None else self.sequential.n_max)

    @property
    def look_every(self) -> int | None:
        """Estimation samples between two looks of the sequential rule: its ``look_every``,
        else ``batch_size``; None for a fixed-``n`` configuration."""
        if self.sequential is None:
            return None
        return self.sequential.look_every or self.batch_size

    def replace(self, **changes) -> CertifyConfig:
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields that change the results, JSON-ready: what the configuration hash holds.

        The layout is release 0.1's (``oracle_correction`` with ``oracle_eps`` for a number
        or ``"unknown"`` and ``oracle_rates`` for an estimate), so that the same settings
        hash as they did and 0.1 campaign files resume. ``keep_texts`` is left out (it
        changes what is recorded, not the results) and so is ``decoding``, which
        :func:`sampler.run.run_config` records with the model, as the model's own
        decoding is. A sequential rule adds ``sequential`` (its fields, with the look
        spacing actually used: ``look_every=None`` and ``look_every=batch_size`` are one rule
        and hash alike). ``mode`` is added only when it is not ``"certify"`` (then ``n0``,
        unused, is None).
        """
        eps, rates = self.oracle_error, None
        if isinstance(eps, _RATE_TYPES):
            rates = {"class": type(eps).__name__}
            rates.update({k: jsonable(v) for k, v in eps._asdict().items()})
            eps = None
        out = {
            "oracle_correction": {"oracle_eps": jsonable(eps), "oracle_rates": rates},
            "sigma": self.sigma,
            "n0": self.n0,
            "n": self.n,
            "alpha": self.alpha,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "num_classes": self.num_classes,
        }
        if self.sequential is not None:
            out["sequential"] = {**self.sequential.to_dict(), "look_every": self.look_every}
        if self.mode != "certify":  # the default is left out: certify hashes are unchanged
            out["mode"] = self.mode
            out["n0"] = None  # PREDICT has no selection step
        return out


# --------------------------------------------------------------------------- 0.1 keywords

_FLAT = ("n0", "n", "sigma", "alpha", "seed", "batch_size", "num_classes", "keep_texts")
_SEQUENTIAL = ("radius", "n_max", "prior")


def config_from_keywords(
    config: CertifyConfig | None,
    legacy: dict[str, Any],
    *,
    func: str,
    sequential: bool | None = False,
    mode: Mode | None = "certify",
) -> CertifyConfig:
    """The configuration of a call: ``config``, or one built from 0.1's flat keywords.

    ``legacy`` holds the keywords that 0.1 took instead of ``config=`` (``n0=``, ``n=``,
    ``sigma=``, ``alpha=``, ``seed=``, ``batch_size=``, ``oracle_eps=``, ``oracle_rates=``,
    ``keep_texts=``, ``num_classes=``; for the sequential rule ``radius=``, ``n_max=``,
    ``prior=``); they build the configuration with a :class:`DeprecationWarning` (removed
    in 0.3). ``sequential``: whether the caller needs a sequential rule (True), a fixed
    ``n`` (False), or takes either (None; flat keywords then build a sequential one when
    they name ``radius``, ``n_max`` or ``prior``, else a fixed-``n`` one). ``mode``: the
    :attr:`CertifyConfig.mode` the caller runs (the one-input functions: ``certify`` runs
    CERTIFY only), or None for any (a campaign runs either; ``predict`` takes any
    configuration's ``n``).

    Raises:
      TypeError: both ``config`` and flat keywords, neither, or an unknown keyword.
      ValueError: a bad value (from :class:`CertifyConfig`).
    """
    if not legacy:
        if config is None:
            raise TypeError(f"{func}() needs config=CertifyConfig(...)")
        if not isinstance(config, CertifyConfig):
            raise TypeError(f"config must be a CertifyConfig, got {type(config).__name__}")
        if sequential is True and config.sequential is None:
            raise ValueError(f"{func}() needs a config with a sequential rule (sequential=...)")
        if sequential is False and config.sequential is not None:
            raise ValueError(
                f"{func}() certifies with a fixed n: its config must have no sequential rule "
                "(sampler.certify.certify runs the sequential rule on one input)"
            )
        if mode is not None and config.mode != mode:
            raise ValueError(
                f"{func}() runs mode={mode!r}, but config.mode is {config.mode!r} "
                "(sampler.predict.predict runs PREDICT on one input; a campaign runs either)"
            )
        return config
    if config is not None:
        raise TypeError(f"{func}(): pass config= or the 0.1 keywords {sorted(legacy)}, not both")
    if sequential is None:
        sequential = any(k in legacy for k in _SEQUENTIAL)
    allowed = (*_FLAT, "oracle_eps", "oracle_rates", *(_SEQUENTIAL if sequential else ()))
    unknown = sorted(set(legacy) - set(allowed))
    if unknown:
        raise TypeError(f"{func}() got an unexpected keyword argument {unknown[0]!r}")
    warnings.warn(
        f"{func}(): pass config=CertifyConfig({', '.join(f'{k}=...' for k in legacy)}) "
        f"instead of the keywords (deprecated in 0.2, removed in {REMOVED_IN})",
        DeprecationWarning,
        stacklevel=3,
    )
    kw = {k: legacy[k] for k in _FLAT if k in legacy}
    eps, rates = legacy.get("oracle_eps"), legacy.get("oracle_rates")
    if eps is not None and rates is not None:
        raise ValueError("pass at most one of oracle_eps and oracle_rates, got both")
    if rates is not None and not isinstance(rates, _RATE_TYPES):
        raise ValueError(
            "oracle_rates must be None, an rstheory.oracle.ErrorBound, ErrorInterval or "
            f"RateBounds, or a sampler.oracles.OracleErrorRates, got {type(rates).__name__}"
        )
    kw["oracle_error"] = eps if rates is None else rates
    if sequential:
        missing = [k for k in ("radius", "n_max") if k not in legacy]
        if missing:
            raise TypeError(f"{func}() missing keyword argument {missing[0]!r}")
        kw["sequential"] = SequentialRule(**{k: legacy[k] for k in _SEQUENTIAL if k in legacy})
    for name in ("n0", "sigma", "seed") if sequential else ("n0", "n", "sigma", "seed"):
        if name not in kw:
            raise TypeError(f"{func}() missing keyword argument {name!r}")
    return CertifyConfig(**kw)
