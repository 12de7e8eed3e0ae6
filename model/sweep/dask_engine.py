"""Scale-out of a sweep's runs on Dask distributed.

Why Dask rather than Ray: it is pure Python and pip-installable (no native object store or
extra daemons), it is already a dependency, ``LocalCluster`` gives a laptop or CI a real
multi-process cluster in two seconds, and the same code reaches a real cluster through its
scheduler address (``dask scheduler`` / ``dask worker`` over SSH, or dask-jobqueue on SLURM/PBS,
which is how most labs share GPUs). Its ``concurrent.futures`` executor lets the sweep use one
scheduling loop for local processes and for the cluster: no job queue of our own.

A cluster's workers must have commons-lab installed and see the sweep's output folder at the
same path (a shared file system): every run writes its own folder where it runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from agents.errors import ServiceError


class ScaleOutError(ServiceError, RuntimeError):
    """The cluster cannot be reached or cannot run this project's runs (one line)."""


@dataclass(frozen=True)
class Cluster:
    executor: Executor
    slots: int  # worker threads in the cluster: how many tasks run at once
    description: str


def _worker_check(root: str) -> str:
    """Runs on a worker: the project imports there and the output folder is visible."""
    import model.sweep.worker  # noqa: F401  (the import is the check)

    return "ok" if Path(root).is_dir() else "missing"


@contextlib.contextmanager
def dask_cluster(workers: int = 0, scheduler: str = "", root: str | Path = ".") -> Iterator[Cluster]:
    """A Dask executor: a new LocalCluster of ``workers`` processes (one thread each), or the
    cluster whose scheduler listens at ``scheduler`` (e.g. tcp://10.0.0.5:8786)."""
    from distributed import Client, LocalCluster

    if not logging.getLogger().isEnabledFor(logging.INFO):
        # The scheduler logs every worker and client at INFO; keep that for --verbose.
        logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="15s")
        else:
            # One thread per process: runs are CPU-bound Mesa steps or hold a whole LLM session.
            # No dashboard, and the scheduler's HTTP endpoint on a free port, so that several
            # sweeps (or test runs) can share a machine.
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, dashboard_address=None,
                                   scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                   host="127.0.0.1", silence_logs=logging.ERROR)
            client = Client(cluster)
    except (OSError, TimeoutError) as err:
        if cluster is not None:
            cluster.close()
        where = scheduler or "a local cluster"
        raise ScaleOutError(f"cannot reach the Dask scheduler at {where}: {err}") from None
    try:
        root = str(Path(root).resolve())
        checks = client.run(_worker_check, root)
        bad = sorted(w for w, ok in checks.items() if ok != "ok")
        if bad:
            raise ScaleOutError(
                f"Dask worker {bad[0]} cannot see the output folder {root}: workers need it "
                "on a shared file system at the same path"
            )
        slots = sum(client.nthreads().values())
        what = scheduler or f"LocalCluster of {len(checks)} processes"
        yield Cluster(client.get_executor(pure=False), slots, f"dask ({what}, {slots} slots)")
    except ModuleNotFoundError as err:
        raise ScaleOutError(f"Dask workers cannot import commons-lab ({err}): install it on "
                            "every worker") from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
