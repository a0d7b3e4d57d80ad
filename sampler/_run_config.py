"""The configuration of a campaign and its hash (:func:`run_config`, :func:`config_hash`).

**The configuration hash** is the SHA-256 of the canonical JSON (sorted keys, no spaces)
of everything that changes the results (:func:`run_config`): the model (its name or path
and its ``config_dict()``: class, dtype, decoding, normalization, chat template; the
device *type* only, since CPU and CUDA draw different noise but ``cuda:0`` and ``cuda:1``
do not), ``sigma``, ``n0``, ``n``, ``alpha``, the campaign ``seed``, ``batch_size`` (it
changes results: the noise is drawn one batch at a time, sampled decoding is seeded per
batch, and batched kernels round differently), the oracle (its name, class, labels and
settings, including the model it loads and its batch size, which can change padded
numerics) and the oracle correction (``oracle_eps`` or the error rates; they change
``p_lower`` and the radius, not the counts). Not hashed: ``keep_texts``, ``limit``, the
output format, the progress bar, and library versions (recorded per row instead, so a
library upgrade does not block a resume).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
from typing import Any

import torch

import rstheory
from sampler._config import CertifyConfig, config_from_keywords, jsonable

__all__ = ["config_hash", "run_config"]


_ORACLE_FIELDS = (
    "labels",
    "method",
    "threshold",
    "prompt",
    "max_new_tokens",
    "max_length",
    "phrases",
    "case_sensitive",
    "synonyms",
    "chat_template",
    "batch_size",
)


def _oracle_config(oracle, name: str | None) -> dict[str, Any] | None:
    if oracle is None:
        return None if name is None else {"name": name}
    cfg: dict[str, Any] = {"name": name, "class": type(oracle).__name__}
    for field in _ORACLE_FIELDS:
        if hasattr(oracle, field):
            cfg[field] = jsonable(getattr(oracle, field))
    model = getattr(oracle, "model", None)
    if model is not None:
        config = getattr(model, "config", None)
        cfg["model"] = str(getattr(config, "_name_or_path", "") or type(model).__name__)
    return cfg


def _model_config(model, model_name: str | None) -> dict[str, Any]:
    cfg = dict(model.config_dict()) if hasattr(model, "config_dict") else {}
    # The device type changes the noise stream; the index of the GPU does not.
    device = getattr(model, "device", None)
    if device is not None:
        cfg["device"] = torch.device(device).type
    cfg["name"] = model_name if model_name is not None else cfg.get("model", type(model).__name__)
    return jsonable(cfg)


def run_config(
    model,
    *,
    config: CertifyConfig | None = None,
    oracle=None,
    oracle_name: str | None = None,
    model_name: str | None = None,
    **legacy,
) -> dict[str, Any]:
    """The configuration of a campaign that :func:`config_hash` hashes (this module's
    docstring says what it holds and why).

    The model's and the oracle's settings, and the :class:`sampler.CertifyConfig`'s own
    dict form (:meth:`~sampler.CertifyConfig.to_dict`); a ``decoding`` of the configuration
    is recorded in the model's settings, where the model's own decoding is. Release 0.1's
    flat keywords (``n0=``, ``n=``, ``sigma=``, ...) instead of ``config`` are deprecated.
    """
    cfg = config_from_keywords(config, legacy, func="run_config", sequential=None)
    if cfg.decoding is not None and callable(getattr(model, "with_decoding", None)):
        model = model.with_decoding(cfg.decoding)
    return {
        "model": _model_config(model, model_name),
        "oracle": _oracle_config(oracle, oracle_name),
        **cfg.to_dict(),
    }


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``config`` (sorted keys, no spaces).

    Example:
      >>> from sampler.run import config_hash
      >>> config_hash({"b": 1, "a": [1.0]}) == config_hash({"a": [1.0], "b": 1})
      True
    """
    text = json.dumps(jsonable(config), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str | None]:
    """Python's and the libraries' versions, recorded in each row (not hashed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("torch", "transformers", "numpy", "jax", "jaxlib", "rsvlm"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    out["rstheory"] = getattr(rstheory, "__version__", None)
    return out
