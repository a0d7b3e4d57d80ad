"""The row of one input of a PREDICT campaign (``CertifyConfig(mode="predict")``,
``collect --mode predict``): :func:`predict_row`.

Cohen, Rosenfeld & Kolter (2019), Sec. 3.2, PREDICT, run by :func:`sampler.predict.predict`
on each input of a dataset, with the input's own seed ``derive_seed(seed, "input", id)``
(:func:`sampler.certify.derive_seed`), as a certify campaign seeds its inputs: a row is
therefore the result of calling ``predict`` on that input with that seed, whatever the
order, the backend (local or Ray) or the packing (``in_flight``) of the campaign.

**Fields of a predict row.** ``id``, ``config_hash``, ``seed``, ``status``, ``error``,
``prompt``, ``image`` and ``input_sha256`` as in a certify row (:mod:`sampler._campaign`);
``mode`` (``"predict"``); the fields of :meth:`sampler.predict.PredictResult.summary`
(:data:`sampler.predict.PREDICT_SUMMARY_KEYS`): ``top_class``, ``abstain``, ``p_value``,
``counts``, ``runner_up``, ``n_a``, ``n_b``, ``n``, ``alpha``, ``num_classes``,
``class_names`` and, for a VLM, ``answer`` (the first copy in draw order labelled with the
returned class; None on abstain); ``k`` (``= n_a``, the votes of ``top_class`` among the
``n`` copies, so that every ok row holds the counts ``(k, n)`` of the row schema,
:func:`rstheory.rows.check_row`); ``labels`` (the class of each copy, in draw order);
``texts`` (``{"predict": [...]}`` with ``keep_texts``, else None); ``noise``, ``config``,
``versions`` and ``timings`` (seconds of image loading, of the ``predict`` call and of the
whole input). An error row has the same keys with None for the results.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sampler._campaign import run_input
from sampler._datasets import Input
from sampler._draws import derive_seed
from sampler._predict import PREDICT_SUMMARY_KEYS, predict

__all__ = ["PREDICT_ROW_KEYS", "predict_row"]

#: The keys of a predict row, in order.
PREDICT_ROW_KEYS = (
    "id",
    "config_hash",
    "seed",
    "status",
    "error",
    "prompt",
    "image",
    "input_sha256",
    "mode",
    *PREDICT_SUMMARY_KEYS,
    "k",
    "labels",
    "texts",
    "noise",
    "config",
    "versions",
    "timings",
)


def predict_row(model, inp: Input, job) -> dict[str, Any]:
    """PREDICT one input and build its row (status ``"ok"``, or ``"error"`` on any exception).

    ``job`` is the campaign's :class:`sampler._campaign.Job` (its configuration has
    ``mode == "predict"``); :func:`sampler._campaign.certify_row`, the per-input code of
    every backend, calls this for such a job. ``timings["finished_at"]`` is set by the
    campaign's writer, when the row is written.
    """
    input_seed = derive_seed(job.certify_config.seed, "input", inp.id)
    row: dict[str, Any] = dict.fromkeys(PREDICT_ROW_KEYS)
    row.update(
        id=inp.id,
        config_hash=job.chash,
        seed=input_seed,
        prompt=inp.prompt,
        image=os.fspath(inp.image),
        mode="predict",
        n=job.certify_config.n,
        alpha=job.certify_config.alpha,
        config=job.config,
        versions=job.versions,
    )
    attempt = run_input(predict, model, inp, job, row, seed=input_seed)
    if attempt is None:
        return row
    res, t0, t_load = attempt
    row.update(res.summary())
    row.update(
        status="ok",
        k=res.n_a,
        labels=res.labels.tolist(),
        texts=None if res.texts is None else {"predict": list(res.texts)},
        noise=res.noise.to_dict(),
        timings={"load_image": t_load, "predict": res.seconds, "total": time.perf_counter() - t0},
    )
    return row
