"""Compute budget of a certification plan: batches, device time, wall time and cost.

:func:`budget` for ``inputs`` inputs with ``n`` samples each, :func:`expected_budget` for
a sequential rule's expected samples, :func:`samples_within_budget` for the largest ``n``
that fits a wall time; the device speed is a measured time per batch or a throughput.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from rstheory._validation import check_int, check_real

__all__ = ["Budget", "budget", "expected_budget", "samples_within_budget"]


class Budget(NamedTuple):
    """Result of :func:`budget` (and, as expectations, of :func:`expected_budget`).

    Attributes:
      batches: number of forward batches, ``inputs * ceil(n / batch_size)`` (``int``); for
        :func:`expected_budget` the expected number ``inputs E[N] / batch_size`` (``float``).
      device_seconds: ``batches * seconds_per_batch``.
      wall_seconds: ``device_seconds / devices``.
      device_hours: ``device_seconds / 3600``.
      cost: ``device_hours * price_per_device_hour``; ``nan`` when no price is given.
    """

    batches: int | float
    device_seconds: float
    wall_seconds: float
    device_hours: float
    cost: float


def _seconds_per_batch(seconds_per_batch, samples_per_second, batch_size: int) -> float:
    """Device seconds of one batch, from ``seconds_per_batch`` or a measured throughput.

    Exactly one of the two must be given; ``samples_per_second`` (per device) gives
    ``batch_size / samples_per_second``.
    """
    if (seconds_per_batch is None) == (samples_per_second is None):
        raise ValueError(
            "give exactly one of seconds_per_batch (device time of one batch) and "
            "samples_per_second (measured throughput per device), got "
            f"seconds_per_batch={seconds_per_batch!r}, samples_per_second={samples_per_second!r}"
        )
    if seconds_per_batch is not None:
        return check_real(seconds_per_batch, name="seconds_per_batch", low=0.0, low_open=True)
    return batch_size / check_real(
        samples_per_second, name="samples_per_second", low=0.0, low_open=True
    )


def budget(
    n,
    inputs,
    *,
    batch_size=32,
    seconds_per_batch=None,
    samples_per_second=None,
    devices=1,
    price_per_device_hour=None,
) -> Budget:
    r"""Compute cost of certifying ``inputs`` inputs with ``n`` noise samples each.

    .. math::
        B = \text{inputs}\,\lceil n / \text{batch\_size} \rceil,\quad
        T_{\mathrm{dev}} = B\,t_{\mathrm{batch}},\quad
        T_{\mathrm{wall}} = T_{\mathrm{dev}} / \text{devices},\quad
        \text{cost} = \frac{T_{\mathrm{dev}}}{3600}\,\text{price}.

    Each input's samples are drawn in whole batches (the last one may be partial but
    costs a full batch); inputs are spread evenly over the devices. The batch time is
    given directly (``seconds_per_batch``) or from a measured throughput per device
    (``samples_per_second``: ``t_batch = batch_size / samples_per_second``), e.g. the
    samples/s of one worker of ``python -m sampler collect --backend ray``.

    Args:
      n: samples per input, integer ``>= 1``.
      inputs: number of inputs, integer ``>= 1``.
      batch_size: samples per forward batch, integer ``>= 1``.
      seconds_per_batch: device time of one batch, ``> 0``.
      samples_per_second: instead of ``seconds_per_batch``, the measured samples per second
        of one device, ``> 0``. Exactly one of the two must be given.
      devices: number of devices working in parallel, integer ``>= 1``.
      price_per_device_hour: price of one device hour ``>= 0``, or ``None`` (cost ``nan``).

    Returns:
      :class:`Budget` ``(batches, device_seconds, wall_seconds, device_hours, cost)``.

    Raises:
      ValueError: both or neither of ``seconds_per_batch`` and ``samples_per_second``, or a
        value out of range.

    Example:
      >>> from rstheory import planning
      >>> b = planning.budget(1000, 500, batch_size=100, seconds_per_batch=2.8,
      ...                     devices=4, price_per_device_hour=2.0)
      >>> b.batches, round(b.device_seconds, 6), round(b.wall_seconds, 6), round(b.cost, 6)
      (5000, 14000.0, 3500.0, 7.777778)

      The same campaign from a measured 40 samples/s per device (2.5 s per batch of 100):

      >>> b = planning.budget(1000, 500, batch_size=100, samples_per_second=40.0, devices=2)
      >>> round(b.device_seconds, 6), round(b.wall_seconds, 6)
      (12500.0, 6250.0)
    """
    n = check_int(n, name="n")
    inputs = check_int(inputs, name="inputs")
    batch_size = check_int(batch_size, name="batch_size")
    return _cost(
        inputs * (-(-n // batch_size)),
        batch_size,
        seconds_per_batch,
        samples_per_second,
        devices,
        price_per_device_hour,
    )


def _cost(batches, batch_size, seconds_per_batch, samples_per_second, devices, price) -> Budget:
    """The :class:`Budget` of ``batches`` batches (validating the time, devices and price)."""
    spb = _seconds_per_batch(seconds_per_batch, samples_per_second, batch_size)
    devices = check_int(devices, name="devices")
    price = (
        float("nan") if price is None else check_real(price, name="price_per_device_hour", low=0.0)
    )
    device_seconds = batches * spb
    device_hours = device_seconds / 3600.0
    return Budget(
        batches, device_seconds, device_seconds / devices, device_hours, device_hours * price
    )


def expected_budget(
    expected_samples,
    inputs,
    *,
    batch_size=32,
    seconds_per_batch=None,
    samples_per_second=None,
    devices=1,
    price_per_device_hour=None,
) -> Budget:
    r"""Expected compute cost of a rule that stops early, e.g. the sequential rule.

    A rule that draws whole batches of ``batch_size`` and stops after one of them (as
    :mod:`rstheory.sequential` does, with ``n_max`` a multiple of the batch) uses
    ``E[batches] = inputs E[N] / batch_size``; the other quantities follow as in
    :func:`budget`, as expectations (``batches`` is a float).

    Args:
      expected_samples: ``E[N]``, the mean samples per input, ``> 0`` (e.g.
        :attr:`rstheory.sequential.SequentialPlan.expected_samples`).
      inputs, batch_size, seconds_per_batch, samples_per_second, devices,
        price_per_device_hour: as :func:`budget`.

    Returns:
      :class:`Budget` of expectations.

    Example:
      >>> from rstheory import planning
      >>> b = planning.expected_budget(250.0, 500, batch_size=100, seconds_per_batch=2.8,
      ...                              devices=4)
      >>> b.batches, round(b.device_seconds, 6), round(b.wall_seconds, 6)
      (1250.0, 3500.0, 875.0)
    """
    mean = check_real(expected_samples, name="expected_samples", low=0.0, low_open=True)
    inputs = check_int(inputs, name="inputs")
    batch_size = check_int(batch_size, name="batch_size")
    return _cost(
        inputs * mean / batch_size,
        batch_size,
        seconds_per_batch,
        samples_per_second,
        devices,
        price_per_device_hour,
    )


def samples_within_budget(
    wall_seconds,
    inputs,
    *,
    batch_size=32,
    seconds_per_batch=None,
    samples_per_second=None,
    devices=1,
) -> int:
    r"""Largest ``n`` (a multiple of ``batch_size``) whose :func:`budget` fits a wall time.

    .. math::
        n = \text{batch\_size}\,\Big\lfloor \frac{T_{\mathrm{wall}}\,\text{devices}}
        {\text{inputs}\,t_{\mathrm{batch}}} \Big\rfloor,

    checked against :func:`budget` so that ``budget(n, ...).wall_seconds <= wall_seconds``
    (up to a relative ``1e-12`` for round-off) and ``n + batch_size`` does not fit.

    Args:
      wall_seconds: available wall-clock time ``>= 0``.
      inputs: number of inputs, integer ``>= 1``.
      batch_size: samples per forward batch, integer ``>= 1``.
      seconds_per_batch: device time of one batch, ``> 0``.
      samples_per_second: instead of ``seconds_per_batch``, the measured samples per second
        of one device, ``> 0`` (``t_batch = batch_size / samples_per_second``). Exactly one
        of the two must be given.
      devices: number of devices, integer ``>= 1``.

    Returns:
      Python ``int``; ``0`` when not even one batch per input fits.

    Raises:
      ValueError: both or neither of ``seconds_per_batch`` and ``samples_per_second``, or a
        value out of range.

    Example:
      >>> from rstheory import planning
      >>> planning.samples_within_budget(
      ...     3500.0, 500, batch_size=100, seconds_per_batch=2.8, devices=4
      ... )
      1000
      >>> planning.samples_within_budget(3600.0, 500, batch_size=100, samples_per_second=40.0,
      ...                                devices=2)
      500
    """
    wall = check_real(wall_seconds, name="wall_seconds", low=0.0)
    inputs = check_int(inputs, name="inputs")
    batch_size = check_int(batch_size, name="batch_size")
    spb = _seconds_per_batch(seconds_per_batch, samples_per_second, batch_size)
    devices = check_int(devices, name="devices")
    limit = wall * (1.0 + 1e-12)

    def fits(k: int) -> bool:
        return (
            k == 0
            or budget(
                k * batch_size,
                inputs,
                batch_size=batch_size,
                seconds_per_batch=spb,
                devices=devices,
            ).wall_seconds
            <= limit
        )

    k = math.floor(wall * devices / (inputs * spb))
    while k > 0 and not fits(k):
        k -= 1
    while fits(k + 1):
        k += 1
    return k * batch_size
