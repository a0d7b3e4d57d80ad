"""The configuration of a campaign and its hash (:func:`run_config`, :func:`config_hash`).

**The configuration hash** is the SHA-256 of the canonical JSON (sorted keys, no spaces)
of everything that changes the results (:func:`run_config`): the model (its identity and
its ``config_dict()``: class, dtype, decoding, normalization, chat template; the device
*type* only, since CPU and CUDA draw different noise but ``cuda:0`` and ``cuda:1`` do
not), ``sigma``, ``n0``, ``n``, ``alpha``, the campaign ``seed``, ``batch_size`` (it
changes results: the noise is drawn one batch at a time, sampled decoding is seeded per
batch, and batched kernels round differently), the oracle (its name, class, labels and
settings, including the model it loads and its batch size, which can change padded
numerics) and the oracle correction (``oracle_eps`` or the error rates; they change
``p_lower`` and the radius, not the counts). Not hashed: ``keep_texts``, ``limit``, the
output format, the progress bar, the backend, ``in_flight`` (inputs certified at once,
whose copies share model calls: :mod:`sampler._packing`; each input's noise, decoding
seeds and per-copy uniforms are its own, so the rows are those of ``in_flight = 1``, up to
a greedy token where two logits tie within the rounding of a batched kernel), library
versions (recorded per row instead, so a library upgrade does not block a resume) and the
model's name or path as typed (``config["model"]["path_as_given"]``, recorded in each
row's configuration), and likewise the name or path of an oracle's own model
(``config["oracle"]["model_as_given"]``): an oracle's model (an LLM judge, an embedding
or entailment model) is hashed by the same identity as the campaign's model.

**The model's identity** (a :class:`sampler.models.VLM` loaded with ``from_pretrained``)
is that of :func:`sampler._model_identity.model_identity`, not the spelling of its path:
for a local directory, the SHA-256 of its weight files (``*.safetensors``, ``*.bin``) and
of its ``config.json``; for a hub id of the local Hugging Face cache, the id, the
resolved commit and the files' blob names. So ``--model tiny``, ``--model ./tiny`` and
its absolute path resume one file, and two checkpoints with other weights never share
one. The digest of a weight file is computed once and cached in ``rsvlm/sha256.json``
under ``$XDG_CACHE_HOME`` (else ``~/.cache``), keyed by the file's real path, size and
modification time, so a 26 GB checkpoint is read once. A model without that identity (a
VLM built in memory) is hashed by its ``name_or_path``, and a classifier by the
``model_name`` the caller gives. Files written before this rule (whose hash held the path
as typed) hold rows of another configuration for this release: append to them with
``allow_config_change=True`` (``--allow-config-change``), or start a new file.

:func:`run_config` also refuses, before any input is certified, a known symmetric
``oracle_error`` out of the range the certificate allows for the oracle's number of
classes (:func:`check_oracle_error`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import numbers
import platform
from typing import Any

import torch

import rstheory
from rstheory._oracle_correction import check_eps
from sampler._config import CertifyConfig, config_from_keywords, jsonable

__all__ = ["check_oracle_error", "config_hash", "fixed_num_classes", "run_config"]

# Recorded in the configuration of every row, left out of its hash: (section, key).
UNHASHED = (("model", "path_as_given"), ("oracle", "model_as_given"))


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
        name = str(getattr(config, "_name_or_path", "") or type(model).__name__)
        cfg["model"] = _identity_or_name(name)
        cfg["model_as_given"] = name
    return cfg


def _identity_or_name(name: str):
    """The identity of the model ``name`` names (as for the campaign's model), or ``name``
    itself when it names no directory and no cached hub id (a model built in memory)."""
    from sampler._model_identity import model_identity, resolve_model

    try:
        resolved = resolve_model(name)
    except ValueError:
        return name
    return name if resolved is None else model_identity(resolved)


def _model_config(model, model_name: str | None) -> dict[str, Any]:
    cfg = dict(model.config_dict()) if hasattr(model, "config_dict") else {}
    # The device type changes the noise stream; the index of the GPU does not.
    device = getattr(model, "device", None)
    if device is not None:
        cfg["device"] = torch.device(device).type
    if model_name is not None:
        cfg["name"] = model_name
    elif not isinstance(cfg.get("model"), dict):  # an identity (a dict) names the model itself
        cfg["name"] = cfg.get("model", type(model).__name__)
    return jsonable(cfg)


def fixed_num_classes(oracle, model=None, num_classes: int | None = None) -> int | None:
    """The number of classes of every input of a campaign, when it is known before any:
    the oracle's ``num_classes`` (a semantic clusterer, whose classes are found per input,
    has none), else for a classifier ``num_classes`` or the model's; None otherwise."""
    if oracle is not None:
        if callable(getattr(oracle, "select", None)):
            return None
        k = getattr(oracle, "num_classes", None)
    else:
        k = num_classes if num_classes is not None else getattr(model, "num_classes", None)
    return None if k is None else int(k)


def check_oracle_error(oracle_error, num_classes: int | None, *, name: str = "oracle_error"):
    """Refuse a known symmetric error rate out of range for ``num_classes`` classes.

    The rule is :func:`rstheory.certify`'s, checked there for every input: ``0 <= eps <
    (K - 1)/K`` with ``K = max(num_classes, 2)`` (for two classes the correction ``p = (q
    - eps)/(1 - 2 eps)`` needs ``eps < 1/2``). ``"unknown"``, the error-rate objects and an
    unknown ``num_classes`` (None) are not checked here.

    Raises:
      ValueError: ``oracle_error`` out of that range (the message names ``name``, the
        range and ``K``).

    Example:
      >>> from sampler._run_config import check_oracle_error
      >>> check_oracle_error(0.3, 2)
      >>> check_oracle_error(0.7, 2)
      Traceback (most recent call last):
      ...
      ValueError: oracle_error must lie in [0, (K - 1)/K) = [0, 0.5) for num_classes=2, got 0.7
      >>> check_oracle_error(0.7, 4)
    """
    if num_classes is None or isinstance(oracle_error, bool | str):
        return
    if isinstance(oracle_error, numbers.Real):
        check_eps(float(oracle_error), max(int(num_classes), 2), name=name)


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

    Raises:
      ValueError: a symmetric ``oracle_error`` out of range for the oracle's number of
        classes (:func:`check_oracle_error`), so a campaign refuses it before any input.
    """
    cfg = config_from_keywords(config, legacy, func="run_config", sequential=None, mode=None)
    check_oracle_error(cfg.oracle_error, fixed_num_classes(oracle, model, cfg.num_classes))
    if cfg.decoding is not None and callable(getattr(model, "with_decoding", None)):
        model = model.with_decoding(cfg.decoding)
    return {
        "model": _model_config(model, model_name),
        "oracle": _oracle_config(oracle, oracle_name),
        **cfg.to_dict(),
    }


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``config`` (sorted keys, no spaces), less the
    fields recorded but not hashed (``config["model"]["path_as_given"]``).

    Example:
      >>> from sampler.run import config_hash
      >>> config_hash({"b": 1, "a": [1.0]}) == config_hash({"a": [1.0], "b": 1})
      True
      >>> config_hash({"model": {"path_as_given": "./tiny"}}) == config_hash({"model": {}})
      True
    """
    hashed = dict(config)
    for section, key in UNHASHED:
        if isinstance(hashed.get(section), dict) and key in hashed[section]:
            hashed[section] = {k: v for k, v in hashed[section].items() if k != key}
    text = json.dumps(jsonable(hashed), sort_keys=True, separators=(",", ":"), allow_nan=False)
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
