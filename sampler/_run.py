"""Campaigns: :func:`sampler.certify.certify` over a dataset, one JSONL row per input.

**Datasets** (:func:`read_dataset`), each a list of :class:`Input` ``(id, image, prompt)``:

* a folder of images (``.png .jpg .jpeg .bmp .gif .webp .tif .tiff``, searched
  recursively, hidden files skipped, sorted): id = the path relative to the folder
  (``/``-separated); one prompt for all, given by the caller;
* a JSONL file, one object per line with ``"id"`` (string or int), ``"image"`` (a path,
  relative to the JSONL file's folder unless absolute) and ``"prompt"``; blank lines are
  skipped; ids must be unique;
* MM-SafetyBench's layout, recognised by a ``data/processed_questions`` (or
  ``processed_questions``) folder under the given root. Each ``<scenario>.json`` there maps
  question ids (``"0"``, ``"1"``, ...) to objects; the image of question ``q`` in variant
  ``V`` is ``imgs/<scenario>/<V>/<q>.jpg`` under the root (or under ``root/data``). The
  prompt is the field ``"Rephrased Question(SD)"`` for ``V = "SD"`` and
  ``"Rephrased Question"`` for ``"TYPO"`` and ``"SD_TYPO"`` (the benchmark's pairing);
  no other field is read. id = ``"<scenario>/<V>/<q>"``; order: scenarios by name, then
  variants as asked, then question ids (numerically). A variant folder that does not
  exist is skipped; a missing image inside an existing one becomes an error row.

**Rows.** :func:`run` appends one JSON object per input to the output file, written,
flushed and ``os.fsync``-ed as soon as the input is done. Fields: ``id``, ``config_hash``,
``seed`` (the input's own seed, ``derive_seed(seed, "input", id)``: independent of the
order and of which machine runs the input), ``status`` (``"ok"`` or ``"error"``),
``error`` (``{"type", "message"}`` or None), ``prompt``, ``image``, ``input_sha256``
(SHA-256 of the image file's bytes and the prompt), ``top_class``, ``class_names``,
``num_classes``, ``n0``, ``selection_counts``, ``estimation_counts``, ``k``, ``n``,
``p_lower``, ``q_lower``, ``radius``, ``abstained``, ``alpha_spent``, ``correction``,
``selection_labels``, ``estimation_labels`` (per sample, in draw order), ``texts``
(``{"selection": [...], "estimation": [...]}`` when asked, else None), ``noise`` (the
:class:`sampler.models.NoiseSpec`), ``config`` (the hashed configuration), ``versions``
(Python and library versions) and ``timings`` (seconds of image loading, selection,
estimation, oracle and the whole input, and the UTC time the row was written). An error
row has the same keys with None for the results.

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

**Backends.** :func:`run` certifies in this process; :func:`sampler.run.run_ray`
(``collect --backend ray``) spreads the inputs over Ray workers that each load the model
once. Both build each row with the same function (:func:`_certify_row`), write it with the
same writer (:class:`_Writer`, in the calling process only) and resume with the same code
(:func:`_resume`), so their rows and configuration hash are the same (the backend is not
hashed) and a file started by one is finished by the other.

**Resume.** On start the output file is read; a last line cut short by a crash (no
newline, or not valid JSON) is dropped and the file rewritten cleanly (atomically). Inputs
whose ``(id, config hash)`` already have a row are skipped, so an interrupted run run again
loses and duplicates nothing; error rows count as done unless ``retry_errors``, which
removes them first. Rows of a different configuration hash in the file are refused
(:class:`ConfigMismatchError`) unless ``allow_config_change``; a done input whose prompt
changed is refused too.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import io
import json
import os
import pathlib
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

import rstheory
from rstheory import rows as _rows
from rstheory.rows import ConfigMismatchError
from sampler._certify import certify, derive_seed
from sampler._config import CertifyConfig, config_from_keywords, jsonable
from sampler._validation import check_int

__all__ = [
    "IMAGE_SUFFIXES",
    "MMSB_PROMPT_FIELDS",
    "ConfigMismatchError",
    "Input",
    "RunSummary",
    "config_hash",
    "load_counts",
    "load_image",
    "read_dataset",
    "read_rows",
    "run",
    "run_config",
    "write_parquet",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# MM-SafetyBench: image variant -> the question field paired with it.
MMSB_PROMPT_FIELDS = {
    "SD": "Rephrased Question(SD)",
    "SD_TYPO": "Rephrased Question",
    "TYPO": "Rephrased Question",
}
_MMSB_VARIANTS = ("SD", "SD_TYPO", "TYPO")


class Input(NamedTuple):
    """One input of a campaign: its id, the image file and the prompt (None: a classifier)."""

    id: str
    image: pathlib.Path
    prompt: str | None


class RunSummary(NamedTuple):
    """Result of a completed :func:`run`.

    Attributes:
      out: the JSONL file.
      config_hash: the hash of this run's configuration.
      inputs: inputs in the dataset (after ``limit``).
      skipped: inputs that already had a row.
      ok, errors: rows written by this call, by status.
      repaired: whether a truncated last line was dropped on start.
      parquet: the Parquet copy, or None.
    """

    out: pathlib.Path
    config_hash: str
    inputs: int
    skipped: int
    ok: int
    errors: int
    repaired: bool
    parquet: pathlib.Path | None


# ---------------------------------------------------------------------------------------
# Datasets.


def _natural(key: str):
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _read_folder(root: pathlib.Path, prompt: str | None) -> list[Input]:
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    return [Input(p.relative_to(root).as_posix(), p, prompt) for p in files]


def _read_jsonl(path: pathlib.Path) -> list[Input]:
    inputs, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({err})") from err
            if not isinstance(obj, dict) or not {"id", "image", "prompt"} <= obj.keys():
                raise ValueError(
                    f"{path}:{lineno}: each line must be an object with 'id', 'image' and "
                    f"'prompt', got {line.strip()[:80]!r}"
                )
            key, image, prompt = obj["id"], obj["image"], obj["prompt"]
            if isinstance(key, bool) or not isinstance(key, str | int):
                raise ValueError(f"{path}:{lineno}: 'id' must be a string or an int, got {key!r}")
            if not isinstance(image, str) or not isinstance(prompt, str | None):
                raise ValueError(
                    f"{path}:{lineno}: 'image' must be a path string and 'prompt' a string"
                )
            key = str(key)
            if key in seen:
                raise ValueError(f"{path}:{lineno}: duplicate id {key!r}")
            seen.add(key)
            inputs.append(Input(key, path.parent / image, prompt))
    return inputs


def _mmsb_questions_dir(root: pathlib.Path) -> pathlib.Path | None:
    for q in (root / "data" / "processed_questions", root / "processed_questions"):
        if q.is_dir():
            return q
    return None


def _read_mmsb(root: pathlib.Path, variants: Sequence[str], scenarios) -> list[Input]:
    for v in variants:
        if v not in MMSB_PROMPT_FIELDS:
            raise ValueError(f"MM-SafetyBench variants must be among {_MMSB_VARIANTS}, got {v!r}")
    qdir = _mmsb_questions_dir(root)
    imgs = next((d for d in (root / "imgs", root / "data" / "imgs") if d.is_dir()), root / "imgs")
    files = sorted(qdir.glob("*.json"))
    if scenarios is not None:
        wanted = set(scenarios)
        missing = wanted - {f.stem for f in files}
        if missing:
            raise ValueError(f"MM-SafetyBench scenarios not found in {qdir}: {sorted(missing)}")
        files = [f for f in files if f.stem in wanted]
    inputs = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            questions = json.load(fh)
        if not isinstance(questions, dict):
            raise ValueError(f"{f}: expected an object mapping question ids to fields")
        for variant in variants:
            vdir = imgs / f.stem / variant
            if not vdir.is_dir():
                continue
            field = MMSB_PROMPT_FIELDS[variant]
            for qid in sorted(questions, key=_natural):
                entry = questions[qid]
                prompt = entry.get(field) if isinstance(entry, dict) else None
                if not isinstance(prompt, str) or not prompt.strip():
                    raise ValueError(f"{f}: question {qid!r} has no string field {field!r}")
                inputs.append(Input(f"{f.stem}/{variant}/{qid}", vdir / f"{qid}.jpg", prompt))
    return inputs


def read_dataset(
    path,
    *,
    prompt: str | None = None,
    variants: Sequence[str] = _MMSB_VARIANTS,
    scenarios: Iterable[str] | None = None,
) -> list[Input]:
    """The inputs of a dataset: a folder of images, a JSONL file or MM-SafetyBench's layout.

    See the module docstring for the three formats and the ids.

    Args:
      path: a ``.jsonl`` file, or a folder (MM-SafetyBench when it has
        ``data/processed_questions`` or ``processed_questions``, else a folder of images).
      prompt: the prompt of every image of a folder (None for a classifier); must be None
        for the other formats, which carry their own prompts.
      variants: MM-SafetyBench image variants to read, among ``"SD"``, ``"SD_TYPO"``,
        ``"TYPO"``.
      scenarios: MM-SafetyBench scenario names (file stems) to read; None for all.

    Returns:
      the inputs, in a deterministic order.

    Raises:
      ValueError: a missing path, a malformed JSONL line, a duplicate id, an
        MM-SafetyBench question without its prompt field, or ``prompt`` given for a
        format that has its own.

    Example:
      >>> import json, pathlib, tempfile
      >>> from sampler.run import read_dataset
      >>> d = pathlib.Path(tempfile.mkdtemp())
      >>> _ = (d / "data.jsonl").write_text(json.dumps({"id": 7, "image": "a.png",
      ...                                               "prompt": "what?"}) + "\\n")
      >>> [(x.id, x.image.name, x.prompt) for x in read_dataset(d / "data.jsonl")]
      [('7', 'a.png', 'what?')]
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise ValueError(f"data path {path} does not exist")
    if path.is_file():
        if path.suffix.lower() not in (".jsonl", ".ndjson"):
            raise ValueError(f"data file {path} must be a .jsonl file (or give a folder)")
        if prompt is not None:
            raise ValueError("prompt must be None for a JSONL dataset (each line has its own)")
        return _read_jsonl(path)
    if _mmsb_questions_dir(path) is not None:
        if prompt is not None:
            raise ValueError("prompt must be None for MM-SafetyBench (its questions are used)")
        return _read_mmsb(path, tuple(variants), scenarios)
    return _read_folder(path, prompt)


