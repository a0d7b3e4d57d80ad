"""Tiny models built once per test run (offline, random weights) into temporary directories,
and VLMs loaded from them with ``from_pretrained``; shared by the tests of ``sampler``."""

import pytest

from sampler.models import VLM, DecodingConfig
from sampler.tiny import (
    build_tiny_causal_lm,
    build_tiny_llava,
    build_tiny_nli,
    build_tiny_text_encoder,
)

# Short answers keep generation fast; 6 tokens are enough for distinct texts per input.
TEST_DECODING = DecodingConfig(max_new_tokens=6)


@pytest.fixture(scope="session")
def tiny_llava_15_path(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("llava15"), version="1.5", seed=0)


@pytest.fixture(scope="session")
def tiny_llava_16_path(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("llava16"), version="1.6", seed=0)


@pytest.fixture(scope="session")
def tiny_causal_lm_path(tmp_path_factory):
    return build_tiny_causal_lm(tmp_path_factory.mktemp("causal_lm"), seed=0)


@pytest.fixture(scope="session")
def tiny_text_encoder_path(tmp_path_factory):
    return build_tiny_text_encoder(tmp_path_factory.mktemp("text_encoder"), seed=0)


@pytest.fixture(scope="session")
def tiny_nli_path(tmp_path_factory):
    return build_tiny_nli(tmp_path_factory.mktemp("nli"), seed=0)


@pytest.fixture(scope="session")
def vlm15(tiny_llava_15_path):
    return VLM.from_pretrained(tiny_llava_15_path, device="cpu", decoding=TEST_DECODING)


@pytest.fixture(scope="session")
def vlm16(tiny_llava_16_path):
    return VLM.from_pretrained(tiny_llava_16_path, device="cpu", decoding=TEST_DECODING)


@pytest.fixture(params=["1.5", "1.6"])
def vlm(request, vlm15, vlm16):
    """Each test that takes ``vlm`` runs on LLaVA 1.5 and on LLaVA 1.6."""
    return {"1.5": vlm15, "1.6": vlm16}[request.param]
