"""The workers of a Ray campaign (:func:`sampler.run.run_ray`) and the driver's side of
them: the actor (:class:`Certifier`: loads the model once, builds each input's row with the
local backend's own per-input code), starting the actors, agreeing on the configuration
hash, and streaming the inputs to them (:func:`stream`: backpressure, packed tasks, the
inputs of a dead actor sent to the live ones). :mod:`sampler._ray_backend` says how they
fit together."""

from __future__ import annotations

import collections
import os
from typing import Any

import torch

from sampler._campaign import Writer, certify_row, make_job
from sampler._datasets import Input

__all__ = ["Certifier", "agreed_hash", "start_actors", "stream"]


class Certifier:
    """One worker: loads the model on first use (again after a restart), certifies inputs."""

    def __init__(self, load, job_args: dict[str, Any]):
        self._load, self._job_args = load, job_args
        self._model = self._job = None

    def _ready(self):
        if self._model is None:
            import ray

            if not ray.get_gpu_ids():
                torch.set_num_threads(1)
            model, oracle = self._load()
            self._job = make_job(model, oracle=oracle, **self._job_args)
            self._model = model
        return self._job

    def config_hash(self) -> str:
        """Load the model (if not yet) and return the campaign's configuration hash."""
        return self._ready().chash

    def pid(self) -> int:
        """The worker's process id."""
        return os.getpid()

    def _checked(self, chash: str):
        job = self._ready()
        if job.chash != chash:
            raise RuntimeError(
                f"worker pid {os.getpid()} computes configuration hash "
                f"{job.chash[:12]}..., the campaign's is {chash[:12]}..."
            )
        return job

    def certify(self, inp: Input, chash: str) -> dict[str, Any]:
        """The row of ``inp`` (:func:`sampler._campaign.certify_row`), under hash ``chash``."""
        job = self._checked(chash)  # loads the model first
        return certify_row(self._model, inp, job)

    def certify_packed(self, inputs: list[Input], chash: str):
        """The rows of ``inputs``, certified at once with their copies packed
        (:func:`sampler._packing.certify_packed`), and the :class:`PackingStats`."""
        from sampler._packing import certify_packed

        job, rows = self._checked(chash), []
        stats = certify_packed(self._model, inputs, job, write=rows.append, in_flight=len(inputs))
        return rows, stats


def start_actors(ray, load, job_args, workers, resources, max_restarts) -> list:
    actor_cls = ray.remote(Certifier).options(
        max_restarts=max_restarts, max_task_retries=max_restarts, **resources
    )
    return [actor_cls.remote(load, job_args) for _ in range(workers)]


def agreed_hash(ray, actors) -> str:
    """Every actor's configuration hash (loading the models); they must agree."""
    hashes = ray.get([a.config_hash.remote() for a in actors])
    if len(set(hashes)) != 1:
        raise RuntimeError(
            f"the workers compute different configuration hashes {hashes} "
            "(different device types?): give all workers the same kind of device"
        )
    return hashes[0]


def stream(
    ray, actors, todo, chash, writer: Writer, max_in_flight: int, in_flight: int = 1
) -> None:
    """Submit ``todo`` to ``actors`` (``max_in_flight`` tasks each, of ``in_flight`` inputs)
    and write each row as it comes; packing stats summed on ``writer.packing``.

    The inputs of a task whose actor died for good (no restarts left) go back to the queue
    for the live actors; with none left, RuntimeError.
    """
    queue = collections.deque(todo)
    pending: dict[Any, tuple[int, list[Input]]] = {}
    queued = [0] * len(actors)
    alive = set(range(len(actors)))

    def fill(i: int) -> None:
        while i in alive and queue and queued[i] < max_in_flight:
            task = [queue.popleft() for _ in range(min(in_flight, len(queue)))]
            if in_flight == 1:
                ref = actors[i].certify.remote(task[0], chash)
            else:
                ref = actors[i].certify_packed.remote(task, chash)
            pending[ref] = (i, task)
            queued[i] += 1

    for i in range(len(actors)):
        fill(i)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        i, task = pending.pop(ready[0])
        queued[i] -= 1
        try:
            out = ray.get(ready[0])
        except ray.exceptions.RayActorError:
            alive.discard(i)
            queue.extendleft(reversed(task))
            if not alive:
                raise RuntimeError(
                    f"every worker died (last while certifying {task[0].id!r}); "
                    "the rows written so far are kept"
                ) from None
            for j in alive:
                fill(j)
            continue
        rows = [out] if in_flight == 1 else out[0]
        if in_flight > 1:
            writer.packing.add(out[1])
        for row in rows:
            writer.write(row)
        fill(i)
