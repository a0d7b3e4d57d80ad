"""What the ``sampler`` extra installs, and the error that says so when it is missing.

``pip install rsvlm`` installs the theory (:mod:`rstheory`, :mod:`proofs_check`) only;
:mod:`sampler` also needs torch, transformers and the rest of the ``sampler`` extra
(``pip install 'rsvlm[sampler]'``; install your CUDA build of torch first, the extra only
asks for ``torch>=2.13`` and leaves a newer one alone).
"""

from __future__ import annotations

__all__ = ["SAMPLER_EXTRA", "extra_hint"]

#: Top-level modules of the ``sampler`` extra (import names, not distribution names).
SAMPLER_EXTRA = frozenset(
    {"torch", "transformers", "tokenizers", "safetensors", "PIL", "tqdm", "accelerate"}
)


def extra_hint(err: ModuleNotFoundError, *, what: str) -> ModuleNotFoundError | None:
    """A ``ModuleNotFoundError`` naming the extra to install, when ``err`` is a missing
    module of the ``sampler`` extra; None for any other missing module (a real bug).

    Example:
      >>> err = ModuleNotFoundError("No module named 'torch'", name="torch")
      >>> print(extra_hint(err, what="sampler.VLM"))  # doctest: +ELLIPSIS
      sampler.VLM needs torch, which the 'sampler' extra installs: pip install 'rsvlm[sampler]' ...
    """
    top = (err.name or "").partition(".")[0]
    if top not in SAMPLER_EXTRA:
        return None
    return ModuleNotFoundError(
        f"{what} needs {top}, which the 'sampler' extra installs: pip install "
        "'rsvlm[sampler]' (install your own CUDA build of torch first; the extra leaves it "
        "as it is)",
        name=err.name,
    )
