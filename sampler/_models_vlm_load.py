"""Loading of a :class:`sampler.models.VLM`: the model class, the dtype, the devices.

:func:`load_pretrained` is the body of :meth:`sampler.models.VLM.from_pretrained`. It picks
the model class from the checkpoint's ``model_type`` (LLaVA 1.5 and 1.6 their own classes,
any other type ``AutoModelForImageTextToText``), resolves the dtype for the device
(:func:`resolve_dtype`) and places the weights one of two ways:

* ``device_map=None``: the whole model is loaded on the host and moved once to ``device``;
* ``device_map`` a strategy (``"auto"``, ``"balanced"``, ``"balanced_low_0"``,
  ``"sequential"``) or a dict from module names to devices: ``transformers`` places each
  module with ``accelerate`` (``from_pretrained(..., device_map=...)``; accelerate is in
  the ``sampler`` extra), so a checkpoint larger than one GPU (a 13B or 34B LLaVA) shards
  over several. ``transformers`` then dispatches the model with ``accelerate`` hooks when
  its map names more than one device: each module's inputs move to that module's device,
  and the top-level outputs (the logits) come back to the device of the inputs.

The inputs of a sharded model go to :func:`input_device`: the device of the input
embedding, where the token ids enter first; the noise is drawn there too.

The placement does not change the results (each module computes what it would on one
device of the same kind; moving a tensor between devices is exact), so ``device_map`` is
not part of a model's recorded configuration; the device *type* (CPU or CUDA) is.
[GPU-only to check: a model sharded over two GPUs gives the texts of the same model on
one (``tests/sampler/test_vlm_loading.py``, marked ``gpu``).]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from rstheory._deprecation import keyword_only
from sampler._validation import check_device_map, resolve_device

__all__ = ["Loaded", "input_device", "load_pretrained", "resolve_dtype"]

# model_type -> class name in transformers; other types go through AutoModelForImageTextToText.
MODEL_CLASSES = {
    "llava": "LlavaForConditionalGeneration",
    "llava_next": "LlavaNextForConditionalGeneration",
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@keyword_only("device")
def resolve_dtype(dtype: str | torch.dtype, *, device: torch.device) -> torch.dtype:
    """``"auto"``: bf16 on a CUDA device that supports it, else fp16 there; float32 elsewhere.

    Raises:
      ValueError: a dtype other than ``"auto"``, float32, bfloat16 or float16.

    Example:
      >>> import torch
      >>> from sampler.models import resolve_dtype
      >>> cpu = torch.device("cpu")
      >>> resolve_dtype("auto", device=cpu), resolve_dtype("float16", device=cpu)
      (torch.float32, torch.float16)
    """
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
        return dtype
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be 'auto' or one of {sorted(DTYPES)}, got {dtype!r}")
    return DTYPES[dtype]


def _map_device(device_map) -> torch.device:
    """The device whose kind sets an ``"auto"`` dtype under ``device_map``: CUDA when the map
    may place a module on a GPU (a strategy with CUDA present, a dict naming a GPU)."""
    if isinstance(device_map, str):
        return resolve_device("auto")
    for value in device_map.values():
        if value == "disk":
            continue
        if isinstance(value, int) or torch.device(value).type == "cuda":
            return torch.device("cuda")
    return torch.device("cpu")


def input_device(model) -> torch.device:
    """Where a model takes its inputs: the device of its input embedding (the first module of
    a sharded model), else that of its first parameter.

    Example:
      >>> import torch
      >>> from sampler._models_vlm_load import input_device
      >>> input_device(torch.nn.Linear(2, 2))
      device(type='cpu')
    """
    get = getattr(model, "get_input_embeddings", None)
    embedding = get() if callable(get) else None
    weight = getattr(embedding, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.device.type != "meta":
        return weight.device
    devices = [p.device for p in model.parameters() if p.device.type != "meta"]
    return devices[0] if devices else torch.device("cpu")


class Loaded(NamedTuple):
    """What :func:`load_pretrained` returns: the model (in eval mode, on its devices; a
    dispatched one has ``hf_device_map``) and its processor."""

    model: Any
    processor: Any


def load_pretrained(
    name_or_path,
    *,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    device_map=None,
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> Loaded:
    """Model and processor of ``name_or_path`` (safetensors only), placed as the module
    docstring says; the arguments are those of :meth:`sampler.models.VLM.from_pretrained`.

    Raises:
      ValueError: a bad ``device``, ``dtype`` or ``device_map``, or ``device`` other than
        ``"auto"`` together with a ``device_map`` (the map places the modules).
    """
    import transformers

    if device_map is not None:
        device_map = check_device_map(device_map)
        if device != "auto":
            raise ValueError(
                f"device must be 'auto' when device_map is given (the map places the "
                f"modules), got device={device!r}"
            )
        dev = _map_device(device_map)
    else:
        dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, device=dev)
    common: dict[str, Any] = {"trust_remote_code": bool(trust_remote_code)}
    if revision is not None:
        common["revision"] = revision
    config = transformers.AutoConfig.from_pretrained(name_or_path, **common)
    class_name = MODEL_CLASSES.get(getattr(config, "model_type", None))
    model_class = (
        getattr(transformers, class_name)
        if class_name
        else transformers.AutoModelForImageTextToText
    )
    placement = {} if device_map is None else {"device_map": device_map}
    model = model_class.from_pretrained(
        name_or_path, dtype=torch_dtype, use_safetensors=True, **placement, **common
    )
    if device_map is None:  # load on the host, then move once
        model = model.to(dev)
    processor = transformers.AutoProcessor.from_pretrained(name_or_path, **common)
    return Loaded(model.eval(), processor)
