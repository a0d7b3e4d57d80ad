"""Tests of sampler._votes: counting against independent counters, the CERTIFY split, and a
simulated classifier whose exact certified radius is known."""

import collections
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import rstheory
import sampler
from tests.tolerances import MC_FALSE_FAILURE_RATE

labels_and_classes = st.integers(1, 7).flatmap(
    lambda c: st.tuples(st.lists(st.integers(0, c - 1), max_size=60), st.just(c))
)


@given(labels_and_classes)
def test_count_votes_matches_numpy_bincount(case):
    """count_votes(labels, C) == numpy.bincount(labels, minlength=C), for any labels in [0, C)."""
    labels, num_classes = case
    counts = sampler.count_votes(torch.tensor(labels, dtype=torch.int64), num_classes=num_classes)
    expected = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
    assert counts.dtype == torch.int64
    np.testing.assert_array_equal(counts.numpy(), expected)


@given(st.lists(st.lists(st.integers(0, 4), min_size=9, max_size=9), min_size=1, max_size=6))
def test_count_votes_batched_matches_counter_per_row(rows):
    """A (batch, samples) tensor is counted row by row, as collections.Counter counts each row."""
    counts = sampler.count_votes(torch.tensor(rows), num_classes=5)
    assert counts.shape == (len(rows), 5)
    for row, got in zip(rows, counts.tolist(), strict=True):
        c = collections.Counter(row)
        assert got == [c[j] for j in range(5)]


def test_count_votes_keeps_leading_batch_axes_and_empty_samples():
    labels = torch.zeros((2, 3, 0), dtype=torch.int32)
    counts = sampler.count_votes(labels, num_classes=4)
    assert counts.shape == (2, 3, 4)
    assert int(counts.sum()) == 0


