"""`edgeseq bench --host`: against a real OpenSSH server that the tests start on 127.0.0.1 (a throwaway host key
and authorized key, its own configuration), with a runtime-only virtual environment (no TensorFlow) as the
remote Python. Only loopback; every wait is bounded.

sshd comes from Debian's openssh-server, which `.ci/run` installs. Where it is missing the tests are skipped,
unless EDGESEQ_REQUIRE_SSHD is set (CI sets it): then a missing sshd fails them."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, WITH_DEFAULT_SIGINT, run_cli, wait_for

from edgeseq.core.fileio import sha256_file

pytestmark = pytest.mark.slow  # the remote Python is a virtual environment with edgeseq[runtime] installed

MODELS = REPO / "models"
FILES = (MODELS / "rnn" / "rnn-int8.tflite", MODELS / "rnn" / "rnn-fp32.onnx")
FAST = ("--min-runs", "5", "--min-seconds", "0", "--warmup", "1")
ALIAS = "edgeseq-loopback"
BOUND_S = 30


@dataclass(frozen=True)
class Sshd:
    config: Path        # an ssh client configuration naming the server as ALIAS
    port: int
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sshd_binary() -> str:
    found = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd", "/usr/bin/sshd") if Path(p).exists()), None)
    if found is None:
        message = "OpenSSH's sshd is not installed (Debian: apt-get install openssh-server)"
        if os.environ.get("EDGESEQ_REQUIRE_SSHD"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    binary = sshd_binary()
    folder = tmp_path_factory.mktemp("sshd")
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", str(folder / key)],
                       check=True, timeout=BOUND_S, stdin=subprocess.DEVNULL)
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port = free_port()
    (folder / "sshd_config").write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", "PubkeyAuthentication yes",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        "PermitRootLogin prohibit-password", "PidFile none", "LogLevel VERBOSE", ""]))
    host_key = (folder / "host_key.pub").read_text().split()
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (folder / "ssh_config").write_text("\n".join([
        f"Host {ALIAS}", "  HostName 127.0.0.1", f"  Port {port}", f"  User {getpass.getuser()}",
        f"  IdentityFile {folder / 'client_key'}", "  IdentitiesOnly yes", "  BatchMode yes",
        f"  UserKnownHostsFile {folder / 'known_hosts'}", "  GlobalKnownHostsFile /dev/null",
        "  StrictHostKeyChecking yes", "  LogLevel ERROR", ""]))
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder, when root
    log = folder / "sshd.log"
    with log.open("wb") as sink:
        server = subprocess.Popen([binary, "-D", "-e", "-f", str(folder / "sshd_config")], stdin=subprocess.DEVNULL,
                                  stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: accepts(port) or server.poll() is not None, "sshd to listen", BOUND_S)
        if server.poll() is not None:
            raise AssertionError(f"sshd did not start: {log.read_text()}")
        yield Sshd(folder / "ssh_config", port, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=BOUND_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def bench_over_ssh(sshd: Sshd, remote_python: str, *args: str, host: str = ALIAS) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeseq", "bench", "--host", host, "--ssh-config", str(sshd.config),
                           "--remote-python", remote_python, *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=REPO, stdin=subprocess.DEVNULL, check=False)


def remote_folders(stderr: str) -> list[str]:
    return [line.split("remote folder: ", 1)[1].split(" (")[0] for line in stderr.splitlines()
            if "remote folder: " in line]


def test_bench_on_the_host_brings_the_results_home(sshd, runtime_python, tmp_path):
    started = time.monotonic()
    done = bench_over_ssh(sshd, runtime_python, *FILES, *FAST, "--device", "loopback-pi", "--json",
                          "--out", tmp_path / "pi")
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {(r["path"], r["runtime"]) for r in rows} == {(str(FILES[0]), "litert"), (str(FILES[1]), "onnxruntime")}
    for row in rows:
        assert row["status"] == "ok" and row["p50_us"] > 0 and row["integrity"] == "verified", row
        assert row["sha256"] == sha256_file(Path(row["path"]))
        assert row["environment"]["device"] == "loopback-pi" and row["environment"]["ssh_host"] == ALIAS
        peak = row["environment"]["fp32_gemm_peak_gflops"]      # the host's, measured there
        assert peak > 0 and row["flops"] > 0                    # counted here: the .keras is not sent
        assert row["bound_us"] == pytest.approx(row["flops"] / (peak * 1e3))
        assert row["bound_ratio"] == pytest.approx(row["p50_us"] / row["bound_us"])
    assert json.loads((tmp_path / "pi" / "bench.json").read_text()) == rows
    (folder,) = remote_folders(done.stderr)
    assert not Path(folder).exists(), "the host's temporary folder was left behind"
    print(f"bench over ssh, 2 files: {took:.1f} s")


def test_graph_candidates_measured_on_the_host_are_compared_here(sshd, runtime_python, tmp_path):
    """bench --host ends in the same graph choice as a local bench, made here from the manifests here (whatever
    edgeseq the host runs)."""
    from test_graph_choice import fake_candidates

    folder = fake_candidates(tmp_path / "cands")
    done = bench_over_ssh(sshd, runtime_python, folder, *FAST, "--runtime", "litert", "--device", "loopback-pi",
                          "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {r["graph"] for r in rows} == {"unrolled", "loop"} and {r["export_parity"] for r in rows} == {"pass"}
    choice = rows[0]["graph_choice"]
    assert all(r["graph_choice"] == choice for r in rows) and choice["device"] == "loopback-pi"
    assert choice["p50_us"] == {r["graph"]: r["p50_us"] for r in rows}
    assert choice["fastest"] == min(choice["p50_us"], key=choice["p50_us"].get)


def test_the_host_python_reads_no_tensorflow(sshd, runtime_python):
    """The remote bench runs where TensorFlow is absent (the point of the runtime-only install)."""
    code = "import importlib.util as u; print(u.find_spec('tensorflow') is None)"
    done = subprocess.run(["ssh", "-F", str(sshd.config), ALIAS, runtime_python, "-c", json.dumps(code)],
                          capture_output=True, text=True, timeout=BOUND_S, stdin=subprocess.DEVNULL, check=False)
    assert done.stdout.strip() == "True", done.stderr


def test_a_host_without_edgeseq_is_told_what_to_install(sshd, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    done = bench_over_ssh(sshd, str(bare / "bin" / "python"), FILES[0], *FAST)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "has no edgeseq" in lines[-1] and "pip install 'edgeseq[runtime]'" in lines[-1], lines[-1]
    assert not remote_folders(done.stderr)   # refused before anything was copied


def test_a_missing_remote_python_is_one_line(sshd):
    done = bench_over_ssh(sshd, "/nonexistent/bin/python3", FILES[0], *FAST)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "has no Python at '/nonexistent/bin/python3'" in lines[-1] and "--remote-python" in lines[-1], lines[-1]


def test_an_unreachable_host_is_one_line(sshd):
    closed = free_port()
    done = bench_over_ssh(sshd, "python3", FILES[0], *FAST, host=f"ssh://127.0.0.1:{closed}")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[-1].startswith(f"Error: ssh ssh://127.0.0.1:{closed} failed:") and "refused" in lines[-1], lines[-1]


def test_bad_destinations_and_stray_options_are_refused(tmp_path):
    cases = {"is not an ssh destination": ["--host", "-oProxyCommand=touch x"],
             "--remote-python and --ssh-config go with --host": ["--remote-python", "/usr/bin/python3"]}
    for expected, args in cases.items():
        done = run_cli("bench", FILES[0], *args, cwd=tmp_path)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.strip().splitlines()[-1].startswith("Error:") and expected in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())


def bench_processes_in(folder: str) -> list[int]:
    """Processes whose working folder is (or was) `folder`: the bench the agent started there."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd").startswith(folder):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_stopping_the_command_stops_the_bench_on_the_host_and_removes_its_folder(sshd, runtime_python, how):
    """Ctrl-C (or a kill, which leaves ssh to notice the end of its input) ends the host's bench too: no process
    and no folder stay behind there."""
    proc = subprocess.Popen([sys.executable, "-c", WITH_DEFAULT_SIGINT, "-m", "edgeseq", "bench", "--host", ALIAS,
                             "--ssh-config", str(sshd.config), "--remote-python", runtime_python, *FILES,
                             "--min-runs", "5", "--min-seconds", "600", "--json"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO)
    try:
        folder = None
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        while folder is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            folder = next(iter(remote_folders(line)), None)
        assert folder is not None, "the host never announced its folder"
        wait_for(lambda: bench_processes_in(folder), "the bench to start on the host", timeout=60)
        proc.send_signal(how)
        proc.wait(timeout=BOUND_S)
        assert proc.returncode == (130 if how == signal.SIGINT else -how), proc.returncode
        wait_for(lambda: not Path(folder).exists(), "the host's folder to be removed", BOUND_S)
        wait_for(lambda: not bench_processes_in(folder), "the host's bench to end", BOUND_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
