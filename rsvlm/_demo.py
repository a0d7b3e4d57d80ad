"""The steps of ``python -m rsvlm demo``; each takes plain values and returns JSON-ready ones.

Measurement (:func:`step_model`, :func:`step_images`, :func:`step_collect`): by default
(``model_kind="trained"``, :mod:`rsvlm._demo_trained`) the small LLaVA trained on the toy
task, held-out toy images and questions, and two oracles (answer classes, refusal judge),
plus a sweep over sigma; with ``model_kind="random"`` a tiny random LLaVA (built offline
when missing) on synthetic images (smooth random colour patterns) with a rule oracle. Noisy
copies go through the model, one resumable JSONL row per image (:func:`sampler.run.run`).
Analysis: certificates from the counts (:func:`step_certificates`), the fit of Pr(p_A)
and mean radius and certified accuracy against n by subsampling the collected votes
(:func:`rsvlm._demo_curves.step_fit`, :func:`rsvlm._demo_curves.step_curves`), the
planner (:func:`rsvlm._demo_plan.step_plan`), the planner from a pilot of the first votes
against the larger run (:func:`rsvlm._demo_pilot.step_pilot`), the sequential rule
(:func:`rsvlm._demo_sequential.step_sequential`), the attack of the certified inputs
(:func:`rsvlm._demo_attack.step_attack`), the published certifications
(:func:`rsvlm._demo_published.step_published`), Cohen et al.'s ImageNet logs
(:func:`rsvlm._demo_analyze.step_analyze`) and the theorem checks (:func:`step_theorems`).
:func:`run_demo` runs them in order and records every failure instead of stopping.

Example (the subsampling rule, without a model):
  >>> import numpy as np
  >>> from rsvlm._demo import subsample_counts
  >>> subsample_counts(np.array([0, 0, 1, 0]), top=0, sizes=[4], repeats=2, seed=0).tolist()
  [[3, 3]]
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import pathlib
import platform
import time
import traceback

import numpy as np

# The fit and the curves live in rsvlm._demo_curves; their names stay importable from here.
from rsvlm._demo_curves import (  # noqa: F401
    fitted_distribution,
    size_grid,
    step_curves,
    step_fit,
    subsample_counts,
)
from rsvlm._demo_plan import seconds_per_batch, step_plan  # noqa: F401

PROMPT = "Which way should the robot go?"


@dataclasses.dataclass
class DemoConfig:
    """Every size and setting of the demo (the command line's flags).

    ``model_kind``: ``"trained"`` (:func:`sampler.tiny.trained_llava`, from ``cache_dir``
    and ``train_config``, default the sampler's) or ``"random"`` (the tiny random LLaVA at
    ``model``). ``None`` for ``oracle``, ``max_new_tokens`` and ``prompt`` means the kind's
    own (:func:`rsvlm._demo_trained.resolve`); ``image_size`` is the random kind's (the toy
    images are 28 pixels). ``sweep_*``: the trained kind's sweep over sigma.
    """

    out_dir: str = "reports"
    model_kind: str = "trained"
    model: str = ".cache/tiny-llava"
    cache_dir: str | None = None
    train_config: object = None  # a sampler._train_tiny.TrainConfig, or None: the default
    images: int = 16
    image_size: int = 32
    n0: int = 16
    n: int = 1024
    sigma: float = 0.25
    alpha: float = 0.001
    seed: int = 0
    oracle: str | None = None
    max_new_tokens: int | None = None
    temperature: float = 0.0  # 0: greedy decoding
    batch_size: int = 128
    prompt: str | None = None
    repeats: int = 20
    at_radius: float = 0.1
    target_ratio: float = 0.9
    reference_n: int = 10_000
    campaign_inputs: int = 500
    # The 2025 paper reports about 2.8 s of wall time per input at n = 100 on 4 A100s: one
    # batch of 100 samples over 4 devices, i.e. 4 x 2.8 = 11.2 device-seconds per batch (the
    # reading of notebooks/03_plan_budget.py).
    example_seconds_per_batch: float = 11.2
    example_batch_size: int = 100
    example_devices: int = 4
    data_dir: str | None = None
    skip_published: bool = False
    datasets: list[str] | None = None  # published datasets to compare; None: all found
    theorems: list[str] | None = None
    dps: int = 50
    sweep_sigmas: tuple[float, ...] = (0.12, 0.25, 0.5)
    sweep_images: int = 8
    sweep_n: int = 512
    pilot_n: int | None = None  # the pilot's votes per input; None: max(4, n // 16), <= n
    skip_attack: bool = False
    attack_inputs: int = 4  # certified inputs attacked (the first ones)
    attack_steps: int = 20
    attack_draws: int = 8
    attack_n: int = 64  # PREDICT's copies judging the smoothed model
    attack_multiples: tuple[float, ...] = (0.5, 2.0)
    attack_eps: tuple[float, ...] = (0.25, 0.5, 1.0)


def versions() -> dict[str, str | None]:
    """Python and library versions, ``None`` where a package is not installed."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("rsvlm", "jax", "jaxlib", "torch", "transformers", "numpy", "scipy", "matplotlib"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