def load_image(data: bytes) -> torch.Tensor:
    """Decode image bytes (any format Pillow reads) to RGB ``(3, H, W)`` float32 in ``[0, 1]``.

    Raises:
      PIL.UnidentifiedImageError / OSError: not an image, or a truncated one.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div_(255.0)


# ---------------------------------------------------------------------------------------
# Configuration and its hash.


_jsonable = jsonable  # one JSON form of rows and hashes (sampler._config)


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
            cfg[field] = _jsonable(getattr(oracle, field))
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
    return _jsonable(cfg)


def run_config(
    model,
    *,
    config: CertifyConfig | None = None,
    oracle=None,
    oracle_name: str | None = None,
    model_name: str | None = None,
    **legacy,
) -> dict[str, Any]:
    """The configuration of a campaign that :func:`config_hash` hashes (module docstring).

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
    text = json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("torch", "transformers", "numpy", "jax", "jaxlib", "rsvlm"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    out["rstheory"] = getattr(rstheory, "__version__", None)
    return out


# ---------------------------------------------------------------------------------------
# Reading and repairing the output file.


def _scan(path: pathlib.Path) -> tuple[list[dict], bytes, bool]:
    """Rows, the bytes of the complete lines, and whether a cut last line was dropped."""
    scan = _rows.scan_rows(path)
    return scan.rows, scan.clean, scan.truncated


def _rewrite(path: pathlib.Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_rows(path) -> list[dict[str, Any]]:
    """The rows of a run's JSONL file, in file order; a cut last line is ignored (not repaired).

    The reader is :func:`rstheory.rows.read_rows`, shared with ``rstheory plan``.

    Raises:
      ValueError: a line other than the last is not valid JSON or not a row.
    """
    return _rows.read_rows(path)


def load_counts(path, *, config_hash: str | None = None) -> _rows.Counts:
    """``(k, n)`` of the ``ok`` rows of a run, int64 arrays ``(N,)``, in file order.

    They go straight into :meth:`rstheory.distributions.Empirical.from_counts` (plug-in
    ``k / n`` per input) or :func:`rstheory.certify`. The reader is
    :func:`rstheory.rows.load_counts`, shared with ``rstheory plan --dist fit:FILE``; the
    result is a :class:`rstheory.rows.Counts` ``(k, n)``.

    Args:
      path: the run's JSONL file.
      config_hash: keep the rows of this configuration only; required when the file holds
        rows of several (mixing configurations would mix distributions).

    Raises:
      ConfigMismatchError: several configuration hashes and none chosen (a ValueError).
      ValueError: an unknown configuration hash; an ok row whose ``k`` or ``n`` is not a
        JSON integer with ``0 <= k <= n``, ``n >= 1`` (the message names the file, the line
        and the field).

    Example:
      >>> import json, pathlib, tempfile
      >>> from sampler.run import load_counts
      >>> f = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
      >>> rows = [{"id": "a", "config_hash": "h", "status": "ok", "k": 9, "n": 10},
      ...         {"id": "b", "config_hash": "h", "status": "error", "k": None, "n": None}]
      >>> _ = f.write_text("".join(json.dumps(r) + "\\n" for r in rows))
      >>> k, n = load_counts(f)
      >>> k, n
      (array([9]), array([10]))
    """
    return _rows.load_counts(path, config_hash=config_hash)


# ---------------------------------------------------------------------------------------
# Parquet.

_JSON_COLUMNS = ("error", "texts", "noise", "config", "versions", "timings")


def _require_pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as err:
        raise RuntimeError(
            "writing Parquet needs pyarrow, which is not installed (pip install pyarrow); the "
            "JSONL output is complete without it"
        ) from err


def write_parquet(rows: Sequence[dict[str, Any]], path) -> pathlib.Path:
    """A Parquet copy of ``rows``; nested fields (``config``, ``texts``, ...) as JSON strings.

    Raises:
      RuntimeError: pyarrow is not installed.
    """
    _require_pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = [
        {
            k: (json.dumps(v, sort_keys=True) if k in _JSON_COLUMNS and v is not None else v)
            for k, v in r.items()
        }
        for r in rows
    ]
    path = pathlib.Path(path)
    pq.write_table(pa.Table.from_pylist(flat), path)
    return path


# ---------------------------------------------------------------------------------------
# The runner.


def _progress(total: int, enabled: bool | None):
    from tqdm import tqdm

    disable = (not sys.stderr.isatty()) if enabled is None else not enabled
    return tqdm(total=total, unit="input", desc="collect", disable=disable, dynamic_ncols=True)


def _row(inp: Input, *, chash, config, seed, versions) -> dict[str, Any]:
    return {
        "id": inp.id,
        "config_hash": chash,
        "seed": seed,
        "status": None,
        "error": None,
        "prompt": inp.prompt,
        "image": os.fspath(inp.image),
        "input_sha256": None,
        "top_class": None,
        "class_names": None,
        "num_classes": None,
        "n0": config["n0"],
        "selection_counts": None,
        "estimation_counts": None,
        "k": None,
        "n": config["n"],
        "p_lower": None,
        "q_lower": None,
        "radius": None,
        "abstained": None,
        "alpha_spent": None,
        "correction": None,
        "selection_labels": None,
        "estimation_labels": None,
        "texts": None,
        "noise": None,
        "config": config,
        "versions": versions,
        "timings": None,
    }


def _check_args(limit, parquet) -> int | None:
    """The checks of :func:`run`'s own arguments, before any work (shared by the backends);
    ``limit`` normalised."""
    if limit is not None:
        limit = check_int(limit, name="limit", low=0)
    if parquet is not None:
        _require_pyarrow()
    return limit


def _inputs(data, prompt: str | None, limit: int | None) -> list[Input]:
    """The campaign's inputs: ``data`` read (a path) or listed, ids unique, cut to ``limit``."""
    inputs = (
        read_dataset(data, prompt=prompt) if isinstance(data, str | os.PathLike) else list(data)
    )
    if len({x.id for x in inputs}) != len(inputs):
        raise ValueError("input ids must be unique")
    return inputs if limit is None else inputs[:limit]


class _Job(NamedTuple):
    """What every input of a campaign shares: the row header and the certify arguments.

    Built by :func:`_make_job` wherever the model lives (the local process or a Ray
    actor), so every backend hashes and certifies alike.
    """

    chash: str
    config: dict[str, Any]
    versions: dict[str, str | None]
    certify_config: CertifyConfig
    oracle: Any


def _make_job(
    model, *, config: CertifyConfig, oracle, oracle_name: str | None, model_name: str | None
) -> _Job:
    """The :class:`_Job` of a campaign: configuration, its hash, versions, certify arguments."""
    hashed = run_config(
        model, config=config, oracle=oracle, oracle_name=oracle_name, model_name=model_name
    )
    return _Job(config_hash(hashed), _jsonable(hashed), _versions(), config, oracle)


def _certify_row(model, inp: Input, job: _Job) -> dict[str, Any]:
    """Certify one input and build its row (status ``"ok"``, or ``"error"`` on any exception).

    The one per-input code path of every backend. ``timings["finished_at"]`` is set by
    :meth:`_Writer.write`, when the row is written.
    """
    input_seed = derive_seed(job.certify_config.seed, "input", inp.id)
    row = _row(inp, chash=job.chash, config=job.config, seed=input_seed, versions=job.versions)
    t0 = time.perf_counter()
    t_load = 0.0
    try:
        data_bytes = pathlib.Path(inp.image).read_bytes()
        digest = hashlib.sha256(data_bytes)
        digest.update(b"\0" + (inp.prompt or "").encode())
        row["input_sha256"] = digest.hexdigest()
        image = load_image(data_bytes)
        t_load = time.perf_counter() - t0
        cfg = job.certify_config.replace(seed=input_seed)
        res = certify(model, image, inp.prompt, config=cfg, oracle=job.oracle)
    except Exception as err:  # one bad input never stops the run
        row.update(status="error", error={"type": type(err).__name__, "message": str(err)})
        row["timings"] = {"load_image": t_load, "total": time.perf_counter() - t0}
        return row
    row.update(res.summary())
    row.update(
        status="ok",
        class_names=None if res.class_names is None else list(res.class_names),
        selection_labels=res.selection_labels.tolist(),
        estimation_labels=res.estimation_labels.tolist(),
        noise=res.noise.to_dict(),
        timings={"load_image": t_load, **res.timings._asdict(), "total": time.perf_counter() - t0},
    )
    if res.selection_texts is not None:
        row["texts"] = {
            "selection": list(res.selection_texts),
            "estimation": list(res.estimation_texts),
        }
    return row


def _resume(
    out: pathlib.Path,
    chash: str,
    inputs: Sequence[Input],
    *,
    allow_config_change: bool,
    retry_errors: bool,
) -> tuple[list[Input], bool]:
    """Read (and repair) ``out``; the inputs still to do, and whether the file was rewritten.

    Raises:
      ConfigMismatchError: rows of another hash without ``allow_config_change``.
      ValueError: a done input whose prompt changed; a corrupt line mid-file.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    rows, repaired = [], False
    if out.exists():
        rows, clean, repaired = _scan(out)
        others = sorted({r["config_hash"] for r in rows} - {chash})
        if others and not allow_config_change:
            raise ConfigMismatchError(
                f"{out} holds rows of another configuration (hash {others[0][:12]}...; this "
                f"run's is {chash[:12]}...): write to another file, or pass "
                "allow_config_change=True (--allow-config-change) to append to it"
            )
        if retry_errors:
            keep = [r for r in rows if not (r["config_hash"] == chash and r["status"] != "ok")]
            if len(keep) != len(rows):
                rows = keep
                clean = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
                repaired = True
        if repaired:
            _rewrite(out, clean)
    done = {r["id"]: r for r in rows if r["config_hash"] == chash}
    for x in inputs:
        if x.id in done and done[x.id].get("prompt") != x.prompt:
            raise ValueError(
                f"input {x.id!r} was collected with prompt {done[x.id].get('prompt')!r} under "
                f"the same configuration, now {x.prompt!r}: write to another file"
            )
    return [x for x in inputs if x.id not in done], repaired


class _Writer:
    """The only writer of a campaign's file: appends, flushes and fsyncs one row at a time.

    A row whose id was already written by this writer is dropped (a retried input arriving
    twice), so each input has exactly one row. Keeps the progress bar (inputs, samples per
    second, errors) and the counts of the :class:`RunSummary`.

    Use as a context manager: ``with _Writer(out, total, n0 + n, progress) as w: w.write(row)``.
    """

    def __init__(
        self, out: pathlib.Path, total: int, samples_per_input: int, progress: bool | None
    ):
        self.out, self.total, self.progress = out, total, progress
        self.per_input = samples_per_input
        self.ok = self.errors = self.samples = 0
        self.written: set[str] = set()

    def __enter__(self) -> _Writer:
        self._bar = _progress(self.total, self.progress)
        self._start = time.perf_counter()
        try:
            self._f = open(self.out, "a", encoding="utf-8")
        except BaseException:
            self._bar.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._f.close()
        finally:
            self._bar.close()

    def write(self, row: dict[str, Any]) -> bool:
        """Write ``row`` (stamping ``timings["finished_at"]``); False if its id was written."""
        if row["id"] in self.written:
            return False
        row["timings"]["finished_at"] = datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"
        )
        self._f.write(json.dumps(_jsonable(row), ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        self.written.add(row["id"])
        if row["status"] == "ok":
            self.ok += 1
            self.samples += self.per_input
        else:
            self.errors += 1
        self._bar.update(1)
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        self._bar.set_postfix(
            samples_per_s=f"{self.samples / elapsed:.1f}", errors=self.errors, refresh=False
        )
        return True


def _summary(
    out: pathlib.Path, chash: str, inputs: int, todo: int, writer: _Writer, repaired: bool, parquet
) -> RunSummary:
    """The :class:`RunSummary` at the end, writing the Parquet copy when asked."""
    parquet_path = None if parquet is None else write_parquet(read_rows(out), parquet)
    return RunSummary(
        out, chash, inputs, inputs - todo, writer.ok, writer.errors, repaired, parquet_path
    )


def run(
    model,
    data,
    out,
    *,
    config: CertifyConfig | None = None,
    oracle=None,
    oracle_name: str | None = None,
    prompt: str | None = None,
    limit: int | None = None,
    allow_config_change: bool = False,
    retry_errors: bool = False,
    parquet=None,
    progress: bool | None = None,
    model_name: str | None = None,
    **legacy,
) -> RunSummary:
    """Certify every input of ``data`` with :func:`sampler.certify.certify`, one row each.

    See the module docstring for the rows, the configuration hash and the resume rules.
    A corrupt or missing image, or any exception while certifying one input, becomes an
    error row and the run goes on. A ``KeyboardInterrupt`` stops the run: the rows written
    so far are kept (each one is on disk when its input is done) and the interrupt is
    raised again; run the same call again to resume.

    Args:
      model: a :class:`sampler.models.Model` (VLM or classifier).
      data: a dataset path (see :func:`read_dataset`) or a sequence of :class:`Input`.
      out: the JSONL file, created or appended to.
      config: the :class:`sampler.CertifyConfig` of every input (as in
        :func:`sampler.certify.certify`); its ``seed`` is the campaign seed: input ``id`` is
        certified with ``derive_seed(seed, "input", id)``.
      oracle: as in :func:`sampler.certify.certify`.
      oracle_name: the oracle's name in the configuration (e.g. ``"refusal"``).
      prompt: the prompt of a folder of images.
      limit: certify only the first ``limit`` inputs of the dataset.
      allow_config_change: append rows of this configuration to a file that holds rows of
        another one.
      retry_errors: remove this configuration's error rows from the file and run those
        inputs again.
      parquet: a path for a Parquet copy of the file's rows at the end (needs pyarrow).
      progress: show a tqdm bar (inputs done, samples per second, time left); None: only
        when stderr is a terminal.
      model_name: the model's name in the configuration (default: its ``name_or_path``; give
        one for a classifier, whose module has none).
      legacy: release 0.1's flat keywords (``n0=``, ``n=``, ``sigma=``, ``alpha=``,
        ``seed=``, ``batch_size=``, ``oracle_eps=``, ``oracle_rates=``, ``keep_texts=``,
        ``num_classes=``) instead of ``config``: deprecated, they build the configuration
        with a :class:`DeprecationWarning`.

    Returns:
      :class:`RunSummary`.

    Raises:
      ConfigMismatchError: the file holds rows of another configuration.
      ValueError: a bad argument, a dataset that cannot be read, a done input whose prompt
        changed, a corrupt line in the middle of the file.
      RuntimeError: ``parquet`` asked for without pyarrow (checked before any work).
      KeyboardInterrupt: re-raised after the rows so far are safely written.
    """
    cfg = config_from_keywords(config, legacy, func="run")
    limit = _check_args(limit, parquet)
    inputs = _inputs(data, prompt, limit)
    job = _make_job(
        model, config=cfg, oracle=oracle, oracle_name=oracle_name, model_name=model_name
    )
    out = pathlib.Path(out)
    todo, repaired = _resume(
        out, job.chash, inputs, allow_config_change=allow_config_change, retry_errors=retry_errors
    )
    with _Writer(out, len(todo), cfg.samples_per_input, progress) as writer:
        for inp in todo:
            writer.write(_certify_row(model, inp, job))
    return _summary(out, job.chash, len(inputs), len(todo), writer, repaired, parquet)
