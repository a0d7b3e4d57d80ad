"""Compute budget of a certification plan: batches, device time, wall time and cost.

:func:`budget` for ``inputs`` inputs with ``n`` samples each, :func:`expected_budget` for
a sequential rule's expected samples, :func:`samples_within_budget` for the largest ``n``
that fits a wall time. The three take the hardware and its measured speed as one
:class:`Throughput` (batch size, a measured time per batch or samples per second, the
number of devices, the price of a device hour).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

from rstheory._deprecation import grouped_keywords
from rstheory._validation import check_int, check_real

__all__ = ["Budget", "Throughput", "budget", "expected_budget", "samples_within_budget"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Throughput:
    r"""The hardware a campaign runs on and its measured speed, validated once when made.

    The device time of one batch is given directly (``seconds_per_batch``) or from a
    measured throughput per device (``samples_per_second``):

    .. math::
        t_{\mathrm{batch}} = \text{batch\_size} / \text{samples\_per\_second},

    e.g. the samples/s of one worker of ``python -m sampler collect --backend ray``.

    Attributes:
      batch_size: samples per forward batch, integer ``>= 1`` (default 32).
      seconds_per_batch: device time of one batch, ``> 0``.
      samples_per_second: instead of ``seconds_per_batch``, the measured samples per second
        of one device, ``> 0``. Exactly one of the two must be given.
      devices: number of devices working in parallel, integer ``>= 1`` (default 1).
      price_per_device_hour: price of one device hour ``>= 0``, or ``None`` (the cost of a
        :class:`Budget` is then ``nan``).

    Raises:
      ValueError: both or neither of ``seconds_per_batch`` and ``samples_per_second``, or a
        value out of range (the message names the argument).

    Example:
      >>> from rstheory import planning
      >>> hw = planning.Throughput(batch_size=100, samples_per_second=40.0, devices=2)
      >>> hw.batch_seconds, hw.devices
      (2.5, 2)
      >>> planning.Throughput(batch_size=100, seconds_per_batch=2.8, devices=0)
      Traceback (most recent call last):
      ...
      ValueError: devices must be an integer >= 1, got 0
    """

    batch_size: int = 32
    seconds_per_batch: float | None = None
    samples_per_second: float | None = None
    devices: int = 1
    price_per_device_hour: float | None = None

    def __post_init__(self):
        put = object.__setattr__
        put(self, "batch_size", check_int(self.batch_size, name="batch_size"))
        spb, rate = self.seconds_per_batch, self.samples_per_second
        if (spb is None) == (rate is None):
            raise ValueError(
                "give exactly one of seconds_per_batch (device time of one batch) and "
                "samples_per_second (measured throughput per device), got "
                f"seconds_per_batch={spb!r}, samples_per_second={rate!r}"
            )
        timing = "seconds_per_batch" if spb is not None else "samples_per_second"
        put(self, timing, check_real(getattr(self, timing), name=timing, low=0.0, low_open=True))
        put(self, "devices", check_int(self.devices, name="devices"))
        if self.price_per_device_hour is not None:
            price = check_real(self.price_per_device_hour, name="price_per_device_hour", low=0.0)
            put(self, "price_per_device_hour", price)

    @property
    def batch_seconds(self) -> float:
        """Device seconds of one batch: ``seconds_per_batch``, or ``batch_size /
        samples_per_second``."""
        if self.seconds_per_batch is not None:
            return self.seconds_per_batch
        return self.batch_size / self.samples_per_second


#: The 0.1 keywords that :class:`Throughput` replaces, in their order.
_FLAT = ("batch_size", "seconds_per_batch", "samples_per_second", "devices")
_FLAT_PRICED = (*_FLAT, "price_per_device_hour")


def _check_throughput(throughput) -> Throughput:
    if not isinstance(throughput, Throughput):
        raise TypeError(
            f"throughput must be an rstheory.planning.Throughput, got {type(throughput).__name__}"
        )
    return throughput


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


@grouped_keywords("throughput", Throughput, _FLAT_PRICED)
def budget(n, inputs, *, throughput: Throughput) -> Budget:
    r"""Compute cost of certifying ``inputs`` inputs with ``n`` noise samples each.

    .. math::
        B = \text{inputs}\,\lceil n / \text{batch\_size} \rceil,\quad
        T_{\mathrm{dev}} = B\,t_{\mathrm{batch}},\quad
        T_{\mathrm{wall}} = T_{\mathrm{dev}} / \text{devices},\quad
        \text{cost} = \frac{T_{\mathrm{dev}}}{3600}\,\text{price}.

    Each input's samples are drawn in whole batches (the last one may be partial but
    costs a full batch); inputs are spread evenly over the devices. The batch size, the
    batch time ``t_batch`` (given directly or from a measured throughput per device), the
    devices and the price are those of ``throughput``.

    Args:
      n: samples per input, integer ``>= 1``.
      inputs: number of inputs, integer ``>= 1``.
      throughput: the hardware and its speed, a :class:`Throughput`. Release 0.1's flat
        keywords (``batch_size=``, ``seconds_per_batch=``, ``samples_per_second=``,
        ``devices=``, ``price_per_device_hour=``) still build one, with a
        :class:`DeprecationWarning`.

    Returns:
      :class:`Budget` ``(batches, device_seconds, wall_seconds, device_hours, cost)``.

    Raises:
      ValueError: ``n`` or ``inputs`` out of range.

    Example:
      >>> from rstheory import planning
      >>> hw = planning.Throughput(batch_size=100, seconds_per_batch=2.8, devices=4,
      ...                          price_per_device_hour=2.0)
      >>> b = planning.budget(1000, 500, throughput=hw)
      >>> b.batches, round(b.device_seconds, 6), round(b.wall_seconds, 6), round(b.cost, 6)
      (5000, 14000.0, 3500.0, 7.777778)

      The same campaign from a measured 40 samples/s per device (2.5 s per batch of 100):

      >>> hw = planning.Throughput(batch_size=100, samples_per_second=40.0, devices=2)
      >>> b = planning.budget(1000, 500, throughput=hw)
      >>> round(b.device_seconds, 6), round(b.wall_seconds, 6)
      (12500.0, 6250.0)
    """
    n = check_int(n, name="n")
    inputs = check_int(inputs, name="inputs")
    throughput = _check_throughput(throughput)
    return _cost(inputs * (-(-n // throughput.batch_size)), throughput)


def _cost(batches, throughput: Throughput) -> Budget:
    """The :class:`Budget` of ``batches`` batches on ``throughput``."""
    price = throughput.price_per_device_hour
    price = float("nan") if price is None else price
    device_seconds = batches * throughput.batch_seconds
    device_hours = device_seconds / 3600.0
    return Budget(
        batches,
        device_seconds,
        device_seconds / throughput.devices,
        device_hours,
        device_hours * price,
    )


@grouped_keywords("throughput", Throughput, _FLAT_PRICED)
def expected_budget(expected_samples, inputs, *, throughput: Throughput) -> Budget:
    r"""Expected compute cost of a rule that stops early, e.g. the sequential rule.

    A rule that draws whole batches of ``batch_size`` and stops after one of them (as
    :mod:`rstheory.sequential` does, with ``n_max`` a multiple of the batch) uses

    .. math::
        \mathbb{E}[B] = \text{inputs}\,\mathbb{E}[N] / \text{batch\_size};

    the other quantities follow as in :func:`budget`, as expectations (``batches`` is a
    float).

    Args:
      expected_samples: ``E[N]``, the mean samples per input, ``> 0`` (e.g.
        :attr:`rstheory.sequential.SequentialPlan.expected_samples`).
      inputs: number of inputs, integer ``>= 1``.
      throughput: the hardware and its speed, a :class:`Throughput` (its ``batch_size``
        is the rule's batch). The 0.1 flat keywords build one, as in :func:`budget`.

    Returns:
      :class:`Budget` of expectations.

    Example:
      >>> from rstheory import planning
      >>> hw = planning.Throughput(batch_size=100, seconds_per_batch=2.8, devices=4)
      >>> b = planning.expected_budget(250.0, 500, throughput=hw)
      >>> b.batches, round(b.device_seconds, 6), round(b.wall_seconds, 6)
      (1250.0, 3500.0, 875.0)
    """
    mean = check_real(expected_samples, name="expected_samples", low=0.0, low_open=True)
    inputs = check_int(inputs, name="inputs")
    throughput = _check_throughput(throughput)
    return _cost(inputs * mean / throughput.batch_size, throughput)


@grouped_keywords("throughput", Throughput, _FLAT)
def samples_within_budget(wall_seconds, inputs, *, throughput: Throughput) -> int:
    r"""Largest ``n`` (a multiple of ``batch_size``) whose :func:`budget` fits a wall time.

    .. math::
        n = \text{batch\_size}\,\Big\lfloor \frac{T_{\mathrm{wall}}\,\text{devices}}
        {\text{inputs}\,t_{\mathrm{batch}}} \Big\rfloor,

    checked against :func:`budget` so that ``budget(n, ...).wall_seconds <= wall_seconds``
    (up to a relative ``1e-12`` for round-off) and ``n + batch_size`` does not fit.

    Args:
      wall_seconds: available wall-clock time ``>= 0``.
      inputs: number of inputs, integer ``>= 1``.
      throughput: the hardware and its speed, a :class:`Throughput` (its price plays no
        part). Release 0.1's flat keywords (``batch_size=``, ``seconds_per_batch=``,
        ``samples_per_second=``, ``devices=``) still build one, with a
        :class:`DeprecationWarning`.

    Returns:
      Python ``int``; ``0`` when not even one batch per input fits.

    Raises:
      ValueError: ``wall_seconds`` or ``inputs`` out of range.

    Example:
      >>> from rstheory import planning
      >>> hw = planning.Throughput(batch_size=100, seconds_per_batch=2.8, devices=4)
      >>> planning.samples_within_budget(3500.0, 500, throughput=hw)
      1000
      >>> hw = planning.Throughput(batch_size=100, samples_per_second=40.0, devices=2)
      >>> planning.samples_within_budget(3600.0, 500, throughput=hw)
      500
    """
    wall = check_real(wall_seconds, name="wall_seconds", low=0.0)
    inputs = check_int(inputs, name="inputs")
    throughput = _check_throughput(throughput)
    batch_size, spb, devices = throughput.batch_size, throughput.batch_seconds, throughput.devices
    limit = wall * (1.0 + 1e-12)

    def fits(k: int) -> bool:
        return k == 0 or budget(k * batch_size, inputs, throughput=throughput).wall_seconds <= limit

    k = math.floor(wall * devices / (inputs * spb))
    while k > 0 and not fits(k):
        k -= 1
    while fits(k + 1):
        k += 1
    return k * batch_size
