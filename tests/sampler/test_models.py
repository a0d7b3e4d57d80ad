"""Tests of sampler._models, _models_vlm and _models_classifier: loading tiny LLaVA 1.5 / 1.6
from disk, batched generation against one-image generation, determinism, the prompt
tokenized once, the classifier's argmax, and the refusals."""

import dataclasses
import json

import pytest
import torch
import transformers

import sampler._models_vlm as models_vlm
from sampler.models import (
    VLM,
    DecodingConfig,
    ImageClassifier,
    Model,
    NoiseSpec,
    Prepared,
    sample_predictions,
)
from sampler.noise import PixelNormalization, add_gaussian_noise, noise_generator
from tests.sampler.conftest import TEST_DECODING

PROMPT = "what is in the picture?"


def _image(seed=0, size=(40, 50)):
    return torch.rand(3, *size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("fixture", "cls", "pixels_shape"),
    [
        ("vlm15", "LlavaForConditionalGeneration", (3, 28, 28)),
        # anyres: a 40 x 50 image picks the 56 x 56 pinpoint: 4 tiles + the base image.
        ("vlm16", "LlavaNextForConditionalGeneration", (5, 3, 28, 28)),
    ],
)
def test_from_pretrained_loads_the_tiny_llava_from_disk(request, fixture, cls, pixels_shape):
    vlm = request.getfixturevalue(fixture)
    assert type(vlm.model).__name__ == cls
    assert isinstance(vlm, Model)
    assert vlm.device.type == "cpu" and vlm.dtype == torch.float32  # "auto" dtype on CPU
    prepared = vlm.prepare(_image(), PROMPT)
    assert tuple(prepared.pixels.shape) == pixels_shape
    assert prepared.inputs["input_ids"].shape[0] == 1
    config = vlm.config_dict()
    assert config["model_class"] == cls and config["decoding"] == TEST_DECODING.to_dict()
    json.dumps(config)


def test_generates_one_text_per_noisy_image(vlm):
    out = sample_predictions(
        vlm, _image(), PROMPT, n=6, sigma=0.5, generator=noise_generator(seed=1), batch_size=4
    )
    assert len(out.predictions) == 6
    assert all(isinstance(t, str) and t for t in out.predictions)
    # The pixels reach the model: six noisy images of a random model do not all agree.
    assert len(set(out.predictions)) > 1
    assert out.noise.sigma == 0.5
    assert out.noise.effective_sigma == vlm.normalization.effective_sigma(0.5)
    json.dumps(out.noise.to_dict())


def test_greedy_batched_generation_equals_one_image_at_a_time(vlm):
    """The key check of the batching: for greedy decoding, the texts of a batch of N noisy
    images are the texts of the N images generated one by one, in the same order."""
    prepared = vlm.prepare(_image(2), PROMPT)
    noisy = add_gaussian_noise(prepared.pixels, num=5, sigma=0.5, generator=noise_generator(seed=2))
    batched = vlm.predict(prepared, noisy)
    single = [vlm.predict(prepared, noisy[i : i + 1])[0] for i in range(5)]
    assert batched == single
    assert len(set(batched)) > 1  # the comparison is not between five copies of one text


def test_greedy_batched_generation_equals_generate_on_the_processor_output(vlm):
    """Independent route: transformers' own pipeline (processor with its normalization, then
    model.generate on one image) gives the same text as VLM.predict at sigma = 0."""
    image = _image(4)
    prepared = vlm.prepare(image, PROMPT)
    ours = vlm.predict(prepared, prepared.pixels[None])[0]
    enc = vlm.processor(
        images=[image], text=[prepared.prompt], return_tensors="pt", do_rescale=False
    )
    gen = transformers.GenerationConfig(
        max_new_tokens=TEST_DECODING.max_new_tokens, do_sample=False, pad_token_id=0, eos_token_id=3
    )
    with torch.inference_mode():
        out = vlm.model.generate(**enc, generation_config=gen)
    theirs = vlm.processor.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert ours == theirs.strip()


def test_greedy_decoding_is_deterministic(vlm):
    run = lambda: (
        sample_predictions(
            vlm, _image(), PROMPT, n=4, sigma=0.25, generator=noise_generator(seed=3), batch_size=2
        ).predictions
    )
    assert run() == run()