@pytest.mark.parametrize(
    ("labels", "num_classes", "match"),
    [
        (torch.tensor([0, 1, 3]), 3, r"\[0, 3\), got 3"),
        (torch.tensor([0, -1]), 3, r"got -1"),
        (torch.tensor([0.0, 1.0]), 3, "integer tensor"),
        (torch.tensor([True, False]), 3, "integer tensor"),
        (torch.tensor(1), 3, "0-d"),
        (torch.tensor([0]), 0, "num_classes"),
        (torch.tensor([0]), 2.5, "num_classes"),
    ],
)
def test_count_votes_rejects_bad_input_with_clear_message(labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        sampler.count_votes(labels, num_classes=num_classes)


@given(st.lists(st.integers(0, 20), min_size=2, max_size=8))
def test_top_two_matches_sorting_with_lowest_index_on_ties(counts):
    """top_two equals the first two entries of the classes sorted by (-count, index)."""
    order = sorted(range(len(counts)), key=lambda c: (-counts[c], c))
    got = sampler.top_two(torch.tensor(counts))
    assert (int(got.class_a), int(got.n_a)) == (order[0], counts[order[0]])
    assert (int(got.class_b), int(got.n_b)) == (order[1], counts[order[1]])


def test_top_two_is_batched_over_the_last_axis():
    counts = torch.tensor([[5, 1, 7], [0, 0, 0], [2, 9, 9]])
    got = sampler.top_two(counts)
    assert got.class_a.tolist() == [2, 0, 1]
    assert got.n_a.tolist() == [7, 0, 9]
    assert got.class_b.tolist() == [0, 1, 2]
    assert got.n_b.tolist() == [5, 0, 9]


@pytest.mark.parametrize("counts", [torch.tensor([4]), torch.tensor([1, -2]), torch.tensor(3)])
def test_top_two_rejects_bad_counts(counts):
    with pytest.raises(ValueError, match="counts"):
        sampler.top_two(counts)


def test_certificate_uses_selection_for_the_class_and_estimation_for_the_bound():
    """Selection picks class 2; the estimation votes of class 2 (not the estimation majority,
    class 0) are the k that is certified, so this input abstains."""
    selection = torch.tensor([10, 5, 85])
    estimation = torch.tensor([700, 0, 300])
    vc = sampler.certificate_from_counts(selection, estimation, alpha=0.001, sigma=0.5)
    assert (int(vc.top_class), int(vc.k), int(vc.n)) == (2, 300, 1000)
    assert bool(vc.certificate.abstained)
    assert float(vc.certificate.radius) == 0.0


def test_certificate_matches_rstheory_certify_on_the_same_counts_batched():
    selection = torch.tensor([[0, 100, 0], [60, 40, 0], [3, 3, 94]])
    estimation = torch.tensor([[1, 9990, 9], [400, 600, 0], [100, 50, 9850]])
    vc = sampler.certificate_from_counts(selection, estimation, alpha=0.001, sigma=0.25)
    assert vc.top_class.tolist() == [1, 0, 2]
    assert vc.k.tolist() == [9990, 400, 9850]
    assert vc.n.tolist() == [10000, 1000, 10000]
    expected = rstheory.certify([9990, 400, 9850], [10000, 1000, 10000], alpha=0.001, sigma=0.25)
    np.testing.assert_array_equal(np.asarray(vc.certificate.p_lower), np.asarray(expected.p_lower))
    np.testing.assert_array_equal(np.asarray(vc.certificate.radius), np.asarray(expected.radius))
    np.testing.assert_array_equal(
        np.asarray(vc.certificate.abstained), np.asarray(expected.abstained)
    )


@pytest.mark.parametrize(
    ("selection", "estimation", "match"),
    [
        (torch.tensor([1, 2]), torch.tensor([1, 2, 3]), "same shape"),
        (torch.tensor([0, 0]), torch.tensor([1, 2]), "selection_counts must hold at least one"),
        (torch.tensor([1, 0]), torch.tensor([0, 0]), "estimation_counts must hold at least one"),
        (torch.tensor([1, -1]), torch.tensor([1, 2]), "selection_counts must be >= 0"),
        (torch.tensor([1.0, 0.0]), torch.tensor([1, 2]), "integer tensor"),
    ],
)
def test_certificate_rejects_bad_counts(selection, estimation, match):
    with pytest.raises(ValueError, match=match):
        sampler.certificate_from_counts(selection, estimation, alpha=0.001, sigma=0.25)


def test_certificate_passes_rstheory_errors_through():
    with pytest.raises(ValueError, match="alpha"):
        sampler.certificate_from_counts(
            torch.tensor([1, 0]), torch.tensor([5, 0]), alpha=1.5, sigma=0.25
        )


def _linear_classifier(x, w, b):
    """Three classes: 0 where w.x + b > 0, else 1 (class 2 is never predicted)."""
    return torch.where(x @ w + b > 0, 0, 1)


def test_toy_classifier_certificate_is_sound_and_matches_rstheory():
    """End to end on a classifier whose smoothed radius is known in closed form.

    For a linear binary classifier and Gaussian noise N(0, sigma^2 I), p_A = Phi(d / sigma)
    with d the distance of x to the hyperplane, so the exact certified radius is d itself
    (Cohen et al. 2019, Sec. 3.1). The certified radius must not exceed d except with
    probability alpha over the noise; alpha = MC_FALSE_FAILURE_RATE bounds the chance that
    this test fails for a correct implementation, whatever the seed.
    """
    gen = torch.Generator().manual_seed(20190207)
    dim, n0, n, sigma = 8, 100, 20_000, 0.5
    alpha = MC_FALSE_FAILURE_RATE
    w = torch.randn(dim, generator=gen, dtype=torch.float64)
    b = 0.3
    x = 0.6 * w / w.norm()
    distance = float((x @ w + b) / w.norm())
    assert distance > 0  # x is on the class-0 side

    def votes(num):
        noise = sigma * torch.randn(num, dim, generator=gen, dtype=torch.float64)
        return sampler.count_votes(_linear_classifier(x + noise, w, b), num_classes=3)

    vc = sampler.certificate_from_counts(votes(n0), votes(n), alpha=alpha, sigma=sigma)

    assert int(vc.top_class) == 0
    direct = rstheory.certify(int(vc.k), int(vc.n), alpha=alpha, sigma=sigma)
    assert float(vc.certificate.radius) == float(direct.radius)
    radius = float(vc.certificate.radius)
    assert not bool(vc.certificate.abstained)
    assert 0 < radius <= distance
    # The bound is not vacuous: with n = 20,000 the CP margin costs well under half of d.
    p_exact = 0.5 * math.erfc(-distance / sigma / math.sqrt(2))
    assert float(vc.certificate.p_lower) <= p_exact
    assert radius > 0.5 * distance
