"""Tests of sampler._noise: the law of the noise (goodness-of-fit tests with a stated
false-failure budget), seeding, devices, the normalization after the noise against the
processor's own pipeline, and the refusals."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
import transformers

from sampler.models import VLM
from sampler.noise import (
    PixelNormalization,
    add_gaussian_noise,
    check_images,
    check_sigma,
    noise_generator,
    pixel_normalization,
    resolve_device,
)
from tests.tolerances import MC_FALSE_FAILURE_RATE

# Float32 affine arithmetic on values of order 10: a few ulps (1.2e-7 each) of the result.
ATOL_F32_AFFINE = 1e-5

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _gaussian_fit_pvalues(z: np.ndarray) -> dict[str, float]:
    """p-values of three tests of z ~ N(0, 1) i.i.d.: mean (z-test), variance (two-sided
    chi-square on the sum of squares) and shape (Kolmogorov-Smirnov)."""
    n = z.size
    p_mean = 2 * scipy.stats.norm.sf(abs(z.mean()) * math.sqrt(n))
    ss = float(np.sum(z.astype(np.float64) ** 2))
    p_var = 2 * min(scipy.stats.chi2.cdf(ss, n), scipy.stats.chi2.sf(ss, n))
    p_ks = scipy.stats.kstest(z, "norm").pvalue
    return {"mean": p_mean, "variance": p_var, "ks": p_ks}


def test_noise_is_gaussian_with_mean_zero_and_std_sigma():
    """(noisy - clean) / sigma passes mean, variance and KS tests of N(0, 1).

    Each of the three tests runs at level MC_FALSE_FAILURE_RATE / 3, so a correct
    implementation fails this test with probability <= MC_FALSE_FAILURE_RATE. The same tests
    must reject noise whose std is 2% off (sigma squared instead of sigma would be far
    worse), which shows they have the power to catch a wrong scale.
    """
    level = MC_FALSE_FAILURE_RATE / 3
    sigma = 0.3
    clean = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(1))
    noisy = add_gaussian_noise(clean, num=1000, sigma=sigma, generator=noise_generator(seed=7))
    assert noisy.shape == (1000, 3, 16, 16)
    assert noisy.dtype == torch.float32
    z = ((noisy - clean) / sigma).numpy().ravel()  # 768,000 draws
    pvalues = _gaussian_fit_pvalues(z)
    assert min(pvalues.values()) > level, pvalues
    wrong = _gaussian_fit_pvalues(z * 1.02)
    assert wrong["variance"] < level, wrong


def test_noise_is_independent_across_batch_elements_and_pixels():
    """Pearson correlation of the noise of copies 0 and 1 (and of neighbouring pixels) is
    consistent with 0: |r| sqrt(m) is N(0, 1) under independence; the bound is its
    two-sided quantile at MC_FALSE_FAILURE_RATE / 2 per test."""
    bound = scipy.stats.norm.isf(MC_FALSE_FAILURE_RATE / 4)
    clean = torch.zeros(3, 64, 64)
    noise = add_gaussian_noise(clean, num=2, sigma=1.0, generator=noise_generator(seed=3))
    a, b = noise[0].ravel().numpy(), noise[1].ravel().numpy()
    assert not np.array_equal(a, b)
    assert abs(np.corrcoef(a, b)[0, 1]) * math.sqrt(a.size) < bound
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) * math.sqrt(a.size - 1) < bound


def test_noise_is_reproducible_from_the_seed_and_differs_across_seeds():
    clean = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    draw = lambda seed: add_gaussian_noise(
        clean, num=5, sigma=0.5, generator=noise_generator(seed=seed)
    )
    assert torch.equal(draw(11), draw(11))
    assert not torch.equal(draw(11), draw(12))
    # One generator, two calls: the second batch continues the stream, it does not repeat it.
    gen = noise_generator(seed=11)
    first = add_gaussian_noise(clean, num=5, sigma=0.5, generator=gen)
    second = add_gaussian_noise(clean, num=5, sigma=0.5, generator=gen)
    assert torch.equal(first, draw(11))
    assert not torch.equal(first, second)


def test_noise_matches_an_independent_torch_randn_with_the_same_seed():
    """The noise is exactly clean + sigma * randn from a generator with the same seed."""
    clean = torch.rand(3, 5, 7, generator=torch.Generator().manual_seed(2))
    noisy = add_gaussian_noise(clean, num=4, sigma=0.125, generator=noise_generator(seed=99))
    eps = torch.randn(4, 3, 5, 7, generator=torch.Generator().manual_seed(99))
    torch.testing.assert_close(noisy, clean + 0.125 * eps, rtol=0, atol=ATOL_F32_AFFINE)


def test_sigma_zero_gives_the_clean_image_and_noise_is_not_clipped():
    clean = torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(5))
    same = add_gaussian_noise(clean, num=3, sigma=0.0, generator=noise_generator(seed=0))
    assert torch.equal(same, clean.expand(3, 3, 4, 4))
    noisy = add_gaussian_noise(clean, num=50, sigma=1.0, generator=noise_generator(seed=0))
    assert float(noisy.min()) < 0.0 and float(noisy.max()) > 1.0


def test_noise_lands_on_the_generator_device_cpu():
    noisy = add_gaussian_noise(
        torch.zeros(3, 2, 2), num=2, sigma=1.0, generator=noise_generator(seed=0)
    )
    assert noisy.device.type == "cpu"


@pytest.mark.gpu
def test_noise_lands_on_the_model_device_cuda():
    """[GPU] Noise drawn on the CUDA device from a CUDA generator, reproducible there."""
    clean = torch.rand(3, 8, 8, device="cuda")
    a = add_gaussian_noise(
        clean, num=4, sigma=0.5, generator=noise_generator(seed=1, device="cuda")
    )
    b = add_gaussian_noise(
        clean, num=4, sigma=0.5, generator=noise_generator(seed=1, device="cuda")
    )
    assert a.device.type == "cuda"
    assert torch.equal(a, b)


def test_effective_sigma_after_normalization_is_sigma_over_std_per_channel():
    """normalize(noisy) - normalize(clean) == noise / std[c], computed by hand; its sample
    std per channel is close to sigma / std[c]; the recorded effective sigma is that ratio."""
    norm = PixelNormalization(CLIP_MEAN, CLIP_STD)
    sigma = 0.25
    assert norm.effective_sigma(sigma) == tuple(sigma / s for s in CLIP_STD)
    clean = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    noisy = add_gaussian_noise(clean, num=200, sigma=sigma, generator=noise_generator(seed=4))
    got = norm(noisy) - norm(clean)
    std = torch.tensor(CLIP_STD).view(3, 1, 1)
    mean = torch.tensor(CLIP_MEAN).view(3, 1, 1)
    by_hand = (noisy - mean) / std - (clean - mean) / std
    torch.testing.assert_close(got, by_hand, rtol=0, atol=ATOL_F32_AFFINE)
    torch.testing.assert_close(got, (noisy - clean) / std, rtol=0, atol=ATOL_F32_AFFINE)
    # The per-channel sample std of 204,800 draws: relative sd sqrt(1 / (2 m)) = 1.6e-3, so
    # the chi-square two-sided test at MC_FALSE_FAILURE_RATE / 3 per channel applies.
    for c, eff in enumerate(norm.effective_sigma(sigma)):
        z = (got[:, c] / eff).numpy().ravel()
        assert _gaussian_fit_pvalues(z)["variance"] > MC_FALSE_FAILURE_RATE / 3


def test_normalization_casts_once_after_float32_arithmetic():
    norm = PixelNormalization(CLIP_MEAN, CLIP_STD)
    x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(norm(x, dtype=torch.bfloat16), norm(x).to(torch.bfloat16))


def test_our_normalization_after_prepare_equals_the_processor_pipeline(vlm):
    """Independent route: the processor's own output for the clean image (resize, crop,
    rescale, normalize in one go) equals VLM.prepare's clean pixels (processor without
    normalization) followed by our affine normalization."""
    image = torch.rand(3, 40, 50, generator=torch.Generator().manual_seed(3))
    prepared = vlm.prepare(image, "what is this?")
    ours = vlm.normalization(prepared.pixels)
    theirs = vlm.processor.image_processor(images=[image], do_rescale=False, return_tensors="pt")
    torch.testing.assert_close(ours, theirs["pixel_values"][0], rtol=0, atol=ATOL_F32_AFFINE)
    assert 0.0 <= float(prepared.pixels.min()) and float(prepared.pixels.max()) <= 1.0


def test_pixel_normalization_reads_the_processor_constants(vlm15):
    norm = pixel_normalization(vlm15.processor)
    assert norm == PixelNormalization(CLIP_MEAN, CLIP_STD)
    plain = transformers.CLIPImageProcessorPil(do_normalize=False)
    assert pixel_normalization(plain) == PixelNormalization()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rescale_factor": 1 / 127.5}, "not 1/255"),
        ({"image_std": [0.5, 0.0, 0.5]}, "std must be > 0"),
        ({"image_mean": [0.5, 0.5]}, "mean must be 3"),
        ({"image_mean": None}, "no image_mean"),
    ],
)
def test_pixel_normalization_refuses_processors_that_would_change_sigma(kwargs, match):
    ip = transformers.CLIPImageProcessorPil(image_mean=[0.5] * 3, image_std=[0.5] * 3)
    for k, v in kwargs.items():
        setattr(ip, k, v)
    with pytest.raises(ValueError, match=match):
        pixel_normalization(ip)


def test_pixel_normalization_refuses_an_offset_rescale_and_a_non_processor():
    ip = transformers.CLIPImageProcessorPil()
    ip.do_rescale_offset = True
    with pytest.raises(ValueError, match="do_rescale_offset"):
        pixel_normalization(ip)
    with pytest.raises(ValueError, match="image_processor"):
        pixel_normalization(object())


class _PatchFlatteningProcessor:
    """A processor whose pixel_values come out as flattened patches (like Qwen2-VL's)."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __call__(self, *args, **kwargs):
        enc = self._inner(*args, **kwargs)
        enc["pixel_values"] = enc["pixel_values"].reshape(1, -1, 3 * 7 * 7)
        return enc


def test_prepare_refuses_a_processor_without_channels_first_pixels(vlm15):
    bad = VLM(vlm15.model, _PatchFlatteningProcessor(vlm15.processor))
    with pytest.raises(ValueError, match="pixel-space noise cannot be added"):
        bad.prepare(torch.rand(3, 28, 28), "what is this?")


@pytest.mark.parametrize("sigma", [-0.1, math.nan, math.inf, "0.5", True])
def test_bad_sigma_is_refused(sigma):
    with pytest.raises(ValueError, match="sigma"):
        check_sigma(sigma)
    with pytest.raises(ValueError, match="sigma"):
        add_gaussian_noise(
            torch.zeros(3, 2, 2), num=1, sigma=sigma, generator=noise_generator(seed=0)
        )


@pytest.mark.parametrize("num", [0, -1, 2.5])
def test_bad_num_is_refused(num):
    with pytest.raises(ValueError, match="num"):
        add_gaussian_noise(
            torch.zeros(3, 2, 2), num=num, sigma=0.1, generator=noise_generator(seed=0)
        )


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (torch.full((1, 3, 2, 2), 1.5), r"\[0, 1\]"),
        (torch.full((1, 3, 2, 2), -0.01), r"\[0, 1\]"),
        (torch.full((1, 3, 2, 2), math.nan), r"\[0, 1\]"),
        (torch.zeros(3, 2, 2), "shape"),
        (torch.zeros(1, 4, 2, 2), "shape"),
        (torch.zeros(0, 3, 2, 2), "empty"),
        (torch.zeros(1, 3, 2, 2, dtype=torch.uint8), "floating"),
        (np.zeros((1, 3, 2, 2)), "floating"),
    ],
)
def test_bad_images_are_refused_naming_the_argument(images, match):
    with pytest.raises(ValueError, match="images") as err:
        check_images(images)
    assert err.match(match)