def test_sampled_decoding_is_reproducible_from_its_seed(tiny_llava_15_path):
    def texts(seed):
        vlm = VLM.from_pretrained(
            tiny_llava_15_path,
            device="cpu",
            decoding=DecodingConfig(do_sample=True, max_new_tokens=6, seed=seed, temperature=2.0),
        )
        return sample_predictions(
            vlm, _image(), PROMPT, n=4, sigma=0.0, generator=noise_generator(seed=0), batch_size=2
        ).predictions

    before = torch.random.get_rng_state()
    assert texts(1) == texts(1)
    assert texts(1) != texts(2)
    assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is untouched


def test_the_prompt_is_tokenized_once_per_input(vlm, monkeypatch):
    """sample_predictions over 3 batches calls the processor and the tokenizer once each."""
    calls = {"processor": 0, "tokenizer": 0}
    processor_call = type(vlm.processor).__call__
    tokenizer_call = type(vlm.processor.tokenizer).__call__

    def count(name, original):
        def wrapper(self, *args, **kwargs):
            calls[name] += 1
            return original(self, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(type(vlm.processor), "__call__", count("processor", processor_call))
    monkeypatch.setattr(
        type(vlm.processor.tokenizer), "__call__", count("tokenizer", tokenizer_call)
    )
    out = sample_predictions(
        vlm, _image(), PROMPT, n=6, sigma=0.25, generator=noise_generator(seed=0), batch_size=2
    )
    assert len(out.predictions) == 6
    assert calls == {"processor": 1, "tokenizer": 1}


def test_a_formatted_prompt_with_the_image_token_is_used_as_is(vlm15):
    assert vlm15.format_prompt("<image> describe") == "<image> describe"
    assert vlm15.format_prompt(PROMPT) == f"user: <image> {PROMPT}\nassistant:"


def test_auto_class_route_loads_and_generates_the_same(tiny_llava_15_path, vlm15, monkeypatch):
    """With no LLaVA-specific class, AutoModelForImageTextToText loads the same model."""
    monkeypatch.setattr(models_vlm, "_MODEL_CLASSES", {})
    auto = VLM.from_pretrained(tiny_llava_15_path, device="cpu", decoding=TEST_DECODING)
    assert type(auto.model) is type(vlm15.model)
    prepared = vlm15.prepare(_image(), PROMPT)
    assert auto.predict(prepared, prepared.pixels[None]) == vlm15.predict(
        prepared, prepared.pixels[None]
    )


def test_bad_inputs_raise_value_errors_naming_the_argument(vlm15):
    prepared = vlm15.prepare(_image(), PROMPT)
    gen = noise_generator(seed=0)
    with pytest.raises(ValueError, match="image must lie in"):
        vlm15.prepare(_image() + 1.0, PROMPT)
    with pytest.raises(ValueError, match="image must have shape"):
        vlm15.prepare(_image()[None], PROMPT)
    with pytest.raises(ValueError, match="prompt"):
        vlm15.prepare(_image(), "")
    with pytest.raises(ValueError, match="pixels must have shape"):
        vlm15.predict(prepared, prepared.pixels)
    with pytest.raises(ValueError, match="pixels must hold a batch of at least 1"):
        vlm15.predict(prepared, prepared.pixels[None][:0])
    with pytest.raises(ValueError, match="n must be"):
        sample_predictions(vlm15, _image(), PROMPT, n=0, sigma=0.1, generator=gen)
    with pytest.raises(ValueError, match="sigma"):
        sample_predictions(vlm15, _image(), PROMPT, n=2, sigma=-0.1, generator=gen)
    with pytest.raises(ValueError, match="batch_size"):
        sample_predictions(vlm15, _image(), PROMPT, n=2, sigma=0.1, generator=gen, batch_size=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"device": "banana"}, "device"),
        ({"dtype": "int8"}, "dtype"),
        ({"device": "tpu:0"}, "device"),
    ],
)
def test_from_pretrained_refuses_bad_device_and_dtype(tiny_llava_15_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        VLM.from_pretrained(tiny_llava_15_path, **kwargs)


def test_decoding_config_is_frozen_with_a_stable_dict():
    d = DecodingConfig(do_sample=True, temperature=0.7, top_p=0.9, seed=3)
    assert d.to_dict() == {
        "do_sample": True,
        "max_new_tokens": 32,
        "seed": 3,
        "temperature": 0.7,
        "top_k": 0,
        "top_p": 0.9,
    }
    assert list(d.to_dict()) == sorted(d.to_dict())
    assert DecodingConfig(temperature=1).to_dict() == DecodingConfig().to_dict()
    assert hash(d) == hash(DecodingConfig(do_sample=True, temperature=0.7, top_p=0.9, seed=3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.seed = 4  # type: ignore[misc]
    assert "temperature" not in DecodingConfig().generate_kwargs()  # greedy sets no sampling


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"temperature": 0.0}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"seed": -1}, "seed"),
        ({"do_sample": 1}, "do_sample"),
    ],
)
def test_decoding_config_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DecodingConfig(**kwargs)


