"""Campaigns on Ray: :func:`run_ray`, the scale-out of :func:`sampler.run.run`.

The inputs are spread over Ray actors, one per GPU when the cluster has GPUs, else one per
CPU (``workers`` of them). Each actor loads the model once, through a picklable ``load``
callable (the model itself never travels), and certifies inputs with the local backend's
own per-input code (:func:`sampler._campaign.certify_row`: the same seed
``derive_seed(seed, "input", id)``, the same row). Each finished row goes back to the
driver, which runs the one campaign loop (:func:`sampler._campaign.run_campaign`): it is
the only writer of the JSONL file and writes, flushes and fsyncs each row as it arrives.
Rows and the configuration hash are therefore those of :func:`sampler.run.run` (the
backend is not hashed): a campaign started with one backend can be finished with the
other. Rows are written in completion order, not dataset order.

**Resume and idempotence** work by ``(input id, configuration hash)`` as for the local
backend (the same resume code): inputs with a row are skipped, a cut last line is
repaired. **Failures.** A worker process that dies (a crash, an out-of-memory kill) is
restarted by Ray (``max_restarts``) and its in-flight inputs are run again
(``max_task_retries``); when an actor has no restarts left its inputs go to the other
actors. A row that arrives twice is written once, so no row is lost or duplicated.
**Backpressure**: at most ``max_in_flight`` tasks are queued on an actor at a time.
A ``KeyboardInterrupt`` keeps the rows written so far and is raised again.

**Packing** (``in_flight > 1``, ``collect --in-flight``). Each task then carries
``in_flight`` inputs, and the actor certifies them at once with their noisy copies packed
into shared model calls (:func:`sampler._packing.certify_packed`, as the local backend
does): the same rows, fuller calls. A task's rows come back together when its last input
is done (a worker that dies runs the whole task again), and the calls at the end of a task
run part-empty until the actor's next task starts, so the batch fill is somewhat lower than
the local backend's at the same ``in_flight``; the workers' packing stats are summed in
the summary's ``packing``. With ``in_flight = 1`` a task is one input, as before.

Ray is imported only when :func:`run_ray` runs (``pip install .[ray]``).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import warnings
from collections.abc import Callable
from typing import Any

import torch

from rstheory._deprecation import keyword_only
from sampler._campaign import (
    CampaignOptions,
    RunSummary,
    Writer,
    certify_row,
    make_job,
    run_campaign,
)
from sampler._config import CertifyConfig, config_from_keywords
from sampler._datasets import Input
from sampler._models import DecodingConfig
from sampler._validation import check_ray_args, resolve_device

__all__ = ["VLMLoader", "run_ray", "start_local_cluster"]


@dataclasses.dataclass(frozen=True)
class VLMLoader:
    """A picklable recipe that loads a VLM and its oracle inside a worker: ``load()``.

    Attributes:
      path: model directory or hub id, for :meth:`sampler.models.VLM.from_pretrained`.
      device: ``"auto"`` (the worker's GPU when Ray gave it one, else the CPU), ``"cpu"``,
        ``"cuda"``...
      dtype: as in ``from_pretrained``.
      decoding: the :class:`sampler.models.DecodingConfig` (None: its defaults).
      device_map: as in ``from_pretrained`` (a placement of the modules), or None.
      oracle: an oracle object, sent to each worker as is (a small, picklable one such as
        :class:`sampler.oracles.RefusalJudge`); or None.
      make_oracle: instead of ``oracle``, a picklable callable ``make_oracle(device)``
        building the oracle in the worker (an oracle with a model of its own).

    Returns (when called):
      ``(model, oracle)``.

    Example:
      >>> from sampler.run import VLMLoader
      >>> from sampler.oracles import RefusalJudge
      >>> load = VLMLoader("path/to/llava", device="cpu", oracle=RefusalJudge())
      >>> load.device, type(load.oracle).__name__
      ('cpu', 'RefusalJudge')
    """

    path: str | os.PathLike
    device: str = "auto"
    dtype: str = "auto"
    decoding: DecodingConfig | None = None
    device_map: str | dict | None = None
    oracle: Any = None
    make_oracle: Callable[[torch.device], Any] | None = None

    def __post_init__(self):
        if self.oracle is not None and self.make_oracle is not None:
            raise ValueError("give at most one of oracle and make_oracle")

    def __call__(self):
        from sampler._models_vlm import VLM

        device = resolve_device(self.device)
        model = VLM.from_pretrained(
            self.path,
            device=device,
            dtype=self.dtype,
            decoding=self.decoding,
            device_map=self.device_map,
        )
        oracle = self.make_oracle(device) if self.make_oracle is not None else self.oracle
        return model, oracle


# ---------------------------------------------------------------------------------------
# The actor.


class _Certifier:
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


# ---------------------------------------------------------------------------------------
# Driver helpers.


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "the Ray backend needs ray, which is not installed: pip install .[ray] (or pip "
            "install 'ray>=2.9')"
        ) from err
    return ray


_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@keyword_only("num_cpus")
def start_local_cluster(*, num_cpus: int | None = None, **init_kwargs) -> None:
    """Start a Ray cluster on this machine that listens on the loopback interface only.

    ``ray.init(num_cpus=num_cpus, include_dashboard=False, **init_kwargs)`` with Ray's
    node address set to ``127.0.0.1`` (by default Ray binds its services to the machine's
    network address, reachable from other hosts). A cluster over several machines is
    started with ``ray start`` and joined with ``address=`` instead.

    Example (not run here: it starts processes)::

        from sampler.run import start_local_cluster
        start_local_cluster(num_cpus=2)
    """
    ray = _import_ray()
    from ray._private import ray_constants

    saved_env, saved_flag = os.environ.get(_LOOPBACK_ENV), ray_constants.ENABLE_RAY_CLUSTER
    # Ray's node address is the loopback address when "clusters" are disabled (its default
    # on macOS and Windows); the helper processes inherit the variable.
    os.environ[_LOOPBACK_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        with warnings.catch_warnings():
            # JAX (imported here by rstheory) warns at every os.fork; Ray's start-up forks
            # helper processes that exec at once, which is safe.
            warnings.filterwarnings(
                "ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning
            )
            ray.init(num_cpus=num_cpus, include_dashboard=False, **init_kwargs)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(_LOOPBACK_ENV, None)
        else:
            os.environ[_LOOPBACK_ENV] = saved_env


def _connect(ray, address: str | None, workers: int | None) -> bool:
    """Connect to Ray; True when this call started the (local) cluster and must shut it down.

    An already initialised Ray is used as is; ``address`` connects to a running cluster;
    else a local one (loopback only) is started with ``num_cpus = workers``.
    """
    if ray.is_initialized():
        return False
    if address is not None:
        ray.init(address=address)
    else:
        start_local_cluster(num_cpus=workers)
    return True


def _actor_resources(ray, workers: int | None) -> tuple[int, dict[str, float]]:
    """How many actors, and each one's resources: one GPU each if any, else one CPU each."""
    cluster = ray.cluster_resources()
    gpus, cpus = int(cluster.get("GPU", 0)), int(cluster.get("CPU", 0))
    kind, have, resources = (
        ("GPU", gpus, {"num_cpus": 1, "num_gpus": 1}) if gpus else ("CPU", cpus, {"num_cpus": 1})
    )
    workers = have if workers is None else workers
    if not 1 <= workers <= have:
        raise ValueError(
            f"workers must be in [1, {have}] (the Ray cluster has {have} {kind}s), got {workers}"
        )
    return workers, resources


def _start_actors(ray, load, job_args, workers, resources, max_restarts) -> list:
    actor_cls = ray.remote(_Certifier).options(
        max_restarts=max_restarts, max_task_retries=max_restarts, **resources
    )
    return [actor_cls.remote(load, job_args) for _ in range(workers)]


def _agreed_hash(ray, actors) -> str:
    """Every actor's configuration hash (loading the models); they must agree."""
    hashes = ray.get([a.config_hash.remote() for a in actors])
    if len(set(hashes)) != 1:
        raise RuntimeError(
            f"the workers compute different configuration hashes {hashes} "
            "(different device types?): give all workers the same kind of device"
        )
    return hashes[0]


def _stream(
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


class RayBackend:
    """The backend of :func:`run_ray`: Ray actors that each load the model once."""

    def __init__(self, load, *, workers, address, max_in_flight, max_restarts, in_flight=1):
        self.load, self.workers, self.address = load, workers, address
        self.max_in_flight, self.max_restarts = max_in_flight, max_restarts
        self.in_flight = in_flight
        self.ray, self.started, self.actors, self.chash = None, False, [], None

    def open(self, **job_args) -> str:
        """Connect to Ray, start the actors (loading the models); their agreed hash."""
        ray = self.ray = _import_ray()
        self.started = _connect(ray, self.address, self.workers)
        count, resources = _actor_resources(ray, self.workers)
        # Picklable: the frozen configuration travels to the workers as is.
        self.actors = _start_actors(ray, self.load, job_args, count, resources, self.max_restarts)
        self.chash = _agreed_hash(ray, self.actors)
        self.batch_size = job_args["config"].batch_size
        return self.chash

    def certify(self, todo, writer: Writer) -> None:
        """Stream ``todo`` over the actors, writing each row as it arrives."""
        if self.in_flight > 1:
            from sampler._packing import PackingStats

            writer.packing = PackingStats(batch_size=self.batch_size)
        _stream(self.ray, self.actors, todo, self.chash, writer, self.max_in_flight, self.in_flight)

    def close(self) -> None:
        """Kill the actors; shut down a cluster that :meth:`open` started."""
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)
        if self.started:
            self.ray.shutdown()


def run_ray(
    load: Callable[[], tuple[Any, Any]],
    data,
    out,
    *,
    config: CertifyConfig | None = None,
    workers: int | None = None,
    address: str | None = None,
    max_in_flight: int = 2,
    max_restarts: int = 3,
    **options,
) -> RunSummary:
    """:func:`sampler.run.run` on Ray actors: same rows, same hash, same resume.

    See the module docstring. The model and oracle come from ``load`` instead of
    ``model`` and ``oracle=``; everything else is as in :func:`sampler.run.run`.

    Args:
      load: picklable zero-argument callable returning ``(model, oracle)``, run once in each
        worker (e.g. :class:`VLMLoader`); the model never leaves the worker.
      data, out, config: as in :func:`sampler.run.run`.
      workers: actors to start; None: one per GPU of the cluster, or one per CPU when it
        has none. Must fit the cluster (``[1, GPUs]`` or ``[1, CPUs]``).
      address: a running Ray cluster's address; None: an already initialised Ray, else a
        local cluster with ``num_cpus=workers`` on the loopback interface
        (:func:`start_local_cluster`), started and shut down by this call.
      max_in_flight: tasks queued on one actor at a time, ``>= 1`` (a task is one input, or
        ``in_flight`` inputs packed together).
      max_restarts: restarts of a dead worker (and retries of its in-flight inputs), ``>= 0``.
      options: the campaign keywords, as in :func:`sampler.run.run`: ``oracle_name``,
        ``prompt``, ``limit``, ``allow_config_change``, ``retry_errors``, ``parquet``,
        ``progress``, ``model_name``, ``in_flight`` (inputs packed together in a worker: see
        the module docstring; :class:`sampler._campaign.CampaignOptions`); and,
        deprecated, 0.1's flat keywords instead of ``config``. Any other keyword raises
        TypeError naming it.

    Returns:
      :class:`sampler.run.RunSummary`.

    Raises:
      ImportError: ray is not installed (``pip install .[ray]``).
      TypeError: an unknown keyword.
      ValueError: a bad argument (``workers`` beyond the cluster, ...); as for ``run``.
      ConfigMismatchError: the file holds rows of another configuration.
      RuntimeError: the workers disagree on the hash, or every worker died.
      KeyboardInterrupt: re-raised after the rows so far are safely written.
    """
    campaign, legacy = CampaignOptions.split(options)
    cfg = config_from_keywords(config, legacy, func="run_ray", sequential=None)
    campaign = CampaignOptions(**campaign)
    check_ray_args(workers=workers, max_in_flight=max_in_flight, max_restarts=max_restarts)
    backend = RayBackend(
        load,
        workers=workers,
        address=address,
        max_in_flight=max_in_flight,
        max_restarts=max_restarts,
        in_flight=campaign.in_flight,
    )
    return run_campaign(backend, data, out, config=cfg, options=campaign)
