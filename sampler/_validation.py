"""Input validation of :mod:`sampler`: the one module that checks arguments.

Policy, the same as :mod:`rstheory`'s (and built on its scalar checks,
:func:`rstheory._validation.check_int`, :func:`~rstheory._validation.check_real`,
:func:`~rstheory._validation.check_choice`):

* a bad value raises :class:`ValueError` whose message names the argument and its allowed
  range (``"n must be an integer >= 1, got 0"``);
* an integer parameter takes a Python or numpy integer, or an integer-valued float such as
  ``1000.0``; bools, NaN, infinities, non-integers and arrays are refused;
* ``sigma`` is ``> 0`` wherever it enters a certificate; the noise functions alone accept
  ``sigma = 0`` (noise-free copies, used to compare a model's noisy predictions with its
  clean ones), through :func:`check_sigma` with ``allow_zero=True``;
* one device rule (:func:`resolve_device`) for models, noise and oracles.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rstheory._validation import check_choice, check_int, check_real

if TYPE_CHECKING:
    import torch

__all__ = [
    "SEED_LIMIT",
    "check_alpha",
    "check_choice",
    "check_count",
    "check_device_map",
    "check_images",
    "check_int",
    "check_integer_tensor",
    "check_label_names",
    "check_labels",
    "check_ray_args",
    "check_real",
    "check_seed",
    "check_sigma",
    "check_texts",
    "resolve_device",
]

#: Seeds are ints in ``[0, SEED_LIMIT)`` (what a :class:`torch.Generator` and the derived
#: sub-streams take).
SEED_LIMIT = 2**63


# --------------------------------------------------------------------------- scalars


def check_count(value, *, name: str, low: int = 1) -> int:
    """A count (``n``, ``n0``, ``batch_size``, ``num_classes``...): an integer ``>= low``.

    Example:
      >>> check_count(1000.0, name="n")
      1000
    """
    return check_int(value, name=name, low=low)


def check_seed(seed, *, name: str = "seed") -> int:
    """A seed: an integer in ``[0, 2**63)``.

    Example:
      >>> check_seed(-1)
      Traceback (most recent call last):
      ...
      ValueError: seed must be an integer in [0, 9223372036854775807], got -1
    """
    return check_int(seed, name=name, low=0, high=SEED_LIMIT - 1)


def check_sigma(sigma, *, name: str = "sigma", allow_zero: bool = False) -> float:
    """A noise level: finite and ``> 0`` (``>= 0`` with ``allow_zero``, noise functions only).

    Example:
      >>> check_sigma(0.0, allow_zero=True)
      0.0
      >>> check_sigma(0.0)
      Traceback (most recent call last):
      ...
      ValueError: sigma must lie in (0, inf), got 0.0
    """
    return check_real(sigma, name=name, low=0.0, low_open=not allow_zero)


def check_alpha(alpha, *, name: str = "alpha") -> float:
    """A significance level in the open interval ``(0, 1)``."""
    return check_real(alpha, name=name, low=0.0, high=1.0, low_open=True, high_open=True)


def check_ray_args(*, workers, max_in_flight, max_restarts) -> None:
    """The Ray backend's own arguments: ``workers`` None or ``>= 1``, ``max_in_flight >= 1``,
    ``max_restarts >= 0``."""
    check_int(max_in_flight, name="max_in_flight", low=1)
    check_int(max_restarts, name="max_restarts", low=0)
    if workers is not None:
        check_int(workers, name="workers", low=1)


# --------------------------------------------------------------------------- devices


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for a device string: ``"auto"`` is CUDA when present, else CPU.

    Args:
      device: ``"auto"``, a device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) or
        a :class:`torch.device`.

    Returns:
      The :class:`torch.device`.

    Raises:
      ValueError: an unknown device string, or a CUDA / MPS device that is not available.

    Example:
      >>> from sampler.noise import resolve_device
      >>> resolve_device("cpu")
      device(type='cpu')
    """
    import torch

    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, got {device!r}"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch.cuda.is_available() is False")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA devices")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} asked for, but MPS is not available")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be a cpu, cuda or mps device, got {device!r}")
    return dev


DEVICE_MAP_STRATEGIES = ("auto", "balanced", "balanced_low_0", "sequential")


