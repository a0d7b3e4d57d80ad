"""Vote counting: class ids of noisy samples -> counts per class -> certificate.

Counts are the one interface between measurement (this package) and theory
(:mod:`rstheory`): this module counts and picks classes, and leaves every
probability statement to :func:`rstheory.certify`.

Axis vocabulary: ``*batch`` leading axes (inputs), ``samples`` the noisy draws of
one input, ``classes`` trailing.

References:
  J. Cohen, E. Rosenfeld, J. Z. Kolter (2019), "Certified Adversarial Robustness via
  Randomized Smoothing", ICML; Algorithm CERTIFY (selection with ``n0`` samples,
  estimation with ``n`` fresh samples).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

import rstheory
from rstheory._deprecation import keyword_only
from sampler._results import CertifyResult
from sampler._validation import check_count, check_integer_tensor

__all__ = ["TopTwo", "certificate_from_counts", "count_votes", "select_class", "top_two"]


class TopTwo(NamedTuple):
    """The two most voted classes per input; each field has shape ``(*batch)``, int64."""

    class_a: torch.Tensor
    n_a: torch.Tensor
    class_b: torch.Tensor
    n_b: torch.Tensor


@keyword_only("num_classes")
def count_votes(labels, *, num_classes: int) -> torch.Tensor:
    """Counts per class of the class ids of noisy samples.

    ``counts[..., c] = #{i : labels[..., i] == c}``, computed with one
    :func:`torch.bincount` (``minlength=num_classes``) over all inputs at once.

    Args:
      labels: integer class ids, shape ``(*batch, samples)``, each in ``[0, num_classes)``;
        a tensor or anything :func:`torch.as_tensor` accepts. ``samples`` may be 0.
      num_classes: number of classes, an integer ``>= 1``, keyword-only (positional in 0.1:
        still accepted with a :class:`DeprecationWarning`).

    Returns:
      int64 tensor of shape ``(*batch, num_classes)`` on the device of ``labels``;
      ``counts.sum(-1) == samples``.

    Raises:
      ValueError: ``labels`` is not an integer tensor, is 0-d, or has an entry outside
        ``[0, num_classes)``; ``num_classes`` is not an int ``>= 1``.

    Example:
      >>> import torch, sampler
      >>> sampler.count_votes(torch.tensor([0, 2, 2, 1, 2]), num_classes=4)
      tensor([1, 1, 3, 0])
      >>> sampler.count_votes(torch.tensor([[0, 0, 1], [1, 1, 1]]), num_classes=2)
      tensor([[2, 1],
              [0, 3]])
    """
    num_classes = check_count(num_classes, name="num_classes")
    labels = check_integer_tensor(labels, name="labels")
    if labels.ndim == 0:
        raise ValueError("labels must have a trailing samples axis, got a 0-d tensor")
    if labels.numel() > 0:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(f"labels must lie in [0, num_classes) = [0, {num_classes}), got {bad}")
    batch_shape = labels.shape[:-1]
    rows = math.prod(batch_shape)
    flat = labels.reshape(rows, labels.shape[-1]).to(torch.int64)
    offsets = torch.arange(rows, device=flat.device, dtype=torch.int64).unsqueeze(-1) * num_classes
    counts = torch.bincount((flat + offsets).reshape(-1), minlength=rows * num_classes)
    return counts.reshape(*batch_shape, num_classes)


def top_two(counts) -> TopTwo:
    """The most and second-most voted classes over the last axis.

    Ties go to the lower class index (as :func:`torch.argmax`), so the result is
    deterministic; ``class_b != class_a`` always, and ``n_b`` may be 0.

    Args:
      counts: non-negative integer counts, shape ``(*batch, classes)``, ``classes >= 2``.

    Returns:
      :class:`TopTwo` ``(class_a, n_a, class_b, n_b)``, each int64 of shape ``(*batch)``.

    Raises:
      ValueError: non-integer dtype, negative counts, or fewer than 2 classes.

    Example:
      >>> import torch, sampler
      >>> sampler.top_two(torch.tensor([3, 9, 9, 1]))
      TopTwo(class_a=tensor(1), n_a=tensor(9), class_b=tensor(2), n_b=tensor(9))
    """
    counts = check_integer_tensor(counts, name="counts").to(torch.int64)
    if counts.ndim == 0 or counts.shape[-1] < 2:
        raise ValueError(
            f"counts needs a trailing classes axis of length >= 2, got shape {tuple(counts.shape)}"
        )
    if counts.numel() and int(counts.min()) < 0:
        raise ValueError(f"counts must be >= 0, got {int(counts.min())}")
    class_a = counts.argmax(dim=-1)
    n_a = counts.gather(-1, class_a.unsqueeze(-1)).squeeze(-1)
    rest = counts.scatter(-1, class_a.unsqueeze(-1), -1)
    class_b = rest.argmax(dim=-1)
    n_b = counts.gather(-1, class_b.unsqueeze(-1)).squeeze(-1)
    return TopTwo(class_a, n_a, class_b, n_b)


def select_class(selection_counts) -> torch.Tensor:
    """The selection step of CERTIFY (Cohen, Rosenfeld & Kolter 2019): the most voted class.

    ``argmax`` over the last axis of the selection counts, ties to the lower class id, so
    the choice is deterministic. The one selection step of :mod:`sampler`: used by
    :func:`certificate_from_counts` and :func:`sampler.certify.certify` (both rules).

    Args:
      selection_counts: integer counts ``(*batch, classes)`` of the selection samples.

    Returns:
      int64 tensor ``(*batch)``.

    Example:
      >>> import torch, sampler
      >>> sampler.select_class(torch.tensor([3, 9, 9, 1]))
      tensor(1)
    """
    counts = check_integer_tensor(selection_counts, name="selection_counts")
    if counts.ndim == 0:
        raise ValueError("selection_counts need a trailing classes axis, got a 0-d tensor")
    return counts.argmax(dim=-1)


def certificate_from_counts(
    selection_counts, estimation_counts, *, alpha: float = 0.001, sigma: float
) -> CertifyResult:
    """Cohen et al. (2019) CERTIFY from the counts of two independent sample sets.

    The class is chosen from the ``n0`` *selection* samples only,
    ``top_class = argmax(selection_counts)``; its votes among the ``n`` fresh
    *estimation* samples, ``k = estimation_counts[top_class]``, go to
    :func:`rstheory.certify` with ``n = estimation_counts.sum()``. Choosing the class
    and bounding its probability on the same samples would void the ``1 - alpha``
    guarantee, so the two sets must come from separate draws.

    Args:
      selection_counts: integer counts of the selection samples, ``(*batch, classes)``,
        at least one vote per input. Ties go to the lower class index.
      estimation_counts: integer counts of the estimation samples, same shape, at least
        one vote per input.
      alpha: significance level in ``(0, 1)``, keyword-only; default 0.001.
      sigma: noise standard deviation ``> 0``, keyword-only.

    Returns:
      :class:`sampler.certify.CertifyResult` with ``top_class``, ``k``, ``n``, ``n0``
      (int64 tensors, ``(*batch)``), the counts and the :class:`rstheory.Certificate`; the
      per-sample fields (labels, texts, noise, timings, seeds) are None.

    Raises:
      ValueError: mismatched shapes, non-integer or negative counts, an input without
        selection or estimation votes, or an ``alpha``/``sigma`` that :mod:`rstheory` rejects.

    Example:
      >>> import torch, sampler
      >>> selection = torch.tensor([2, 97, 1])       # n0 = 100
      >>> estimation = torch.tensor([4, 990, 6])     # n = 1000
      >>> vc = sampler.certificate_from_counts(selection, estimation, alpha=0.001, sigma=0.25)
      >>> int(vc.top_class), int(vc.k), int(vc.n)
      (1, 990, 1000)
      >>> round(float(vc.certificate.radius), 4), bool(vc.certificate.abstained)
      (0.4945, False)
    """
    selection_counts = check_integer_tensor(selection_counts, name="selection_counts")
    estimation_counts = check_integer_tensor(estimation_counts, name="estimation_counts")
    selection_counts = selection_counts.to(torch.int64)
    estimation_counts = estimation_counts.to(torch.int64)
    if selection_counts.shape != estimation_counts.shape:
        raise ValueError(
            "selection_counts and estimation_counts must have the same shape (*batch, classes), "
            f"got {tuple(selection_counts.shape)} and {tuple(estimation_counts.shape)}"
        )
    if selection_counts.ndim == 0:
        raise ValueError("counts need a trailing classes axis, got 0-d tensors")
    for name, c in (
        ("selection_counts", selection_counts),
        ("estimation_counts", estimation_counts),
    ):
        if c.numel() and int(c.min()) < 0:
            raise ValueError(f"{name} must be >= 0, got {int(c.min())}")
        if c.numel() and int(c.sum(-1).min()) < 1:
            raise ValueError(f"{name} must hold at least one vote per input")
    top_class = select_class(selection_counts)
    k = estimation_counts.gather(-1, top_class.unsqueeze(-1)).squeeze(-1)
    n = estimation_counts.sum(dim=-1)
    cert = rstheory.certify(k.cpu().numpy(), n.cpu().numpy(), alpha=alpha, sigma=sigma)
    return CertifyResult(
        top_class=top_class,
        k=k,
        n=n,
        n0=selection_counts.sum(dim=-1),
        num_classes=int(selection_counts.shape[-1]),
        selection_counts=selection_counts,
        estimation_counts=estimation_counts,
        certificate=cert,
    )
