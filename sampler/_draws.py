"""The draws of one certification call, shared by both rules of :func:`sampler.certify.certify`.

The fixed-``n`` rule (:mod:`sampler._certify`) and the sequential rule
(:mod:`sampler._sequential`) set up a call the same way, here: the call is checked against
its model (:func:`begin_call`), the four seeds derive from the configuration's ``seed``
(:func:`derive_seed`, :data:`SEED_STREAMS`), the selection and estimation copies come from
two independent seeded streams (:class:`Stream`), and the selection step labels its
predictions and keeps the labeller of every later prediction (:class:`Selection`). The
seeding and the labelling are described in :func:`sampler.certify.certify`'s module
(:mod:`sampler._certify`); since both rules draw through the same streams, the estimation
draws of a sequential run are a prefix of those of a fixed-``n`` run with the same seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any, NamedTuple

import torch

from sampler._config import CertifyConfig
from sampler._models import NoiseSpec, batch_seed
from sampler._noise import add_gaussian_noise, noise_generator
from sampler._validation import check_labels, check_seed, resolve_device
from sampler._votes import count_votes, select_class

__all__ = ["SEED_STREAMS", "Call", "Selection", "Stream", "begin_call", "derive_seed"]


def derive_seed(seed: int, *tags: str | int) -> int:
    """A seed in ``[0, 2**63)`` derived from ``seed`` and ``tags``: a deterministic sub-stream.

    ``int(sha256(json.dumps([seed, *tags])).digest()[:8]) >> 1``. Different tags give
    unrelated seeds (a cryptographic hash), so generators seeded with them draw
    independent-looking streams; the same arguments always give the same seed, on every
    platform and Python version.

    Args:
      seed: an int in ``[0, 2**63)``.
      tags: strings or ints naming the sub-stream, e.g. ``"selection/noise"``.

    Example:
      >>> from sampler.certify import derive_seed
      >>> derive_seed(0, "selection/noise") == derive_seed(0, "selection/noise")
      True
      >>> derive_seed(0, "selection/noise") != derive_seed(0, "estimation/noise")
      True
    """
    seed = check_seed(seed)
    for t in tags:
        if isinstance(t, bool) or not isinstance(t, str | int):
            raise ValueError(f"tags must be strings or ints, got {t!r}")
    text = json.dumps([int(seed), *tags], ensure_ascii=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _call_oracle(oracle, texts: list[str], prompt) -> torch.Tensor:
    # An LLM judge whose template uses {request} needs the prompt next to each answer.
    if getattr(oracle, "uses_request", False):
        return oracle(texts, [prompt or ""] * len(texts))
    return oracle(texts)


SEED_STREAMS = ("selection/noise", "selection/decoding", "estimation/noise", "estimation/decoding")


def _derive_seeds(seed: int) -> dict[str, int]:
    """The four derived seeds of one call (the seeding of :mod:`sampler._certify`)."""
    return {stream: derive_seed(seed, stream) for stream in SEED_STREAMS}


def _check_call(model, config: CertifyConfig, *, oracle, device):
    """Check the call against its model: the oracle, ``num_classes``, the device, the
    decoding. Returns ``(model, device)``: the model with the configuration's decoding."""
    if oracle is not None and config.num_classes is not None:
        raise ValueError("num_classes must be None when an oracle labels the answers")
    if config.decoding is not None:
        if not callable(getattr(model, "with_decoding", None)):
            raise ValueError(
                f"decoding applies to a VLM only, not to a {type(model).__name__}: leave it None"
            )
        model = model.with_decoding(config.decoding)
    model_device = getattr(model, "device", torch.device("cpu"))
    dev = model_device if device is None else resolve_device(device)
    if dev.type != torch.device(model_device).type:
        raise ValueError(f"device {dev} must be of the model's device type ({model_device})")
    return model, dev