def check_device_map(device_map):
    """A ``device_map`` of ``transformers``' ``from_pretrained``: a strategy of
    ``accelerate`` (``"auto"``, ``"balanced"``, ``"balanced_low_0"``, ``"sequential"``) or a
    non-empty dict from module names (``""``: the whole model) to devices (an int GPU index
    ``>= 0``, a device string, a ``torch.device``, ``"disk"``); returned unchanged.

    Raises:
      ValueError: anything else (a single device goes to ``device=`` instead).

    Example:
      >>> from sampler._validation import check_device_map
      >>> check_device_map("auto"), check_device_map({"": "cpu"})
      ('auto', {'': 'cpu'})
    """
    if isinstance(device_map, str):
        return check_choice(device_map, name="device_map", choices=DEVICE_MAP_STRATEGIES)
    if not isinstance(device_map, dict) or not device_map:
        raise ValueError(
            f"device_map must be one of {DEVICE_MAP_STRATEGIES} or a non-empty dict from "
            f"module names to devices, got {device_map!r}"
        )
    for key, value in device_map.items():
        if not isinstance(key, str):
            raise ValueError(f"device_map keys must be module names (str), got {key!r}")
        if isinstance(value, bool) or (isinstance(value, int) and value < 0):
            raise ValueError(
                f"device_map[{key!r}] must be a device or a GPU index >= 0, got {value!r}"
            )
        if value == "disk" or isinstance(value, int):
            continue
        import torch

        try:
            torch.device(value)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device_map[{key!r}] must be a device, got {value!r}") from err
    return device_map


# --------------------------------------------------------------------------- tensors


def check_images(images, *, name: str = "images", batched: bool = True) -> torch.Tensor:
    """Check a float image tensor in ``[0, 1]``, channels first; return it unchanged.

    Args:
      images: shape ``(batch, 3, h, w)`` when ``batched`` (``batch >= 1``), else ``(3, h, w)``;
        floating dtype, every value in ``[0, 1]`` (NaN is refused).
      name: the argument name used in error messages.
      batched: whether a leading batch axis is expected.

    Raises:
      ValueError: not a floating tensor, wrong rank, not 3 channels, an empty axis, or a
        value outside ``[0, 1]``.
    """
    import torch

    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        kind = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name} must be a floating torch.Tensor in [0, 1], got {kind}")
    want = "(batch, 3, h, w)" if batched else "(3, h, w)"
    if images.ndim != (4 if batched else 3) or images.shape[-3] != 3:
        raise ValueError(f"{name} must have shape {want}, got {tuple(images.shape)}")
    if images.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(images.shape)}")
    # One reduction and one host synchronisation for the whole tensor.
    lo, hi = torch.aminmax(images)
    lo, hi = float(lo), float(hi)
    if not (0.0 <= lo and hi <= 1.0):  # also catches NaN
        raise ValueError(f"{name} must lie in [0, 1], got values in [{lo}, {hi}]")
    return images


def check_integer_tensor(x, *, name: str) -> torch.Tensor:
    """``x`` as a tensor (:func:`torch.as_tensor`) after checking its dtype is an integer one."""
    import torch

    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x)
    if x.dtype == torch.bool or x.is_floating_point() or x.is_complex():
        raise ValueError(f"{name} must be an integer tensor, got dtype {x.dtype}")
    return x


def check_labels(out, *, name: str, expected: int) -> torch.Tensor:
    """A model's or oracle's class ids: ``expected`` integers, as an int64 CPU tensor."""
    import torch

    labels = torch.as_tensor(out)
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"{name} must be integer class ids, got dtype {labels.dtype}")
    labels = labels.detach().to("cpu", torch.int64).reshape(-1)
    if labels.numel() != expected:
        raise ValueError(f"{name}: expected {expected} labels, got {labels.numel()}")
    return labels


# --------------------------------------------------------------------------- texts


def check_texts(texts, *, name: str = "texts") -> list[str]:
    """``texts`` as a list of strings; a bare string (iterable over characters) is refused."""
    if isinstance(texts, str | bytes) or not isinstance(texts, Iterable):
        raise ValueError(f"{name} must be a sequence of strings, got {type(texts).__name__}")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise ValueError(f"{name} must hold only strings, got {type(t).__name__} at index {i}")
    return out


def check_label_names(labels, *, name: str = "labels") -> tuple[str, ...]:
    """Non-empty, distinct, non-blank strings."""
    if isinstance(labels, str | bytes) or not isinstance(labels, Iterable):
        raise ValueError(f"{name} must be a sequence of strings, got {type(labels).__name__}")
    out = tuple(labels)
    if not out:
        raise ValueError(f"{name} must hold at least one entry, got an empty sequence")
    for lab in out:
        if not isinstance(lab, str) or not lab.strip():
            raise ValueError(f"{name} must hold non-blank strings, got {lab!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct, got {out!r}")
    return out
