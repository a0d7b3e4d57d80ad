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

The pieces: the picklable model recipe (:class:`VLMLoader`) in :mod:`sampler._ray_loader`,
the cluster (:func:`start_local_cluster`, connecting, sizing the workers) in
:mod:`sampler._ray_cluster`, the actor and the driver's stream of tasks in
:mod:`sampler._ray_actor`; this module is the backend and :func:`run_ray`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sampler._campaign import CampaignOptions, RunSummary, Writer, run_campaign
from sampler._config import CertifyConfig, config_from_keywords
from sampler._ray_actor import agreed_hash, start_actors, stream
from sampler._ray_cluster import actor_resources, connect, import_ray, start_local_cluster
from sampler._ray_loader import VLMLoader
from sampler._validation import check_ray_args

__all__ = ["RayBackend", "VLMLoader", "run_ray", "start_local_cluster"]


class RayBackend:
    """The backend of :func:`run_ray`: Ray actors that each load the model once."""

    def __init__(self, load, *, workers, address, max_in_flight, max_restarts, in_flight=1):
        self.load, self.workers, self.address = load, workers, address
        self.max_in_flight, self.max_restarts = max_in_flight, max_restarts
        self.in_flight = in_flight
        self.ray, self.started, self.actors, self.chash = None, False, [], None

    def open(self, **job_args) -> str:
        """Connect to Ray, start the actors (loading the models); their agreed hash."""
        ray = self.ray = import_ray()
        self.started = connect(ray, self.address, self.workers)
        count, resources = actor_resources(ray, self.workers)
        # Picklable: the frozen configuration travels to the workers as is.
        self.actors = start_actors(ray, self.load, job_args, count, resources, self.max_restarts)
        self.chash = agreed_hash(ray, self.actors)
        self.batch_size = job_args["config"].batch_size
        return self.chash

    def certify(self, todo, writer: Writer) -> None:
        """Stream ``todo`` over the actors, writing each row as it arrives."""
        if self.in_flight > 1:
            from sampler._packing import PackingStats

            writer.packing = PackingStats(batch_size=self.batch_size)
        stream(self.ray, self.actors, todo, self.chash, writer, self.max_in_flight, self.in_flight)

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
    cfg = config_from_keywords(config, legacy, func="run_ray", sequential=None, mode=None)
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
