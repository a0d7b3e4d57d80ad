"""The inputs of a campaign: datasets read into :class:`Input` ``(id, image, prompt)``.

**Datasets** (:func:`read_dataset`), three layouts:

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

Images are decoded by :func:`load_image`.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import torch

__all__ = ["IMAGE_SUFFIXES", "MMSB_PROMPT_FIELDS", "Input", "load_image", "read_dataset"]

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


def mmsb_questions_dir(root: pathlib.Path) -> pathlib.Path | None:
    """MM-SafetyBench's question folder under ``root``, or None when ``root`` is not in its
    layout."""
    for q in (root / "data" / "processed_questions", root / "processed_questions"):
        if q.is_dir():
            return q
    return None


def _read_mmsb(root: pathlib.Path, variants: Sequence[str], scenarios) -> list[Input]:
    for v in variants:
        if v not in MMSB_PROMPT_FIELDS:
            raise ValueError(f"MM-SafetyBench variants must be among {_MMSB_VARIANTS}, got {v!r}")
    qdir = mmsb_questions_dir(root)
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
    if mmsb_questions_dir(path) is not None:
        if prompt is not None:
            raise ValueError("prompt must be None for MM-SafetyBench (its questions are used)")
        return _read_mmsb(path, tuple(variants), scenarios)
    return _read_folder(path, prompt)


def read_inputs(data, *, prompt: str | None, limit: int | None) -> list[Input]:
    """A campaign's inputs: ``data`` read (a path, :func:`read_dataset`) or listed (a
    sequence of :class:`Input`), ids unique, cut to the first ``limit``."""
    inputs = (
        read_dataset(data, prompt=prompt) if isinstance(data, str | os.PathLike) else list(data)
    )
    if len({x.id for x in inputs}) != len(inputs):
        raise ValueError("input ids must be unique")
    return inputs if limit is None else inputs[:limit]


def load_image(data: bytes) -> torch.Tensor:
    """Decode image bytes (any format Pillow reads) to RGB ``(3, H, W)`` float32 in ``[0, 1]``.

    Raises:
      PIL.UnidentifiedImageError / OSError: not an image, or a truncated one.
    """
    import numpy as np
    import torch
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.load()
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div_(255.0)
