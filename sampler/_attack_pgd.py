"""L2 projected gradient ascent on an image: the optimiser of :mod:`sampler.attack`.

Madry, Makelov, Schmidt, Tsipras & Vladu (2018), "Towards Deep Learning Models Resistant
to Adversarial Attacks", ICLR, Sec. 2 (Eq. 2.1 and the projected-gradient method), in the
L2 form of their Appendix / of Rony et al. (2019): with ``x_0`` the clean pixels and
``delta_t = x_t - x_0``,

.. math::

    x_{t+1} = \\Pi\\Big(x_t + h\\,\\frac{\\nabla L(x_t)}{\\lVert \\nabla L(x_t)\\rVert_2}\\Big),
    \\qquad
    \\Pi(x) = \\operatorname{clip}_{[0,1]}\\Big(x_0 + \\delta\\,\\min\\big(1,
    \\tfrac{\\varepsilon}{\\lVert\\delta\\rVert_2}\\big)\\Big),\\ \\delta = x - x_0,

for ``steps`` steps of size ``h`` (``step_size``). The clip after the ball's projection
keeps the point in both sets: ``x_0`` lies in ``[0, 1]``, so clipping a coordinate only
shrinks ``|delta_i|``. Restart 0 starts at ``x_0``; restart ``r >= 1`` at a uniform point
of the eps-ball (a Gaussian direction, radius ``eps * U**(1/d)``), then projected. The
restart with the largest ``score`` of its final point is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from sampler._validation import check_count, check_int, check_real, check_seed

__all__ = ["PGDResult", "check_budget", "l2_pgd", "project_l2"]


class PGDResult(NamedTuple):
    """The kept restart of :func:`l2_pgd`.

    Attributes:
      pixels: the adversarial pixels, the shape of ``x0``, in ``[0, 1]``.
      norm: ``||pixels - x0||_2`` (``<= eps`` up to float rounding).
      score: ``score(pixels)`` of the kept restart (the largest of all restarts).
      restart: which restart was kept (0: the one started at ``x0``).
    """

    pixels: torch.Tensor
    norm: float
    score: float
    restart: int


def check_budget(*, eps, steps, step_size, restarts) -> tuple[float, int, float, int]:
    """``(eps, steps, step_size, restarts)`` checked; ``step_size=None`` is ``2.5 * eps /
    steps`` (Madry et al. 2018's rule of thumb: the ball's far side is reachable).

    Example:
      >>> check_budget(eps=0.5, steps=10, step_size=None, restarts=1)
      (0.5, 10, 0.125, 1)
      >>> check_budget(eps=-1, steps=10, step_size=None, restarts=1)
      Traceback (most recent call last):
      ...
      ValueError: eps must lie in [0, inf), got -1.0
    """
    eps = check_real(eps, name="eps", low=0.0)
    steps = check_int(steps, name="steps", low=0)
    restarts = check_count(restarts, name="restarts")
    if step_size is None:
        step_size = 2.5 * eps / max(steps, 1)
    else:
        step_size = check_real(step_size, name="step_size", low=0.0, low_open=True)
    return eps, steps, float(step_size), restarts


def project_l2(x: torch.Tensor, x0: torch.Tensor, *, eps: float) -> torch.Tensor:
    """``Pi(x)``: onto the L2 ball of radius ``eps`` around ``x0``, then into ``[0, 1]``.

    Example:
      >>> import torch
      >>> x0 = torch.full((3, 2, 2), 0.5)
      >>> x = project_l2(x0 + 1.0, x0, eps=0.3)
      >>> round(float((x - x0).norm()), 6), float(x.max()) <= 1.0
      (0.3, True)
    """
    delta = x - x0
    norm = delta.flatten().norm()
    if norm > eps:
        delta = delta * (eps / norm)
    return (x0 + delta).clamp(0.0, 1.0)


def _random_start(x0: torch.Tensor, eps: float, generator: torch.Generator) -> torch.Tensor:
    direction = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    direction = direction / direction.flatten().norm().clamp_min(1e-30)
    u = torch.rand((), generator=generator, device=x0.device, dtype=x0.dtype)
    return project_l2(x0 + direction * eps * u ** (1.0 / x0.numel()), x0, eps=eps)


def l2_pgd(
    loss: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    *,
    eps: float,
    steps: int,
    step_size: float | None = None,
    restarts: int = 1,
    seed: int = 0,
    score: Callable[[torch.Tensor], float] | None = None,
) -> PGDResult:
    """Maximise ``loss`` over the L2 ball of radius ``eps`` around ``x0`` intersected with
    ``[0, 1]`` (the module docstring gives the iteration).

    Args:
      loss: maps pixels of ``x0``'s shape to a 0-d tensor, differentiable in them (it may
        draw fresh noise at each call, as the smoothed objective does).
      x0: the clean pixels in ``[0, 1]``, any shape.
      eps: the budget, ``>= 0`` (``0`` returns ``x0``).
      steps: gradient steps per restart, ``>= 0``.
      step_size: ``h``, ``> 0``; None: ``2.5 * eps / steps``.
      restarts: ``>= 1``; the kept one has the largest ``score``.
      seed: seeds the random starts (a :class:`torch.Generator` on ``x0``'s device).
      score: how restarts are compared, a float of the final pixels (deterministic, e.g.
        the loss under fixed noise); None: ``float(loss(pixels))``.

    Returns:
      :class:`PGDResult`.

    Example (a linear score: the step goes straight along its gradient):
      >>> import torch
      >>> w = torch.tensor([3.0, 4.0]) / 5
      >>> res = l2_pgd(lambda x: (w * x).sum(), torch.full((2,), 0.5), eps=0.1, steps=5)
      >>> [round(v, 4) for v in res.pixels.tolist()], round(res.norm, 6)
      ([0.56, 0.58], 0.1)
    """
    eps, steps, step_size, restarts = check_budget(
        eps=eps, steps=steps, step_size=step_size, restarts=restarts
    )
    seed = check_seed(seed)
    x0 = x0.detach()
    generator = torch.Generator(device=x0.device).manual_seed(seed)
    score = score if score is not None else (lambda x: float(loss(x).detach()))
    best: PGDResult | None = None
    for r in range(restarts):
        x = x0.clone() if r == 0 or eps == 0 else _random_start(x0, eps, generator)
        for _ in range(steps if eps > 0 else 0):
            x = x.detach().requires_grad_(True)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(loss(x), x)
            gnorm = grad.flatten().norm()
            if not torch.isfinite(gnorm) or gnorm == 0:
                break  # a flat or broken loss: no direction to follow
            x = project_l2(x.detach() + step_size * grad / gnorm, x0, eps=eps)
        x = x.detach()
        s = score(x)
        if best is None or s > best.score:
            best = PGDResult(x, float((x - x0).flatten().norm()), s, r)
    return best
