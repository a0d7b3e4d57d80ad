"""Which model a name names, and the identity of it that the configuration hash holds.

:func:`resolve_model` turns what the user typed (``--model``, the ``name_or_path`` of
:meth:`sampler.models.VLM.from_pretrained`) into a :class:`ResolvedModel`: a local
directory, or a hub id found in the local Hugging Face cache. Its error is the one message
for a name that is neither. :func:`model_identity` is what the campaign configuration
hashes instead of the spelling, so ``tiny``, ``./tiny`` and ``/abs/path/tiny`` are one
model:

* a **directory**: the SHA-256 of the contents of its weight files (``*.safetensors``,
  ``*.bin``, top level) and of its ``config.json``, by file name;
* a **hub id** in the local cache (``models--ORG--NAME`` under the hub cache): the id, the
  resolved commit (the snapshot folder name under ``snapshots/``; a branch or tag is read
  from ``refs/``) and, for the same files, the names of their blobs, which are the files'
  SHA-256 for LFS files (the weights) and their git blob ids otherwise.

**The digest cache.** Hashing a 26 GB checkpoint takes minutes, so the digest of a weight
file is kept in ``rsvlm/sha256.json`` under the user's cache directory
(``$XDG_CACHE_HOME``, else ``~/.cache``; ``$RSVLM_CACHE_DIR/sha256.json`` when that is
set), keyed by the file's real path, size and modification time in nanoseconds: a file
is hashed again only when one of them changes.
The cache is rewritten atomically, entries of files that no longer exist are dropped, and
an unreadable or unwritable cache is ignored (the digest is then computed each time).
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile
from typing import Any, NamedTuple

__all__ = ["ResolvedModel", "model_identity", "resolve_model"]

WEIGHT_PATTERNS = ("*.safetensors", "*.bin")
_CONFIG = "config.json"
_CHUNK = 16 << 20


class ResolvedModel(NamedTuple):
    """A model name resolved: ``kind`` ``"directory"`` or ``"hub"``, the folder holding the
    files (the directory, or the snapshot of the commit), and for a hub id the id and the
    commit (None for a directory)."""

    kind: str
    path: pathlib.Path
    repo_id: str | None = None
    revision: str | None = None


def looks_like_path(text: str) -> bool:
    """Whether ``text`` is meant as a path: it starts with ``.``, ``~`` or a separator, or
    holds more separators than a hub id (``ORG/NAME``) has."""
    seps = ("/", os.sep) + ((os.altsep,) if os.altsep else ())
    return (
        text.startswith((".", "~", *seps))
        or text.count("/") > 1
        or (os.sep != "/" and os.sep in text)
    )


def _hub_cache() -> pathlib.Path:
    from huggingface_hub import constants

    return pathlib.Path(constants.HF_HUB_CACHE)


def _resolve_hub(repo_id: str, revision: str | None) -> ResolvedModel | None:
    repo = _hub_cache() / ("models--" + repo_id.replace("/", "--"))
    revision = revision or "main"
    commit = revision
    ref = repo / "refs" / revision
    if ref.is_file():
        commit = ref.read_text(encoding="utf-8").strip()
    snapshot = repo / "snapshots" / commit
    if not snapshot.is_dir():
        return None
    return ResolvedModel("hub", snapshot, repo_id, commit)


def resolve_model(name_or_path, *, revision: str | None = None) -> ResolvedModel | None:
    """The model ``name_or_path`` names: an existing directory, else a hub id in the local
    Hugging Face cache (at ``revision``, default ``main``).

    Returns:
      the :class:`ResolvedModel`; None for a valid hub id that is not in the local cache
      while downloads are allowed (``from_pretrained`` will download it).

    Raises:
      ValueError: a name that is no directory and no usable hub id: it looks like a path
        (see :func:`looks_like_path`) but no such directory exists, it is not a valid hub
        id, or it is not in the local cache and the hub is offline (``HF_HUB_OFFLINE``).

    Example:
      >>> import tempfile
      >>> from sampler._model_identity import resolve_model
      >>> d = tempfile.mkdtemp()
      >>> resolve_model(d).kind
      'directory'
      >>> resolve_model(d + "/missing")
      Traceback (most recent call last):
      ...
      ValueError: no such directory .../missing, and not a model id in the local cache
    """
    text = os.fspath(name_or_path)
    path = pathlib.Path(text).expanduser()
    if path.is_dir():
        return ResolvedModel("directory", path.resolve())
    if path.exists():
        raise ValueError(f"{text} is a file, not a model directory or a model id")
    if isinstance(name_or_path, os.PathLike) or looks_like_path(text):
        raise ValueError(f"no such directory {text}, and not a model id in the local cache")
    import huggingface_hub
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(text)
    except ValueError:
        raise ValueError(f"no such directory {text}, and not a valid model id (ORG/NAME)") from None
    resolved = _resolve_hub(text, revision)
    if resolved is None and huggingface_hub.is_offline_mode():
        at = "" if revision is None else f" at revision {revision!r}"
        raise ValueError(
            f"no such directory {text}, and not a model id in the local cache{at} "
            f"({_hub_cache()}; the hub is offline: HF_HUB_OFFLINE)"
        )
    return resolved


# -- digests -------------------------------------------------------------------------------


def _cache_file() -> pathlib.Path:
    own = os.environ.get("RSVLM_CACHE_DIR")
    if own:
        return pathlib.Path(own) / "sha256.json"
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(root) / "rsvlm" / "sha256.json"


def _read_cache(path: pathlib.Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _still_there(key: str, entry) -> bool:
    try:
        st = os.stat(key)
    except OSError:
        return False
    return isinstance(entry, dict) and entry.get("size") == st.st_size


def _write_cache(path: pathlib.Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sha256.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, sort_keys=True, indent=0)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # a cache that cannot be written is no cache, not an error


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path) -> str:
    """The SHA-256 (hex) of a file's contents, through the digest cache of the module
    docstring (read in chunks of 16 MiB when computed)."""
    real = os.path.realpath(path)
    st = os.stat(real)
    cache_path = _cache_file()
    cache = _read_cache(cache_path)
    entry = cache.get(real)
    if (
        isinstance(entry, dict)
        and entry.get("size") == st.st_size
        and entry.get("mtime_ns") == st.st_mtime_ns
        and isinstance(entry.get("sha256"), str)
    ):
        return entry["sha256"]
    sha = _sha256(pathlib.Path(real))
    cache = {k: v for k, v in _read_cache(cache_path).items() if _still_there(k, v)}
    cache[real] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
    _write_cache(cache_path, cache)
    return sha


def _model_files(folder: pathlib.Path) -> list[pathlib.Path]:
    files = {p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern)}
    if (folder / _CONFIG).exists():
        files.add(folder / _CONFIG)
    return sorted((p for p in files if p.is_file()), key=lambda p: p.name)


def model_identity(resolved: ResolvedModel) -> dict[str, Any]:
    """The identity of a resolved model, as the configuration hash holds it (see the module
    docstring): ``{"source": "directory", "files": {name: sha256}}`` or ``{"source":
    "hub", "id", "revision", "files": {name: blob name}}``.

    Example:
      >>> import pathlib, tempfile
      >>> from sampler._model_identity import model_identity, resolve_model
      >>> d = pathlib.Path(tempfile.mkdtemp())
      >>> _ = (d / "config.json").write_text("{}")
      >>> model_identity(resolve_model(d))["files"]["config.json"][:12]
      '44136fa355b3'
    """
    files = _model_files(resolved.path)
    if resolved.kind == "directory":
        return {"source": "directory", "files": {p.name: _digest(p) for p in files}}
    blobs = {}
    for p in files:
        # A snapshot file links to its blob, named by its hash; a copy (no symlinks) is hashed.
        blobs[p.name] = os.path.basename(os.readlink(p)) if p.is_symlink() else _digest(p)
    return {
        "source": "hub",
        "id": resolved.repo_id,
        "revision": resolved.revision,
        "files": blobs,
    }


def _digest(path: pathlib.Path) -> str:
    # Weight files go through the cache; config.json is small and read each time.
    return _sha256(path) if path.name == _CONFIG else file_sha256(path)