# ----------------------------------------------------------------------------- measurement


def step_model(cfg: DemoConfig) -> dict:
    """Build the tiny random LLaVA at ``cfg.model`` unless a model is already there."""
    from sampler import tiny

    path = pathlib.Path(cfg.model)
    built = not (path / "config.json").exists()
    if built:
        tiny.build_tiny_llava(path)
    return {"path": str(path), "built": built}


def step_images(cfg: DemoConfig) -> list[str]:
    """Write ``cfg.images`` synthetic PNGs (4 x 4 random colours, bicubic upsampling)."""
    from PIL import Image

    folder = pathlib.Path(cfg.out_dir) / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    paths = []
    for i in range(cfg.images):
        low = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
        img = Image.fromarray(low).resize((cfg.image_size, cfg.image_size), Image.BICUBIC)
        p = folder / f"synthetic_{i:02d}.png"
        img.save(p)
        paths.append(str(p))
    return paths


def _oracle(name: str):
    from rsvlm._demo_trained import answer_oracle
    from sampler import oracles

    if name == "actions":
        return oracles.ActionParser()
    if name == "refusal":
        return oracles.RefusalJudge()
    if name == "answers":
        return answer_oracle()
    raise ValueError(f"oracle must be 'actions', 'refusal' or 'answers', got {name!r}")


def decoding_config(cfg: DemoConfig):
    """The :class:`sampler.models.DecodingConfig` of the demo's model (greedy at
    ``temperature = 0``)."""
    from sampler.models import DecodingConfig

    sampled = cfg.temperature > 0
    return DecodingConfig(
        max_new_tokens=cfg.max_new_tokens,
        do_sample=sampled,
        temperature=cfg.temperature if sampled else 1.0,
        seed=cfg.seed,
    )


def step_collect(cfg: DemoConfig, model_path: str, image_paths: list[str], prompts=None) -> dict:
    """Certify every image with :func:`sampler.run.run`; the rows file is named by its hash.

    ``prompts``: one per image, default ``cfg.prompt`` for all; the trained kind keeps the
    texts (for the refusal judge of :func:`rsvlm._demo_trained.step_toy_task`)."""
    from sampler import CertifyConfig
    from sampler.models import VLM
    from sampler.run import Input, config_hash, run, run_config

    decoding = decoding_config(cfg)
    vlm = VLM.from_pretrained(model_path, decoding=decoding)
    oracle = _oracle(cfg.oracle)
    config = CertifyConfig(
        n0=cfg.n0,
        n=cfg.n,
        sigma=cfg.sigma,
        alpha=cfg.alpha,
        seed=cfg.seed,
        batch_size=cfg.batch_size,
        keep_texts=cfg.model_kind == "trained",
    )
    kwargs = dict(config=config, oracle=oracle, oracle_name=cfg.oracle)
    chash = config_hash(run_config(vlm, **kwargs))
    out = pathlib.Path(cfg.out_dir) / f"rows-{chash[:12]}.jsonl"
    prompts = [cfg.prompt] * len(image_paths) if prompts is None else prompts
    inputs = [
        Input(pathlib.Path(p).name, pathlib.Path(p), q)
        for p, q in zip(image_paths, prompts, strict=True)
    ]
    summary = run(vlm, inputs, out, progress=False, **kwargs)
    if summary.errors:
        raise RuntimeError(f"{summary.errors} input(s) failed; see the error rows in {out}")
    return {
        "rows": str(out),
        "config_hash": summary.config_hash,
        "inputs": summary.inputs,
        "resumed": summary.skipped,
        "decoding": decoding.to_dict(),
        "class_names": list(oracle.labels),
    }


# ----------------------------------------------------------------------------- analysis


def step_certificates(rows: list[dict], cfg: DemoConfig) -> list[dict]:
    """One certificate per ok row, recomputed from its ``(k, n)`` by :func:`rstheory.certify`."""
    import rstheory

    ok = [r for r in rows if r["status"] == "ok"]
    k = np.array([r["k"] for r in ok], dtype=np.int64)
    n = np.array([r["n"] for r in ok], dtype=np.int64)
    c = rstheory.certify(k, n, alpha=cfg.alpha, sigma=cfg.sigma)
    return [
        {
            "id": r["id"],
            "top_class": r["top_class"],
            "class": r["class_names"][r["top_class"]],
            "selection_counts": r["selection_counts"],
            "estimation_counts": r["estimation_counts"],
            "k": int(k[i]),
            "n": int(n[i]),
            "p_lower": float(c.p_lower[i]),
            "radius": float(c.radius[i]),
            "abstained": bool(c.abstained[i]),
        }
        for i, r in enumerate(ok)
    ]


