"""Attack the inputs of a certify run: one JSONL row per ``(input, eps, against)``,
appended as each is done, resumable (:func:`attack_campaign`).

**Inputs.** The ``ok`` rows of a certify run (:func:`sampler.run.run`,
``python -m sampler collect``) that did not abstain: each gives the image path, the
prompt, the certified class ``c_A`` (``top_class``), the radius ``R``, and the run's
``sigma`` and ``alpha``.

**Budgets.** ``eps`` (absolute budgets, the same for every input) and
``radius_multiples`` (``eps = m * R`` per input); a row records which
(``budget``: ``"absolute"`` or ``"radius_multiple"``) and the multiple.

**Against.** ``"base"``: the attack of the base model, moved away from its own clean
decision (a classifier's argmax; a VLM's greedy answer labelled by the oracle);
``"smoothed"``: the SmoothAdv attack of the smoothed model with the run's ``sigma``, moved
away from ``c_A`` and judged by PREDICT (:func:`sampler.attack.judge`).

**The model.** The certify rows must come from one certify run (one ``config_hash``)
made by the model attacked: :func:`attack_campaign` compares the model recorded in the
rows' configuration with the one it is given (:func:`sampler._attack_model.model_difference`:
the weights' SHA-256 of a model loaded with ``from_pretrained``, whatever the path typed;
the class and normalization of a model built in memory, whose weights cannot be checked)
and refuses a mismatch before any attack.

**Resume.** A row's key is ``(id, budget, value, against)``; a rerun skips the keys already
in the file. Each row records the attack's configuration hash (``config_hash``), the
attacked model's fingerprint (``attacked_model``) and the certify run's configuration hash
(``certify_hash``); a file holding rows of another attack configuration, another model or
another certify run is refused (write to another file), and so is a file written before
rows recorded the model (it cannot be checked; :func:`read_attack_rows` and
:func:`sampler.attack.summarize` still read it). A last line cut short by a crash is
dropped (the file rewritten without it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from sampler._attack import AGAINST, _is_vlm, attack, judge
from sampler._attack_model import Campaign, check_resumed, check_rows
from sampler._config import CertifyConfig
from sampler._draws import derive_seed
from sampler._validation import check_alpha, check_choice, check_count, check_real, check_seed

__all__ = [
    "AttackConfig",
    "CampaignSummary",
    "attack_campaign",
    "certified_rows",
    "read_attack_rows",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AttackConfig:
    """The settings of an attack campaign (hashed into every row).

    Attributes:
      eps: absolute budgets ``>= 0`` (L2, ``[0, 1]`` pixels at the model's resolution).
      radius_multiples: budgets ``m * R`` per input, ``m >= 0``.
      against: a tuple of ``"base"`` / ``"smoothed"``.
      steps, step_size, restarts, draws: those of :func:`sampler.attack.attack`.
      n, alpha, batch_size: PREDICT's copies, level and batch when judging the smoothed
        model (:func:`sampler.attack.judge`).
      text, direction: a VLM's teacher-forced answer and direction; ``text=None`` with
        ``direction="away"`` uses each input's clean greedy answer.
      seed: the campaign seed; ``(id, budget, value, against)`` derives its own.
    """

    eps: tuple[float, ...] = ()
    radius_multiples: tuple[float, ...] = ()
    against: tuple[str, ...] = AGAINST
    steps: int = 20
    step_size: float | None = None
    restarts: int = 1
    draws: int = 16
    n: int = 100
    alpha: float = 0.001
    batch_size: int = 50
    text: str | None = None
    direction: str = "away"
    seed: int = 0

    def __post_init__(self):
        for name in ("eps", "radius_multiples"):
            vals = tuple(check_real(v, name=name, low=0.0) for v in getattr(self, name))
            object.__setattr__(self, name, vals)
        if not self.eps and not self.radius_multiples:
            raise ValueError("eps or radius_multiples must hold at least one budget")
        against = tuple(check_choice(a, name="against", choices=AGAINST) for a in self.against)
        if not against:
            raise ValueError(f"against must hold at least one of {AGAINST}")
        object.__setattr__(self, "against", against)
        for name in ("restarts", "draws", "n", "batch_size"):
            object.__setattr__(self, name, check_count(getattr(self, name), name=name))
        object.__setattr__(self, "steps", check_count(self.steps, name="steps", low=0))
        object.__setattr__(self, "alpha", check_alpha(self.alpha))
        object.__setattr__(self, "seed", check_seed(self.seed))
        if self.step_size is not None:
            step = check_real(self.step_size, name="step_size", low=0.0, low_open=True)
            object.__setattr__(self, "step_size", step)
        check_choice(self.direction, name="direction", choices=("away", "toward"))
        if self.direction == "toward" and self.text is None:
            raise ValueError('text is required with direction="toward" (the answer to force)')

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, lists for tuples."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    def hash(self) -> str:
        """sha256 of :meth:`to_dict` (sorted keys)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class CampaignSummary(NamedTuple):
    """What :func:`attack_campaign` did: rows ``written`` now, ``skipped`` (already in the
    file), ``errors`` among the written, and the ``inputs`` attacked."""

    written: int
    skipped: int
    errors: int
    inputs: int


def certified_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``ok`` rows of a fixed-``n`` certify run that did not abstain (``radius > 0``)."""
    return [
        r
        for r in rows
        if r.get("status") == "ok" and not r.get("abstained") and (r.get("radius") or 0) > 0
    ]


def read_attack_rows(path) -> list[dict[str, Any]]:
    """The rows of an attack file in file order; a last line cut short is ignored."""
    lines = pathlib.Path(path).read_text(encoding="utf-8").split("\n")
    rows = []
    for i, line in enumerate(lines):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                if i < len(lines) - 1:
                    raise ValueError(f"{path}:{i + 1}: not valid JSON") from None
    return rows


def _read_done(out: pathlib.Path, campaign: Campaign) -> set[tuple]:
    if not out.exists():
        return set()
    data = out.read_bytes()
    lines = data.split(b"\n")
    keep, done = [], set()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # a last line cut short by a crash: dropped
                tmp = out.with_name(out.name + ".tmp")
                tmp.write_bytes(b"".join(x + b"\n" for x in keep))
                os.replace(tmp, out)
                break
            raise ValueError(f"out: {out}:{i + 1}: not valid JSON") from None
        check_resumed(out, i, row, campaign)
        keep.append(line)
        done.add(tuple(row["key"]))
    return done


def _budgets(cfg: AttackConfig, radius: float) -> list[tuple[str, float, float]]:
    """``(budget, value, eps)`` of one input."""
    out = [("absolute", v, v) for v in cfg.eps]
    return out + [("radius_multiple", m, m * radius) for m in cfg.radius_multiples]


def _image_path(row: dict[str, Any], base: pathlib.Path | None) -> pathlib.Path:
    path = pathlib.Path(row["image"])
    if not path.is_absolute() and not path.exists() and base is not None:
        path = base / path
    return path


def attack_campaign(
    model,
    rows: Sequence[dict[str, Any]],
    out,
    *,
    config: AttackConfig,
    oracle=None,
    image_root=None,
    progress: bool | None = None,
) -> CampaignSummary:
    """Attack every certified input of ``rows`` at every budget, against each target.

    See the module docstring. Each row is appended (flushed, fsynced) as soon as it is
    done; an exception on one attack or its judgement becomes an ``"error"`` row and the
    campaign goes on (a rerun skips it, as it skips every key in ``out``). An image that
    cannot be read, or an exception in an input's clean decision (made once per input,
    before its attacks), stops the campaign: the rows written so far stay, and a rerun
    resumes after them.
    Nothing is attacked when ``rows`` come from several certify runs or from another model,
    or when ``out`` holds rows of another attack configuration, model or certify run.

    Args:
      model: the certified model (classifier or VLM).
      rows: certify rows (:func:`sampler.run.read_rows`); those not certified are skipped.
      out: the JSONL file of attack rows, created or appended to.
      config: :class:`AttackConfig`.
      oracle: a VLM's oracle (that of the certify run); None for a classifier.
      image_root: where relative image paths of ``rows`` are looked up when they do not
        exist as given (the certify rows file's folder, say).
      progress: a tqdm bar; None: only when stderr is a terminal.

    Returns:
      :class:`CampaignSummary`.

    Raises:
      ValueError: ``rows`` of several certify runs or certified by another model than
        ``model`` (the message names ``rows`` and what differs); ``out`` holding rows of
        another attack configuration, another model, another certify run, rows written
        before rows recorded the model, or a line that is not JSON (the message names
        ``out``).
    """
    from tqdm import tqdm

    from sampler._datasets import load_image

    out = pathlib.Path(out)
    chash = config.hash()
    todo = certified_rows(rows)
    fingerprint, certify_hash = check_rows(model, todo)
    done = _read_done(out, Campaign(chash, fingerprint, certify_hash))
    base = None if image_root is None else pathlib.Path(image_root)
    total = sum(len(_budgets(config, r["radius"])) * len(config.against) for r in todo)
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    written = skipped = errors = 0
    with (
        open(out, "a", encoding="utf-8") as f,
        tqdm(total=total, unit="attack", desc="attack", disable=disable) as bar,
    ):
        for row in todo:
            tasks = [
                (b, v, e, a)
                for b, v, e in _budgets(config, row["radius"])
                for a in config.against
                if (str(row["id"]), b, v, a) not in done
            ]
            skipped += len(_budgets(config, row["radius"])) * len(config.against) - len(tasks)
            bar.update(len(_budgets(config, row["radius"])) * len(config.against) - len(tasks))
            if not tasks:
                continue
            image = load_image(_image_path(row, base).read_bytes())
            clean = _clean_decision(model, image, row, config, oracle)
            for budget, value, eps, against in tasks:
                record = _attack_one(
                    model, image, row, config, oracle, clean, budget, value, eps, against
                )
                record.update(
                    config_hash=chash,
                    config=config.to_dict(),
                    attacked_model=fingerprint,
                    certify_hash=certify_hash,
                )
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
                written += 1
                errors += record["status"] == "error"
                bar.update(1)
    return CampaignSummary(written, skipped, errors, len(todo))


class _Clean(NamedTuple):
    base_class: int
    text: str | None


def _clean_decision(model, image, row, config: AttackConfig, oracle) -> _Clean:
    prepared = model.prepare(image, row.get("prompt"))
    res = judge(model, prepared, row.get("prompt"), clean_class=0, oracle=oracle)
    return _Clean(res.predicted, res.text)


def _attack_one(
    model, image, row, cfg: AttackConfig, oracle, clean: _Clean, budget, value, eps, against
):
    rid = str(row["id"])
    sigma = float(row["config"]["sigma"])
    seed = derive_seed(cfg.seed, "attack", rid, budget, repr(float(value)), against)
    is_vlm = _is_vlm(model)
    text = cfg.text if cfg.text is not None else clean.text
    target = clean.base_class if against == "base" else int(row["top_class"])
    record = {
        "id": rid,
        "key": [rid, budget, value, against],
        "status": None,
        "error": None,
        "budget": budget,
        "value": value,
        "eps": eps,
        "against": against,
        "radius": float(row["radius"]),
        "below_radius": eps < float(row["radius"]),
        "sigma": sigma,
        "certify_alpha": float(row["config"]["alpha"]),
        "judge_alpha": cfg.alpha,
        "certified_class": int(row["top_class"]),
        "clean_class": target,
        "objective_text": text if is_vlm else None,
    }
    t0 = time.perf_counter()
    try:
        res = attack(
            model,
            image,
            row.get("prompt"),
            eps=eps,
            steps=cfg.steps,
            step_size=cfg.step_size,
            restarts=cfg.restarts,
            against=against,
            sigma=sigma if against == "smoothed" else None,
            draws=cfg.draws,
            label=None if is_vlm else target,
            text=text if is_vlm else None,
            direction=cfg.direction if is_vlm else "away",
            seed=seed,
        )
        judge_cfg = None
        if against == "smoothed":
            judge_cfg = CertifyConfig(
                n0=1,
                n=cfg.n,
                sigma=sigma,
                alpha=cfg.alpha,
                seed=derive_seed(seed, "judge"),
                batch_size=cfg.batch_size,
                num_classes=None if oracle is not None else row.get("num_classes"),
            )
        verdict = judge(
            model,
            res.prepared,
            row.get("prompt"),
            clean_class=target,
            against=against,
            config=judge_cfg,
            oracle=oracle,
        )
    except Exception as err:  # one failed attack never stops the campaign
        record.update(status="error", error={"type": type(err).__name__, "message": str(err)})
        record["seconds"] = time.perf_counter() - t0
        return record
    record.update(
        status="ok",
        norm=res.norm,
        loss=res.loss,
        restart=res.restart,
        **verdict.summary(),
        seconds=time.perf_counter() - t0,
    )
    return record