class _FixedLinear(torch.nn.Module):
    """Logits = W flatten(x): a classifier whose argmax is computed independently below."""

    def __init__(self, weight):
        super().__init__()
        self.weight = torch.nn.Parameter(weight)

    def forward(self, x):
        return x.flatten(1) @ self.weight.T


def test_classifier_returns_the_argmax_of_the_logits():
    weight = torch.randn(7, 3 * 4 * 4, generator=torch.Generator().manual_seed(0))
    norm = PixelNormalization((0.5, 0.4, 0.3), (0.2, 0.25, 0.3))
    clf = ImageClassifier(_FixedLinear(weight), normalization=norm)
    image = torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(1))
    prepared = clf.prepare(image)
    pixels = add_gaussian_noise(
        prepared.pixels, num=64, sigma=0.5, generator=noise_generator(seed=5)
    )
    ids = clf.predict(prepared, pixels)
    mean = torch.tensor(norm.mean).view(3, 1, 1)
    std = torch.tensor(norm.std).view(3, 1, 1)
    by_hand = [int(torch.argmax(weight @ ((p - mean) / std).flatten())) for p in pixels]
    assert ids.dtype == torch.int64 and ids.shape == (64,)
    assert ids.tolist() == by_hand
    assert len(set(by_hand)) > 1


def test_classifier_ties_go_to_the_lower_index_and_outputs_with_logits_work():
    class Tied(torch.nn.Module):
        def forward(self, x):
            return transformers.modeling_outputs.ImageClassifierOutput(
                logits=torch.tensor([[0.0, 2.0, 2.0]]).expand(x.shape[0], 3)
            )

    clf = ImageClassifier(Tied())
    prepared = clf.prepare(torch.zeros(3, 2, 2))
    assert clf.predict(prepared, torch.zeros(4, 3, 2, 2)).tolist() == [1, 1, 1, 1]


def test_classifier_resizes_the_clean_image_once_and_samples_in_batches():
    clf = ImageClassifier(_FixedLinear(torch.randn(3, 3 * 4 * 4)), input_size=(4, 4))
    prepared = clf.prepare(torch.rand(3, 9, 7))
    assert prepared.pixels.shape == (3, 4, 4)
    out = sample_predictions(
        clf, torch.rand(3, 9, 7), n=10, sigma=0.2, generator=noise_generator(seed=0), batch_size=3
    )
    assert out.predictions.shape == (10,) and out.noise.input_shape == (3, 4, 4)
    # n = 10 in batches of 3 draws the same noise as one batch of 10: one stream, in order.
    whole = sample_predictions(
        clf, torch.rand(3, 9, 7), n=10, sigma=0.2, generator=noise_generator(seed=0), batch_size=10
    )
    assert isinstance(whole.noise, NoiseSpec) and whole.noise == out.noise


def test_classifier_refuses_bad_inputs():
    clf = ImageClassifier(_FixedLinear(torch.randn(3, 12)))
    prepared = clf.prepare(torch.rand(3, 2, 2))
    with pytest.raises(ValueError, match="prompt"):
        clf.prepare(torch.rand(3, 2, 2), "a prompt")
    with pytest.raises(ValueError, match="pixels must have shape"):
        clf.predict(prepared, torch.rand(3, 2, 2))
    with pytest.raises(ValueError, match="pixels must have shape"):
        clf.predict(prepared, torch.rand(0, 3, 2, 2))
    with pytest.raises(ValueError, match="module"):
        ImageClassifier(lambda x: x)
    with pytest.raises(ValueError, match="input_size"):
        ImageClassifier(_FixedLinear(torch.randn(3, 12)), input_size=(0, 4))
    with pytest.raises(ValueError, match="logits"):
        ImageClassifier(torch.nn.Identity()).predict(
            Prepared(torch.zeros(3, 2, 2), {}, None), torch.zeros(1, 3, 2, 2)
        )


