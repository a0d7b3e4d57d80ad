"""The picklable model recipe of a Ray campaign (:class:`VLMLoader`): what each worker of
:func:`sampler.run.run_ray` calls, once, to load its model and oracle (the model itself
never travels)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import torch

from sampler._models import DecodingConfig
from sampler._validation import resolve_device

__all__ = ["VLMLoader"]


@dataclasses.dataclass(frozen=True)
class VLMLoader:
    """A picklable recipe that loads a VLM and its oracle inside a worker: ``load()``.

    Attributes:
      path: model directory or hub id, for :meth:`sampler.models.VLM.from_pretrained`.
      device: ``"auto"`` (the worker's GPU when Ray gave it one, else the CPU), ``"cpu"``,
        ``"cuda"``...
      dtype: as in ``from_pretrained``.
      decoding: the :class:`sampler.models.DecodingConfig` (None: its defaults).
      device_map: as in ``from_pretrained`` (a placement of the modules), or None.
      oracle: an oracle object, sent to each worker as is (a small, picklable one such as
        :class:`sampler.oracles.RefusalJudge`); or None.
      make_oracle: instead of ``oracle``, a picklable callable ``make_oracle(device)``
        building the oracle in the worker (an oracle with a model of its own).

    Returns (when called):
      ``(model, oracle)``.

    Example:
      >>> from sampler.run import VLMLoader
      >>> from sampler.oracles import RefusalJudge
      >>> load = VLMLoader("path/to/llava", device="cpu", oracle=RefusalJudge())
      >>> load.device, type(load.oracle).__name__
      ('cpu', 'RefusalJudge')
    """

    path: str | os.PathLike
    device: str = "auto"
    dtype: str = "auto"
    decoding: DecodingConfig | None = None
    device_map: str | dict | None = None
    oracle: Any = None
    make_oracle: Callable[[torch.device], Any] | None = None

    def __post_init__(self):
        if self.oracle is not None and self.make_oracle is not None:
            raise ValueError("give at most one of oracle and make_oracle")

    def __call__(self):
        from sampler._models_vlm import VLM

        device = resolve_device(self.device)
        model = VLM.from_pretrained(
            self.path,
            device=device,
            dtype=self.dtype,
            decoding=self.decoding,
            device_map=self.device_map,
        )
        oracle = self.make_oracle(device) if self.make_oracle is not None else self.oracle
        return model, oracle
