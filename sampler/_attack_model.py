"""Which model an attack campaign attacks, and whether it is the one that certified its
rows (:func:`model_fingerprint`, :func:`model_difference`), checked on the certify rows
(:func:`check_rows`) and on the rows of a resumed attack file (:func:`check_resumed`).

A certify row's configuration (:func:`sampler.run.run_config`) records the model in
``config["model"]``; :func:`model_fingerprint` keeps of it the fields that say *which
model* it is, and the same fields of a model in memory:

* ``model``: a :class:`sampler.models.VLM` loaded with ``from_pretrained`` carries its
  :attr:`~sampler.models.VLM.identity` (:func:`sampler._model_identity.model_identity`:
  the SHA-256 of its weight files and ``config.json``, or the blob names of a hub
  snapshot); a VLM built in memory has its ``name_or_path`` there instead;
* ``model_class``: the class of the network (a VLM's ``transformers`` class, a
  classifier's ``torch.nn.Module``);
* ``input_size`` and ``normalization``: the resolution and the normalization the model
  applies to ``[0, 1]`` pixels.

Two fingerprints differ when a field both give differs. Two identities are compared by
their files: the weight files' digests, and ``config.json`` too when both come from the
same kind of source (a directory's SHA-256 and a hub blob name are different digests of
``config.json``; for the weights, stored by Git LFS, both are the SHA-256). So a model
saved to two folders is one model, whatever the path typed, and two checkpoints with other
weights are two. An identity is not compared with a name (a model loaded from files
against one built in memory).

**What cannot be checked.** The weights of a model built in memory (a classifier wrapping
a ``torch.nn.Module``, a VLM built from objects) are hashed nowhere: two such models of one
class and one normalization cannot be told apart, and a caller's ``model_name`` of
:func:`sampler.run.run` is a label, not compared. The device, the dtype and a VLM's
decoding are not part of the fingerprint (an attack on the GPU of a model certified on the
CPU is an attack of that model).
"""

from __future__ import annotations

import fnmatch
import json
import pathlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from sampler._config import jsonable

__all__ = ["Campaign", "check_resumed", "check_rows", "model_difference", "model_fingerprint"]

FIELDS = ("model", "model_class", "input_size", "normalization")
_WEIGHTS = ("*.safetensors", "*.bin")


def model_fingerprint(model_or_config) -> dict[str, Any]:
    """The fields of :data:`FIELDS` of a model (through its ``config_dict()``) or of a
    certify row's ``config["model"]`` (a dict), JSON-ready; ``{}`` for a model without
    ``config_dict`` (nothing to compare).

    Example:
      >>> import torch
      >>> from sampler._attack_model import model_fingerprint
      >>> from sampler.models import ImageClassifier
      >>> fp = model_fingerprint(ImageClassifier(torch.nn.Flatten()))
      >>> fp["model_class"], sorted(fp)
      ('Flatten', ['input_size', 'model_class', 'normalization'])
    """
    if isinstance(model_or_config, dict):
        cfg = model_or_config
    elif callable(getattr(model_or_config, "config_dict", None)):
        cfg = model_or_config.config_dict()
    else:
        return {}
    return jsonable({k: cfg[k] for k in FIELDS if k in cfg})


def _files(identity: dict[str, Any], *, weights_only: bool) -> dict[str, Any]:
    files = dict(identity.get("files") or {})
    if weights_only:
        files = {k: v for k, v in files.items() if any(fnmatch.fnmatch(k, p) for p in _WEIGHTS)}
    return files


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def model_difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """What differs between two fingerprints (a sentence naming the field and both values),
    None where every field that both give agrees (see the module docstring).

    Example:
      >>> from sampler._attack_model import model_difference
      >>> a = {"model": {"source": "directory", "files": {"model.safetensors": "ab12"}}}
      >>> b = {"model": {"source": "hub", "id": "org/m", "files": {"model.safetensors": "ab12"}}}
      >>> model_difference(a, b) is None
      True
      >>> model_difference(a, {"model": {"source": "directory", "files": {}}})
      'model files {"model.safetensors": "ab12"} against {}'
      >>> model_difference({"model_class": "A"}, {"model_class": "B"})
      'model_class "A" against "B"'
    """
    for field in FIELDS:
        if field not in a or field not in b:
            continue
        x, y = a[field], b[field]
        if field == "model" and isinstance(x, dict) and isinstance(y, dict):
            weights_only = x.get("source") != y.get("source")
            fx, fy = _files(x, weights_only=weights_only), _files(y, weights_only=weights_only)
            if fx != fy:
                what = "weight files" if weights_only else "model files"
                return f"{what} {_short(fx)} against {_short(fy)}"
        elif field == "model" and isinstance(x, dict) != isinstance(y, dict):
            continue  # an identity against a name: not comparable
        elif x != y:
            return f"{field} {_short(x)} against {_short(y)}"
    return None


class Campaign(NamedTuple):
    """What every row of one attack file shares: the attack configuration's hash, the
    attacked model's fingerprint and the certify run's configuration hash."""

    config_hash: str
    model: dict[str, Any]
    certify_hash: str | None


def check_rows(model, todo: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], str | None]:
    """The attacked model's fingerprint and the certify run's hash; refuses rows of several
    certify runs or of another model."""
    fingerprint = model_fingerprint(model)
    hashes = sorted({str(r.get("config_hash")) for r in todo})
    if len(hashes) > 1:
        short = ", ".join(h[:12] + "..." for h in hashes)
        raise ValueError(
            f"rows: certify rows of {len(hashes)} certify runs (config hashes {short}): "
            "attack one run at a time, each to its own file"
        )
    for r in todo[:1]:
        certified = model_fingerprint((r.get("config") or {}).get("model") or {})
        diff = model_difference(certified, fingerprint)
        if diff is not None:
            raise ValueError(
                f"rows: certified by another model than the one attacked ({diff}, "
                "certify rows against attacked model)"
            )
    certify_hash = todo[0].get("config_hash") if todo else None
    return fingerprint, certify_hash


def check_resumed(out: pathlib.Path, i: int, row: dict[str, Any], campaign: Campaign):
    """Refuse row ``i`` of the attack file ``out`` when it is not of ``campaign``: another
    attack configuration, no recorded model (an older file), another model
    (:func:`model_difference`) or another certify run; each message names ``out``."""
    where = f"out: {out}:{i + 1}"
    if row.get("config_hash") != campaign.config_hash:
        raise ValueError(
            f"out: {out} holds rows of another attack configuration (hash "
            f"{str(row.get('config_hash'))[:12]}...): write to another file"
        )
    if "attacked_model" not in row:
        raise ValueError(
            f"{where}: a row written without the attacked model (an older release), which "
            "cannot be checked against this one: write to another file"
        )
    diff = model_difference(row["attacked_model"] or {}, campaign.model)
    if diff is not None:
        raise ValueError(
            f"out: {out} holds rows of another model ({diff}, file against attacked "
            "model): write to another file"
        )
    if row.get("certify_hash") != campaign.certify_hash:
        raise ValueError(
            f"out: {out} holds rows of another certify run (config hash "
            f"{str(row.get('certify_hash'))[:12]}... against "
            f"{str(campaign.certify_hash)[:12]}...): write to another file"
        )