@pytest.mark.gpu
def test_tiny_llava_on_gpu_runs_in_half_precision_and_matches_singles(tiny_llava_16_path):
    """[GPU] device "auto" picks CUDA and bf16 (fp16 without bf16 support); noise is drawn on
    the GPU; greedy batched generation equals one-by-one generation there too."""
    vlm = VLM.from_pretrained(tiny_llava_16_path, decoding=TEST_DECODING)
    assert vlm.device.type == "cuda" and vlm.dtype in (torch.bfloat16, torch.float16)
    prepared = vlm.prepare(_image(), PROMPT)
    assert prepared.pixels.device.type == "cuda"
    noisy = add_gaussian_noise(
        prepared.pixels, num=4, sigma=0.5, generator=noise_generator(seed=0, device="cuda")
    )
    batched = vlm.predict(prepared, noisy)
    assert batched == [vlm.predict(prepared, noisy[i : i + 1])[0] for i in range(4)]


def test_resolve_dtype_takes_the_0_1_positional_device_with_a_warning():
    cpu = torch.device("cpu")
    with pytest.warns(DeprecationWarning, match=r"pass device as a keyword, device=\.\.\."):
        old = models_vlm.resolve_dtype("auto", cpu)
    assert old == models_vlm.resolve_dtype("auto", device=cpu) == torch.float32


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_prepare_takes_an_image_of_whole_numbers(vlm, value):
    # A PIL-backed image processor returns uint8 pixel values for an image whose values are
    # all whole numbers (all black, all white); prepare casts them before clamping.
    prepared = vlm.prepare(torch.full((3, 20, 20), value), "What is shown?")
    assert prepared.pixels.dtype == torch.float32
    assert torch.equal(prepared.pixels, torch.full_like(prepared.pixels, value))


def test_sampled_rows_do_not_depend_on_batch_mates_or_on_a_split(tiny_llava_15_path):
    sampled = VLM.from_pretrained(
        tiny_llava_15_path,
        device="cpu",
        decoding=DecodingConfig(do_sample=True, max_new_tokens=6, temperature=2.0, top_p=0.95),
    )
    a, b = sampled.prepare(_image(0), PROMPT), sampled.prepare(_image(1), PROMPT)
    gen = noise_generator(seed=0)
    xa = add_gaussian_noise(a.pixels, num=5, sigma=0.25, generator=gen)
    xb = add_gaussian_noise(b.pixels, num=3, sigma=0.25, generator=gen)
    whole_a, whole_b = sampled.predict(a, xa, seed=11), sampled.predict(b, xb, seed=12)
    # Copies 0-1 of a with b's three, then copies 2-4 of a: the rows of the whole batches.
    first = sampled.predict_many([a, b], [xa[:2], xb], seeds=[11, 12], offsets=[0, 0])
    second = sampled.predict_many([a], [xa[2:]], seeds=[11], offsets=[2])
    assert first[0] + second[0] == whole_a and first[1] == whole_b
    assert len(set(whole_a)) > 1  # sampling varies the copies
    assert sampled.predict(a, xa, seed=13) != whole_a  # the seed matters
    assert sampled.config_dict()["sampling"] == "per-copy-inverse-cdf-v1"
    assert "sampling" not in sampled.with_decoding(TEST_DECODING).config_dict()


def test_greedy_predict_many_gives_each_part_its_own_texts(vlm):
    a, b = vlm.prepare(_image(0), PROMPT), vlm.prepare(_image(1), PROMPT)
    gen = noise_generator(seed=0)
    xa = add_gaussian_noise(a.pixels, num=3, sigma=0.25, generator=gen)
    xb = add_gaussian_noise(b.pixels, num=2, sigma=0.25, generator=gen)
    assert vlm.predict_many([a, b], [xa, xb]) == [vlm.predict(a, xa), vlm.predict(b, xb)]
    other = vlm.prepare(_image(0), "what is this?")
    with pytest.raises(ValueError, match="prepared_list"):
        vlm.predict_many([a, other], [xa, xa])
    assert vlm.pack_key(a) == vlm.pack_key(b) != vlm.pack_key(other)


def test_inverse_cdf_sampler_draws_from_the_processed_distribution():
    from sampler.models import InverseCdfSampler, copy_uniforms

    probs = torch.tensor([0.1, 0.0, 0.2, 0.7])
    rows = 20000
    u = torch.from_numpy(copy_uniforms([5], [0], [rows], steps=1))
    scores = probs.log().expand(rows, -1)
    tokens = InverseCdfSampler(u, prompt_length=3)(torch.zeros(rows, 3), scores).argmax(-1)
    freq = torch.bincount(tokens, minlength=4).double() / rows
    assert freq[1] == 0  # a token of probability 0 is never drawn
    # Binomial standard error at most 0.0033: 5 of them.
    assert torch.allclose(freq, probs.double(), atol=0.017)
