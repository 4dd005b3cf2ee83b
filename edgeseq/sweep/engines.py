"""Where a sweep's tasks run: one table row per engine. No home-made scheduler: this machine's process pool
(a fresh process per task, one per core by default) or Ray (`--ray local` starts it here; `--ray ADDRESS`
joins an existing cluster, whose nodes must have edgeseq installed and see the output folder)."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from edgeseq.errors import EdgeseqError, RuntimeUnavailable

Task = dict[str, Any]
RAY_HINT = "pip install 'edgeseq[sweep]'"


def local_pool(fn: Callable[[Task], Task], tasks: list[Task], workers: int, address: str | None) -> Iterator[Task]:
    """A spawned process per task (max_tasks_per_child=1, Python 3.11+): TensorFlow's memory goes with it."""
    if not tasks:
        return
    context = multiprocessing.get_context("spawn")
    fresh = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}   # 3.10: a worker runs several
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context, **fresh) as pool:
        futures = [pool.submit(fn, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()


def ray_tasks(fn: Callable[[Task], Task], tasks: list[Task], workers: int, address: str | None) -> Iterator[Task]:
    """Each task a Ray task in a worker process of its own (max_calls=1), one CPU each."""
    try:
        import ray  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable(f"ray is not installed: {RAY_HINT}") from err
    if not tasks:
        return
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address in (None, "local"):
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as err:  # noqa: BLE001  (Ray raises ConnectionError, RuntimeError, ValueError, ...)
            raise EdgeseqError(f"cannot start or join Ray ({address or 'local'}): {str(err).splitlines()[0]}") from err
    try:
        remote = ray.remote(num_cpus=1, max_calls=1)(fn)
        pending = [remote.remote(task) for task in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                yield ray.get(done[0])
            except ray.exceptions.RayError as err:
                raise EdgeseqError(f"a Ray task failed: {str(err).splitlines()[0]}") from err
    finally:
        if started_here:
            ray.shutdown()


@dataclass(frozen=True)
class Engine:
    name: str
    run: Callable[[Callable[[Task], Task], list[Task], int, str | None], Iterator[Task]]
    description: str


ENGINES = {
    "local": Engine("local", local_pool, "this machine, a process pool"),
    "ray": Engine("ray", ray_tasks, "Ray"),
}


def engine_for(ray_address: str | None) -> Engine:
    return ENGINES["ray" if ray_address else "local"]
