"""Tests of VLM loading with ``device_map`` (accelerate's placement): on CPU the texts equal
those of the default load (host, then one move); the argument's refusals; the module split
keeps every import of the VLM module; and, on a machine with 2+ GPUs only, a model sharded
over two GPUs gives the texts of the same model on one."""

import pytest
import torch

from sampler._models_vlm_load import _map_device, input_device
from sampler._validation import check_device_map
from sampler.models import VLM, DecodingConfig

DECODING = DecodingConfig(max_new_tokens=8)
PROMPT = "what is in the picture?"


def _texts(vlm, seed=0):
    g = torch.Generator().manual_seed(seed)
    prep = vlm.prepare(torch.rand(3, 40, 50, generator=g), PROMPT)
    pixels = prep.pixels + 0.4 * torch.randn(6, *prep.pixels.shape, generator=g)
    return vlm.predict(prep, pixels.to(vlm.device))


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_device_map_loads_give_the_default_texts(request, version):
    path = request.getfixturevalue(f"tiny_llava_{version[0]}{version[2]}_path")
    default = VLM.from_pretrained(path, device="cpu", decoding=DECODING)
    want = _texts(default)
    assert len(set(want)) > 1  # the noise reaches the model: the comparison can fail
    for device_map in ("auto", {"": "cpu"}):
        vlm = VLM.from_pretrained(path, decoding=DECODING, device_map=device_map)
        assert vlm.device == torch.device("cpu") and vlm.dtype == torch.float32
        assert _texts(vlm) == want, device_map
        # The placement is not recorded: it does not change the texts.
        assert vlm.config_dict() == default.config_dict()
        assert vlm.identity == default.identity


def test_device_map_refusals(tiny_llava_15_path):
    for bad in ("cuda:0", "everywhere", {}, {"": -1}, {"": True}, {0: "cpu"}, 3, ["cpu"]):
        with pytest.raises(ValueError, match="device_map"):
            check_device_map(bad)
    with pytest.raises(ValueError, match="device_map"):
        check_device_map({"": "nowhere"})
    with pytest.raises(ValueError, match="device must be 'auto' when device_map is given"):
        VLM.from_pretrained(tiny_llava_15_path, device="cpu", device_map="auto")
    assert check_device_map({"a": 0, "b": "disk", "c": torch.device("cpu")})


def test_dtype_device_of_a_map():
    assert _map_device({"a": "cpu", "b": 1}).type == "cuda"
    assert _map_device({"a": "cpu", "b": "disk"}).type == "cpu"
    assert _map_device({"": "cuda:1"}).type == "cuda"
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert _map_device("balanced").type == want


def test_input_device_is_the_embedding_device(vlm15):
    emb = vlm15.model.get_input_embeddings().weight
    assert input_device(vlm15.model) == emb.device == vlm15.device
    assert input_device(torch.nn.Linear(2, 2)) == torch.device("cpu")


def test_the_imports_of_the_split_module_keep_working():
    import sampler._models_vlm as m
    from sampler import models

    assert m.VLM is models.VLM and m.resolve_dtype is models.resolve_dtype
    assert m._MODEL_CLASSES["llava"] == "LlavaForConditionalGeneration"
    assert m._DTYPES["bfloat16"] is torch.bfloat16
    assert callable(m._same_prompt)
    assert models.OracleStop.__name__ == "OracleStop" and "OracleStop" in models.__all__


@pytest.mark.gpu
@pytest.mark.skipif(
    torch.cuda.device_count() < 2,
    reason="needs 2+ CUDA devices: the texts of a model sharded over two GPUs (accelerate "
    "hooks moving activations between them) against the same model on one GPU",
)
def test_a_model_sharded_over_two_gpus_gives_the_texts_of_one(tiny_llava_16_path):
    one = VLM.from_pretrained(
        tiny_llava_16_path, device="cuda:0", dtype="float32", decoding=DECODING
    )
    parts = [f"model.{name}" for name, _ in one.model.model.named_children()]
    device_map = {name: i % 2 for i, name in enumerate(parts)} | {"lm_head": 1}
    sharded = VLM.from_pretrained(
        tiny_llava_16_path, dtype="float32", decoding=DECODING, device_map=device_map
    )
    assert len(set(sharded.device_map.values())) == 2
    assert sharded.device == sharded.model.get_input_embeddings().weight.device
    assert _texts(sharded) == _texts(one)
