"""procs.WorkerSession: one child serves request after request, and a crash, a hang or an error costs only the
request in flight (the same WorkerError run_worker gives); the next request starts a fresh child."""

import os
import textwrap
from pathlib import Path

import pytest

from edgeseq.core.procs import WorkerError, WorkerSession, run_worker

WORKER = textwrap.dedent("""
    import os, signal, sys, time
    from edgeseq.core.procs import serve

    def handle(request, workdir):
        what = request["do"]
        if what == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if what == "crash-if-shared" and sys.argv[1:] == ["--session"]:   # as a former file's damage would
            os.kill(os.getpid(), signal.SIGSEGV)
        if what == "hang":
            time.sleep(120)
        if what == "fail":
            raise ValueError("refused: not this one")
        if what == "exit":
            print("leaving early", file=sys.stderr, flush=True)
            os._exit(3)
        return {"pid": os.getpid(), "n": request["n"]}

    if __name__ == "__main__":
        serve(handle)
""")


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "toy_worker.py").write_text(WORKER)
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path / "mod"), os.environ.get("PYTHONPATH", "")])}


def _ask(session: WorkerSession, tmp_path: Path, n: int, what: str = "answer", timeout: float = 60):
    folder = tmp_path / f"request-{n}"
    folder.mkdir()
    return session.run({"do": what, "n": n}, timeout, folder)


def test_one_child_serves_many_and_a_crash_costs_one_request(tmp_path, worker_env):
    with WorkerSession("toy_worker", worker_env) as session:
        first, second = _ask(session, tmp_path, 1), _ask(session, tmp_path, 2)
        assert (first["n"], second["n"]) == (1, 2) and first["pid"] == second["pid"]    # one child, two answers
        crashed = _ask(session, tmp_path, 3, "crash")
        assert isinstance(crashed, WorkerError) and crashed.kind == "crashed" and crashed.signal == "SIGSEGV"
        after = _ask(session, tmp_path, 4)
        assert after["n"] == 4 and after["pid"] != first["pid"]                          # a fresh child
        failed = _ask(session, tmp_path, 5, "fail")
        assert isinstance(failed, WorkerError) and failed.kind == "error"
        assert failed.message == "refused: not this one" and failed.error_type == "ValueError"
        assert _ask(session, tmp_path, 6)["pid"] == after["pid"]                       # an error kills nothing
        exited = _ask(session, tmp_path, 7, "exit")
        assert isinstance(exited, WorkerError) and exited.kind == "exited" and exited.returncode == 3
        assert exited.stderr_tail == "leaving early"
        hung = _ask(session, tmp_path, 8, "hang", timeout=3)
        assert isinstance(hung, WorkerError) and hung.kind == "timeout" and hung.timeout_s == 3
        last = _ask(session, tmp_path, 9)
        assert last["n"] == 9 and session.started == 4
        child = session.child
    assert child is not None and child.poll() is not None       # ended with the session
    assert not session.folder.exists()


def test_a_session_answers_what_run_worker_answers(tmp_path, worker_env):
    folder = tmp_path / "once"
    folder.mkdir()
    once = run_worker("toy_worker", {"do": "fail", "n": 0}, 60, folder, env=worker_env)
    with WorkerSession("toy_worker", worker_env) as session:
        again = _ask(session, tmp_path, 0, "fail")
    assert (once.kind, once.message, once.error_type) == (again.kind, again.message, again.error_type)


def test_a_shared_child_asks_a_crash_again_in_a_fresh_child(tmp_path, worker_env):
    """guard.SharedChild: a crash in the shared child may be a former request's doing, so the request is run again
    alone; only that answer counts (a crash there too is the request's own). An error or a timeout is not asked
    again."""
    from edgeseq.runtimes.guard import SharedChild

    def ask(shared, n, what="answer"):
        folder = tmp_path / f"shared-{n}"
        folder.mkdir()
        return shared.run({"do": what, "n": n}, folder)

    with SharedChild("toy_worker", worker_env) as shared:
        first, second = ask(shared, 1), ask(shared, 2)
        assert first["pid"] == second["pid"] and shared.started == 1 and shared.confirmed == 0
        rescued = ask(shared, 3, "crash-if-shared")
        assert rescued["n"] == 3 and rescued["pid"] != first["pid"] and shared.confirmed == 1
        crashed = ask(shared, 4, "crash")
        assert isinstance(crashed, WorkerError) and crashed.kind == "crashed" and crashed.signal == "SIGSEGV"
        assert shared.confirmed == 2
        failed = ask(shared, 5, "fail")
        assert isinstance(failed, WorkerError) and failed.kind == "error" and shared.confirmed == 2
        after = ask(shared, 6)
        assert after["n"] == 6 and shared.started == 3          # a fresh shared child after each crash
    alone = SharedChild("toy_worker", worker_env)               # not entered: a fresh child per request
    assert ask(alone, 7)["n"] == 7 and alone.started == 0