def step_theorems(cfg: DemoConfig) -> list[dict]:
    """:func:`proofs_check.run_all` as rows (name, symbolic, numeric error, tolerance, pass)."""
    import proofs_check

    def num(x):
        return None if x is None or not math.isfinite(x) else float(x)

    return [
        {
            "name": r.theorem.name,
            "source": r.theorem.source,
            "symbolic": None if r.symbolic is None else bool(r.symbolic.passed),
            "numeric_error": None if r.numeric is None else num(r.numeric.max_error),
            "tolerance": None if r.numeric is None else num(r.numeric.tolerance),
            "passed": bool(r.passed),
        }
        for r in proofs_check.run_all(dps=cfg.dps, names=cfg.theorems)
    ]


# ----------------------------------------------------------------------------- orchestration


def step_pilot_of(rows: list[dict], cfg: DemoConfig) -> dict:
    """:func:`rsvlm._demo_pilot.step_pilot` with the demo's settings (``cfg.pilot_n``, or
    ``max(4, n // 16)`` votes per input when it is None, at most ``n``)."""
    from rsvlm._demo_pilot import step_pilot

    pilot_n = cfg.pilot_n if cfg.pilot_n is not None else min(cfg.n, max(4, cfg.n // 16))
    return step_pilot(
        rows,
        pilot_n=pilot_n,
        alpha=cfg.alpha,
        sigma=cfg.sigma,
        at_radius=cfg.at_radius,
        target_ratio=cfg.target_ratio,
    )


def run_demo(cfg: DemoConfig, log=print) -> tuple[pathlib.Path, bool]:
    """Run every step, write the report; returns its path and whether every step succeeded."""
    from rsvlm import _demo_trained as trained
    from rsvlm import _report
    from rsvlm._demo_analyze import add_section, step_analyze
    from rsvlm._demo_attack import step_attack
    from rsvlm._demo_published import step_published
    from rsvlm._demo_sequential import step_sequential
    from sampler.run import read_rows

    cfg = trained.resolve(cfg)
    res: dict = {"config": dataclasses.asdict(cfg), "versions": versions(), "steps": {}}

    def step(name, fn, *args, needs=()):
        missing = [s for s in needs if not res["steps"].get(s, {}).get("ok")]
        if missing:
            res["steps"][name] = {"ok": False, "seconds": 0.0, "error": f"skipped: needs {missing}"}
            return None
        log(f"[demo] {name} ...")
        t0 = time.perf_counter()
        try:
            value = fn(*args)
            res["steps"][name] = {"ok": True, "seconds": time.perf_counter() - t0, "error": None}
            res[name] = value
            return value
        except Exception as err:  # recorded in the report; the exit status says it failed
            res["steps"][name] = {
                "ok": False,
                "seconds": time.perf_counter() - t0,
                "error": f"{type(err).__name__}: {err}",
            }
            log(traceback.format_exc())
            return None

    pathlib.Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
    is_trained = cfg.model_kind == "trained"
    model = step("model", trained.step_model if is_trained else step_model, cfg)
    toy = step("toy_inputs", trained.step_images, cfg) if is_trained else None
    if toy:
        images = res["images"] = toy["paths"]  # the inputs figure's
    else:
        images = None if is_trained else step("images", step_images, cfg)
    prompts = toy["prompts"] if toy else None
    needs = ("model", "toy_inputs" if is_trained else "images")
    coll = step("collect", lambda: step_collect(cfg, model["path"], images, prompts), needs=needs)
    rows = read_rows(coll["rows"]) if coll else []
    step("certificates", step_certificates, rows, cfg, needs=("collect",))
    if is_trained:
        step("toy_task", trained.step_toy_task, rows, toy, cfg, needs=("collect",))
        sweep = lambda: trained.step_sigma_sweep(cfg, model["path"], toy)
        step("sigma_sweep", sweep, needs=("collect",))
    if cfg.skip_attack:
        res["attack"] = {"skipped": "--skip-attack was given"}
    else:
        attack = lambda: step_attack(cfg, model["path"], rows, res.get("toy_task"))
        step("attack", attack, needs=("toy_task",) if is_trained else ("certificates",))
    fit = step("fit", step_fit, coll["rows"] if coll else None, needs=("collect",))
    step("curves", step_curves, rows, fit, cfg, needs=("fit",))
    step("plan", step_plan, fit, rows, cfg, needs=("fit",))
    step("pilot", step_pilot_of, rows, cfg, needs=("collect",))
    step("sequential", step_sequential, fit, rows, cfg, needs=("fit",))
    if cfg.skip_published:
        res["published"] = {"skipped": "--skip-published was given", "datasets": []}
    else:
        step("published", step_published, cfg)
    step("analyze", step_analyze, cfg)
    step("theorems", step_theorems, cfg)
    res["ok"] = all(s["ok"] for s in res["steps"].values()) and all(
        t["passed"] for t in res.get("theorems") or []
    )
    path = _report.write(res, pathlib.Path(cfg.out_dir))  # a failed figure sets ok to False
    add_section(res, path)
    return path, res["ok"]
