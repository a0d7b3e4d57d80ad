"""Tokens generated and samples per second of VLM decoding with and without early stop.

    OMP_NUM_THREADS=1 python bench/bench_early_stop.py          # tiny LLaVA 1.5 on CPU
    python bench/bench_early_stop.py --batch-sizes 8 --max-new-tokens 16 --repeat 1  # quick
    python bench/bench_early_stop.py --device cuda               # needs a GPU machine

The model is the tiny random LLaVA of :func:`sampler.tiny.build_tiny_llava`, loaded with
:meth:`sampler.models.VLM.from_pretrained`; decoding is greedy and ``model.generate`` is
called as ``VLM.predict`` calls it, once without and once with
:class:`sampler._early_stop.OracleStop` in ``stopping_criteria``.

The oracle decides early on a known fraction of the rows. A pool of random images is
decoded once; a word ``w`` is picked that some images' answers start with (set ``A``) and
others' never hold (set ``B``); the oracle is ``RefusalJudge([w])`` (``w`` as a substring).
A batch of ``B`` rows takes ``round(f * B)`` images from ``A`` (decided at their first
token) and the rest from ``B`` (never decided: compliance is never final), for each
``--fractions`` value ``f``. The rows are clean images, so their answers are known.

Columns: tokens the rows generated (until their EOS or ``max_new_tokens``) without and with
early stop, and their ratio; decoding steps of the batch; samples/s, best of ``--repeat``
timed runs after an untimed warm-up, runs alternating between the ways (plain ``generate``;
with the criterion watching only, ``stop=False``: its own cost; with early stop); "labels equal":
the oracle's labels of both runs agree (else the exit status is 1). A batch's steps, and
so its time, drop only when all its rows decide early (no slot refill inside ``generate``).

The last columns take the public path on the same batches: ``VLM.predict`` of the VLM
decoding with ``DecodingConfig(max_new_tokens=m)`` against the copy decoding with
``DecodingConfig(max_new_tokens=m, early_stop=True)`` bound by ``VLM.with_oracle(oracle)``
(what :func:`sampler.certify.certify` runs): the tokens the bound copy generated
(``early_stop_counts.generated``, equal to ``tok_stop``), samples/s of both (best of
``--repeat``, alternating) and their ratio; their labels must agree too.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time

import torch
import transformers
from transformers import StoppingCriteriaList

from sampler._early_stop import OracleStop
from sampler.models import VLM, DecodingConfig
from sampler.noise import resolve_device
from sampler.oracles import RefusalJudge
from sampler.tiny import build_tiny_llava


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _generate(vlm, inputs, max_new_tokens, criteria=()):
    config = vlm.with_decoding(DecodingConfig(max_new_tokens=max_new_tokens))._generation_config
    with torch.inference_mode():
        return vlm.model.generate(
            **inputs, generation_config=config, stopping_criteria=StoppingCriteriaList(criteria)
        )


def _texts(vlm, out, n):
    return [t.strip() for t in vlm.processor.batch_decode(out[:, n:], skip_special_tokens=True)]


def pick_word(texts):
    """``(w, A, B)``: indices of texts starting with ``w``, and of texts without it."""
    best = None
    for w in sorted({t.split()[0] for t in texts if t}):
        a = [i for i, t in enumerate(texts) if t.split()[:1] == [w]]
        b = [i for i, t in enumerate(texts) if w not in t]
        if best is None or min(len(a), len(b)) > min(len(best[1]), len(best[2])):
            best = (w, a, b)
    if best is None or not best[1] or not best[2]:
        raise SystemExit("no word splits the pool of answers; try another --seed or --pool")
    return best


def _through_with_oracle(vlm, preps, idx, oracle, m, *, repeat, device):
    """``VLM.predict`` of rows ``idx`` without and with early stop through
    ``VLM.with_oracle``: (tokens generated with it, best seconds per way, labels equal)."""
    full_vlm = vlm.with_decoding(DecodingConfig(max_new_tokens=m))
    stop_vlm = vlm.with_decoding(DecodingConfig(max_new_tokens=m, early_stop=True))
    pixels = torch.stack([preps[i].pixels for i in idx])
    best = dict.fromkeys(("full", "stop"), float("inf"))
    for r in range(repeat + 1):
        for way in best:
            model = full_vlm if way == "full" else stop_vlm.with_oracle(oracle)
            _sync(device)
            t0 = time.perf_counter()
            texts = model.predict(preps[0], pixels)
            _sync(device)
            if r:
                best[way] = min(best[way], time.perf_counter() - t0)
            if way == "full":
                full_texts = texts
            else:
                stop_texts, tokens = texts, model.early_stop_counts.generated
    equal = oracle(full_texts).tolist() == oracle(stop_texts).tolist()
    return tokens, best, equal


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", choices=["1.5", "1.6"], default="1.5")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--max-new-tokens", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--pool", type=int, default=32, help="random images to choose from")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if any(not 0 <= f <= 1 for f in args.fractions):
        parser.error("--fractions must lie in [0, 1]")
    if min(args.batch_sizes + args.max_new_tokens + [args.pool, args.repeat]) < 1:
        parser.error("--batch-sizes, --max-new-tokens, --pool and --repeat must be >= 1")
    device = resolve_device(args.device)
    path = build_tiny_llava(tempfile.mkdtemp(), version=args.version, seed=0)
    vlm = VLM.from_pretrained(path, device=device, decoding=DecodingConfig())
    g = torch.Generator().manual_seed(args.seed)
    preps = [
        vlm.prepare(torch.rand(3, 32, 32, generator=g), "what is this?") for _ in range(args.pool)
    ]
    n = preps[0].inputs["input_ids"].shape[1]

    def batch_inputs(idx):
        inputs = {
            k: v.expand(len(idx), *v.shape[1:]).contiguous() for k, v in preps[0].inputs.items()
        }
        pixels = torch.stack([preps[i].pixels for i in idx])
        inputs["pixel_values"] = vlm.normalization(pixels, dtype=vlm.dtype)
        return inputs

    pool = _texts(vlm, _generate(vlm, batch_inputs(range(args.pool)), max(args.max_new_tokens)), n)
    word, a, b = pick_word(pool)
    oracle = RefusalJudge([word])
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{platform.processor() or platform.machine()}, device {device}, "
        f"threads {torch.get_num_threads()}; LLaVA {args.version}, greedy"
    )
    print(
        f"oracle RefusalJudge([{word!r}]): {len(a)} of {args.pool} pool answers start with it, "
        f"{len(b)} never hold it\n"
    )
    head = (
        "batch",
        "max_new",
        "frac",
        "tok_full",
        "tok_stop",
        "tok_ratio",
        "steps_full",
        "steps_stop",
        "sps_full",
        "sps_watch",
        "sps_stop",
        "speedup",
        "labels_equal",
        "tok_vlm",
        "sps_vlm_full",
        "sps_vlm_stop",
        "vlm_speedup",
    )
    print(" ".join(f"{h:>12}" for h in head))
    ok = True
    for bs in args.batch_sizes:
        for m in args.max_new_tokens:
            for f in args.fractions:
                k = round(f * bs)
                idx = [a[i % len(a)] for i in range(k)] + [b[i % len(b)] for i in range(bs - k)]
                inputs = batch_inputs(idx)
                best = dict.fromkeys(("full", "watch", "stop"), float("inf"))
                for r in range(args.repeat + 1):
                    for way in best:
                        crit = OracleStop(
                            vlm.processor, oracle, prompt_length=n, stop=way == "stop"
                        )
                        _sync(device)
                        t0 = time.perf_counter()
                        out = _generate(vlm, inputs, m, [] if way == "full" else [crit])
                        _sync(device)
                        if r:
                            best[way] = min(best[way], time.perf_counter() - t0)
                        if way == "full":
                            full = out
                        elif way == "watch":
                            watch = crit
                        else:
                            stopped, stop = out, crit
                equal = (
                    oracle(_texts(vlm, full, n)).tolist()
                    == oracle(_texts(vlm, stopped, n)).tolist()
                )
                vlm_tokens, vlm_best, vlm_equal = _through_with_oracle(
                    vlm, preps, idx, oracle, m, repeat=args.repeat, device=device
                )
                equal &= vlm_equal
                ok &= equal
                tf, ts = watch.counts.generated, stop.counts.generated
                assert ts == watch.counts.to_decision
                sf, sw, ss = (bs / best[w] for w in ("full", "watch", "stop"))
                row = (
                    bs,
                    m,
                    f"{f:.2f}",
                    tf,
                    ts,
                    f"{ts / tf:.3f}",
                    full.shape[1] - n,
                    stopped.shape[1] - n,
                    f"{sf:.1f}",
                    f"{sw:.1f}",
                    f"{ss:.1f}",
                    f"{ss / sf:.2f}",
                    equal,
                    vlm_tokens,
                    f"{bs / vlm_best['full']:.1f}",
                    f"{bs / vlm_best['stop']:.1f}",
                    f"{vlm_best['full'] / vlm_best['stop']:.2f}",
                )
                print(" ".join(f"{v!s:>12}" for v in row), flush=True)
    print(
        "\ntok_ratio = tok_stop / tok_full; speedup = sps_stop / sps_full (same run); "
        "sps_watch: OracleStop(stop=False), which decodes every step but stops no row "
        "(the criterion's own cost); tok_vlm, sps_vlm_*: VLM.predict without and with "
        "DecodingConfig(early_stop=True) bound by VLM.with_oracle, vlm_speedup their ratio."
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
