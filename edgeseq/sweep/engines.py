"""Where a sweep's tasks run: one table row per engine. No home-made scheduler: this machine's process pool
(a fresh process per task, one per core by default) or Ray (`--ray local` starts it here; `--ray ADDRESS`
joins an existing cluster, whose nodes must have edgeseq installed and see the output folder). Each row's `check`
runs before the output folder exists: an address with nothing listening is refused in seconds, not after Ray's
own minutes of retries."""

from __future__ import annotations

import multiprocessing
import socket
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from edgeseq.core.errors import EdgeseqError, RuntimeUnavailable, os_error_line, shown

Task = dict[str, Any]
RAY_HINT = "pip install 'edgeseq[sweep]'"
PROBE_SECONDS = 5.0       # a TCP connect to a --ray address: a cluster answers in milliseconds


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


def no_check(address: str | None) -> None:
    """The local pool needs nothing but this machine."""


def _host_port(address: str) -> tuple[str, int] | None:
    """The host and port of a Ray address (`HOST:PORT`, `ray://HOST:PORT`, `[IPv6]:PORT`), None where Ray
    resolves it itself (`auto`) or it names no port."""
    rest = address.split("://", 1)[-1].rstrip("/")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def ray_check(address: str | None) -> None:
    """Ray is installed, and a cluster's address (not `local`) accepts a TCP connection within PROBE_SECONDS:
    ray.init would otherwise retry for minutes before it says no."""
    try:
        import ray  # noqa: F401, PLC0415
    except ImportError as err:
        raise RuntimeUnavailable(f"ray is not installed: {RAY_HINT}") from err
    target = _host_port(address) if address not in (None, "local") else None
    if target is None:
        return
    try:
        socket.create_connection(target, timeout=PROBE_SECONDS).close()
    except OSError as err:   # refused, timed out, no such host: nothing that could be a Ray cluster there
        why = f"no answer within {PROBE_SECONDS:g} s" if isinstance(err, TimeoutError) else os_error_line(err)
        raise EdgeseqError(f"cannot reach a Ray cluster at {shown(address)}: {why} (start one there with"
                           " `ray start --head`, or use --ray local)") from err


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
    check: Callable[[str | None], None] = no_check    # before anything is written: raises why it cannot run


ENGINES = {
    "local": Engine("local", local_pool, "this machine, a process pool"),
    "ray": Engine("ray", ray_tasks, "Ray", ray_check),
}


def engine_for(ray_address: str | None) -> Engine:
    return ENGINES["ray" if ray_address else "local"]
