"""Ray itself for a campaign of :func:`sampler.run.run_ray`: importing it
(:func:`import_ray`), starting a local cluster on the loopback interface only
(:func:`start_local_cluster`), connecting to one, and sizing the workers to its GPUs or
CPUs. Ray is imported only when these run (``pip install .[ray]``)."""

from __future__ import annotations

import os
import warnings

from rstheory._deprecation import keyword_only

__all__ = ["actor_resources", "connect", "import_ray", "start_local_cluster"]


def import_ray():
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
    ray = import_ray()
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


def connect(ray, address: str | None, workers: int | None) -> bool:
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


def actor_resources(ray, workers: int | None) -> tuple[int, dict[str, float]]:
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