@pytest.mark.parametrize("device", ["banana", "cuda:x", 3.5, "meta"])
def test_unknown_device_is_refused(device):
    with pytest.raises(ValueError, match="device"):
        resolve_device(device)


def test_auto_device_and_cuda_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            resolve_device("cuda")


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, None])
def test_bad_seed_is_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        noise_generator(seed=seed)


@pytest.mark.parametrize(
    ("mean", "std", "match"),
    [((0.0, 0.0, 0.0), (1.0, -1.0, 1.0), "std"), ((0.0,) * 4, (1.0,) * 3, "mean")],
)
def test_pixel_normalization_validates_its_fields(mean, std, match):
    with pytest.raises(ValueError, match=match):
        PixelNormalization(mean, std)


def test_the_0_1_positional_calls_warn_and_draw_the_same_noise():
    clean = torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(0))
    new = add_gaussian_noise(clean, num=3, sigma=0.5, generator=noise_generator(seed=5))
    with pytest.warns(DeprecationWarning, match=r"pass seed, device as a keyword"):
        gen = noise_generator(5, "cpu")
    with pytest.warns(DeprecationWarning, match=r"pass num as a keyword, num=\.\.\."):
        old = add_gaussian_noise(clean, 3, sigma=0.5, generator=gen)
    assert torch.equal(old, new)
