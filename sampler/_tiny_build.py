"""What every tiny builder shares: the output folder, the seeded initialisation (the
caller's RNG untouched), the safetensors-only save and the tiny Llama configuration."""

from __future__ import annotations

import pathlib

import torch


def _prepare_dir(path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _seeded_init(seed: int, make):
    """``make()`` under a forked, seeded torch RNG (the caller's RNG state is untouched)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def _save(model, tokenizer_or_processor, path: pathlib.Path) -> pathlib.Path:
    model.save_pretrained(path)
    tokenizer_or_processor.save_pretrained(path)
    stray = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
    if stray:  # safetensors only: a pickle file must never be written
        raise RuntimeError(f"unexpected pickle weight files written: {stray}")
    return path


def _tiny_llama_config(vocab_size: int, tok, *, hidden: int = 32, layers: int = 2):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=False,
    )