class Stream:
    """One seeded stream of noisy predictions (``"selection"`` or ``"estimation"``).

    The input is prepared once; :meth:`draw` ``(count)`` continues the stream with forward
    batches of ``batch_size`` copies (the last one partial), batch ``b`` (counted from the
    start of the stream) decoding under :func:`sampler.models.batch_seed` ``(seed, b)``, the
    noise from one generator that is never reseeded. Drawing ``n`` copies at once and
    drawing them ``batch_size`` at a time therefore give the same predictions: the draws
    of a sequential run are a prefix of a fixed-``n`` run with the same seed.
    """

    def __init__(self, model, image, prompt, *, sigma, batch_size, seeds, name, device):
        self.model = model
        self.sigma = sigma
        self.batch_size = batch_size
        self.prepared = model.prepare(image, prompt)
        self.noise = NoiseSpec.of(sigma, self.prepared, model.normalization)
        self.generator = noise_generator(seed=seeds[f"{name}/noise"], device=device)
        self.decoding_seed = seeds[f"{name}/decoding"]
        self.batches = 0

    def draw(self, count: int):
        """The next ``count`` predictions (``list[str]`` or int64 CPU tensor), and seconds spent."""
        t = time.perf_counter()
        texts: list[str] = []
        ids: list[torch.Tensor] = []
        for start in range(0, count, self.batch_size):
            num = min(self.batch_size, count - start)
            pixels = add_gaussian_noise(
                self.prepared.pixels, num=num, sigma=self.sigma, generator=self.generator
            )
            seed = batch_seed(self.decoding_seed, self.batches)
            out = self.model.predict(self.prepared, pixels, seed=seed)
            self.batches += 1
            if isinstance(out, torch.Tensor):
                ids.append(out.cpu())  # host copy inside the timing (synchronises a GPU)
            else:
                texts.extend(out)
        return (torch.cat(ids) if ids else texts), time.perf_counter() - t


class Call(NamedTuple):
    """One call of :func:`sampler.certify.certify` (either rule), checked and set up by
    :func:`begin_call`: the model (with the configuration's decoding), the derived seeds
    and the two streams, nothing drawn yet."""

    model: Any
    seeds: dict[str, int]
    selection: Stream
    estimation: Stream


def begin_call(model, image, prompt, *, config: CertifyConfig, oracle, device) -> Call:
    """The set-up shared by both certification rules: the call checked against its model
    (the oracle, ``num_classes``, the device, the decoding) and its selection and estimation
    streams seeded from ``config.seed`` (the seeding of :mod:`sampler._certify`)."""
    model, dev = _check_call(model, config, oracle=oracle, device=device)
    seeds = _derive_seeds(config.seed)
    selection, estimation = (
        Stream(
            model,
            image,
            prompt,
            sigma=config.sigma,
            batch_size=config.batch_size,
            seeds=seeds,
            name=name,
            device=dev,
        )
        for name in ("selection", "estimation")
    )
    return Call(model, seeds, selection, estimation)


@dataclasses.dataclass
class Selection:
    """The selection step's labels and the labeller that labels every later prediction
    (shared by both certification rules)."""

    labels: torch.Tensor
    labeller: Any  # None for a classifier
    texts: tuple[str, ...] | None
    class_names: tuple[str, ...] | None

    @classmethod
    def label(cls, preds, *, oracle, prompt, n0: int) -> Selection:
        if isinstance(preds, torch.Tensor):  # a classifier: class ids are the labels
            if oracle is not None:
                raise ValueError("oracle must be None for a model that returns class ids")
            labels = check_labels(preds, name="selection predictions", expected=n0)
            return cls(labels, None, None, None)
        if oracle is None:
            raise ValueError(
                "oracle is required for a model that returns texts (a VLM): pass e.g. "
                "sampler.oracles.RefusalJudge() or a SemanticClusterer"
            )
        texts = tuple(preds)
        if callable(getattr(oracle, "select", None)):  # a SemanticClusterer or alike
            # The selection fixes the clusters; each estimation text is labelled on its own.
            labeller = oracle.select(list(texts))
            labels = check_labels(labeller.selection_labels, name="selection labels", expected=n0)
        else:
            labeller = oracle
            labels = check_labels(
                _call_oracle(oracle, list(texts), prompt), name="selection labels", expected=n0
            )
        return cls(labels, labeller, texts, tuple(str(x) for x in labeller.labels))

    def label_more(self, preds, *, prompt, name: str, expected: int) -> torch.Tensor:
        """Labels of later predictions (each labelled on its own given the selection)."""
        if self.labeller is None:
            return check_labels(preds, name=f"{name} predictions", expected=expected)
        return check_labels(
            _call_oracle(self.labeller, list(preds), prompt),
            name=f"{name} labels",
            expected=expected,
        )

    def resolve_num_classes(self, model, num_classes, *more: torch.Tensor) -> int:
        """The length of the counts: the oracle's classes, or for a classifier ``num_classes``,
        the model's ``num_classes``, else ``max(label) + 1`` (at least 2)."""
        if self.labeller is not None:
            return int(self.labeller.num_classes)
        if num_classes is None:
            num_classes = getattr(model, "num_classes", None)
        if num_classes is None:
            num_classes = max(2, int(torch.cat([self.labels, *more]).max()) + 1)
        return int(num_classes)

    def top_class(self) -> int:
        """The selected class (:func:`sampler.select_class` of the selection counts)."""
        # max(label) + 1 classes suffice for the argmax; count_votes checks labels >= 0.
        counts = count_votes(self.labels, num_classes=max(1, int(self.labels.max()) + 1))
        return int(select_class(counts))
