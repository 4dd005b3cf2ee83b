"""`bench --host`: measure files on another machine over ssh and bring the results home.

The system's OpenSSH client does the talking (keys, agent, ~/.ssh/config and known_hosts as the user has them;
no password ever passes through edgeseq). One connection runs `remote_agent.py`, sent as source text, in the
host's Python: it receives the files with their manifests and sidecars as a tar stream on stdin, runs the
runtime-only `edgeseq bench --json` in a temporary folder there, removes the folder and answers with the rows.
Closing the connection (Ctrl-C here) stops the bench there and removes the folder too.

Rows come back with the paths given here, so a table or report reads the same as a local bench; the join key
for reports stays the file's sha256.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shlex
import subprocess
import tarfile
import threading
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from edgeseq import __version__
from edgeseq.core import layout
from edgeseq.artifacts import collect_files
from edgeseq.bench.bound import bound_fields
from edgeseq.bench.graph_choice import with_choices
from edgeseq.bench.runner import BENCH_SUFFIXES, BenchConfig, BenchResult, count_flops
from edgeseq.core.errors import EdgeseqError, RuntimeUnavailable
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.core.rows import out_of_range
from edgeseq.runtimes.table import RUNTIME_INSTALL, host_modules

AGENT = Path(__file__).with_name("remote_agent.py")
BOOT = ("import base64,sys,zlib;"
        "exec(compile(zlib.decompress(base64.b64decode(sys.argv[1])),'edgeseq-remote-agent','exec'))")
INSTALL = f"python3 -m {RUNTIME_INSTALL}"
SSH_EXIT_CONNECTION = 255         # what ssh exits with when it could not connect or authenticate
SHELL_NOT_FOUND = 127
SAFE_WORD = re.compile(r"[A-Za-z0-9_./+@%:=,-]+")


class RemoteError(EdgeseqError):
    """A host that cannot be reached or cannot run the bench."""


@dataclass(frozen=True)
class SshTarget:
    """Where to bench: an ssh destination ([user@]host, an alias of the user's ssh config, or
    ssh://[user@]host[:port]) and the Python there that has edgeseq[runtime]."""
    host: str
    python: str = "python3"
    ssh_config: Path | None = None       # `ssh -F FILE`; default: the user's own configuration
    connect_timeout_s: int = 30

    def __post_init__(self) -> None:
        if not self.host or self.host.startswith("-") or any(c.isspace() for c in self.host):
            raise RemoteError(f"--host {self.host!r} is not an ssh destination ([user@]host or ssh://host:port)")
        if not self.python.strip():
            raise RemoteError("--remote-python must not be empty")


def ssh_command(target: SshTarget, remote_command: str) -> list[str]:
    options = ["-o", f"ConnectTimeout={target.connect_timeout_s}", "-o", "ServerAliveInterval=15",
               "-o", "ServerAliveCountMax=4", "-T"]
    if target.ssh_config is not None:
        options += ["-F", str(target.ssh_config)]
    return ["ssh", *options, "--", target.host, remote_command]


def _remote_word(word: str) -> str:
    """A word for the host's shell: `~/x` stays expandable, anything unusual is quoted."""
    if word.startswith("~/"):
        return '"$HOME"/' + shlex.quote(word[2:])
    return word if SAFE_WORD.fullmatch(word) else shlex.quote(word)


def agent_command(target: SshTarget, request: dict[str, Any]) -> str:
    source = base64.b64encode(zlib.compress(AGENT.read_bytes(), 9)).decode("ascii")
    return " ".join([_remote_word(target.python), "-c", shlex.quote(BOOT), source,
                     shlex.quote(json.dumps(request, separators=(",", ":")))])


def bench_arguments(config: BenchConfig, runtimes: tuple[str, ...] | None, names: list[str]) -> list[str]:
    """The runtime-only `edgeseq bench` arguments that repeat `config` on the host (runtimes: the ones the user
    named, else the host chooses its own defaults)."""
    args = [*names, "--tflite-backend", config.tflite_backend,
            "--threads", ",".join(map(str, config.threads)), "--batch", ",".join(map(str, config.batches)),
            "--warmup", str(config.warmup), "--min-runs", str(config.min_runs),
            "--min-seconds", repr(config.min_seconds)]
    if runtimes:
        args += ["--runtime", ",".join(runtimes)]
    if not config.verify:
        args.append("--no-verify")
    if config.device_name:
        args += ["--device", config.device_name]
    if tuple(config.tflite_kernels) != ("xnnpack",):     # only when asked: a host's older edgeseq lacks the option
        args += ["--tflite-kernels", ",".join(config.tflite_kernels)]
    return args


def pack(files: list[Path]) -> tuple[bytes, dict[str, str]]:
    """A tar of the files and their sidecars, one folder per source folder (d0, d1, ...), and the map from each
    file's name in the archive back to the path given here."""
    folders: dict[Path, str] = {}
    names: dict[str, str] = {}
    packed: set[str] = set()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:") as archive:
        for path in files:
            parent = path.parent.resolve()
            folder = folders.setdefault(parent, f"d{len(folders)}")
            for item in (path, *layout.sidecars(path)):
                arcname = f"{folder}/{item.name}"
                if arcname not in packed:
                    packed.add(arcname)
                    archive.add(item, arcname=arcname, recursive=False)
            names[f"{folder}/{path.name}"] = str(path)
    return buffer.getvalue(), names


def bench_over_ssh(paths: list[Path], config: BenchConfig, target: SshTarget,
                   runtimes: tuple[str, ...] | None = None, progress: ProgressLike = None) -> list[BenchResult]:
    """Bench `paths` on `target` as `edgeseq bench` would there; the rows, with the paths given here."""
    progress = as_progress(progress)
    files = collect_files(paths, BENCH_SUFFIXES)
    data, names = pack(files)
    request = {"bench_args": bench_arguments(config, runtimes, list(names)), "runtime_modules": list(host_modules())}
    command = ssh_command(target, agent_command(target, request))
    progress.log(f"bench on {target.host}: sending {len(files)} file(s) with their manifests ({len(data):,} bytes)")
    reply, ssh_tail, code = _converse(command, data, lambda line: progress.log(f"  {target.host}: {line}"))
    if reply is None:
        raise _no_reply(target, code, ssh_tail)
    if not reply.get("ok"):
        raise _refusal(target, reply)
    if reply.get("edgeseq") not in (__version__, "unknown"):
        progress.log(f"warning: {target.host} has edgeseq {reply.get('edgeseq')}, this machine {__version__}")
    return with_choices([_homecoming(row, names, target) for row in reply["rows"]])   # on the manifests here


def _converse(command: list[str], data: bytes, log: Any) -> tuple[dict[str, Any] | None, str, int]:
    """Run ssh: send the byte count and the archive, keep stdin open while the host works (its end tells the
    host to stop), forward the host's stderr lines; the agent's reply, ssh's last stderr line, its exit code."""
    tail = [""]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as ssh:
        reader = threading.Thread(target=_forward, args=(ssh.stderr, tail, log), daemon=True)
        reader.start()
        try:
            assert ssh.stdin is not None and ssh.stdout is not None
            try:
                ssh.stdin.write(f"{len(data)}\n".encode() + data)
                ssh.stdin.flush()
            except BrokenPipeError:
                pass  # the host hung up early: its reason is on stderr or in the exit code
            out = ssh.stdout.read()
            ssh.wait()
        except BaseException:
            ssh.kill()   # the connection closes: the host stops its bench and removes its folder
            ssh.wait()
            raise
        finally:
            reader.join(timeout=5)
            if ssh.stdin is not None:
                try:
                    ssh.stdin.close()
                except BrokenPipeError:
                    pass
    return _last_json(out), tail[0], ssh.returncode


def _forward(stream: IO[bytes], tail: list[str], log: Any) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail[0] = line
            log(line)


def _last_json(out: bytes) -> dict[str, Any] | None:
    for line in reversed(out.decode("utf-8", "replace").splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "ok" in value:
            return value
    return None


def _no_reply(target: SshTarget, code: int, tail: str) -> RemoteError:
    if code == SSH_EXIT_CONNECTION:
        return RemoteError(f"ssh {target.host} failed: {tail or 'exit status 255'}")
    if code == SHELL_NOT_FOUND:
        return RemoteError(f"{target.host} has no Python at {target.python!r} ({tail}); install edgeseq there"
                           f" ({INSTALL}) or pass --remote-python PATH")
    return RemoteError(f"bench on {target.host} ended without results (exit status {code}): {tail or 'no message'}")


def _refusal(target: SshTarget, reply: dict[str, Any]) -> EdgeseqError:
    message = f"{target.host}: Python {target.python!r} {reply.get('message')}"
    if reply.get("kind") == "no-edgeseq":
        return RuntimeUnavailable(f"{message}; install it there with: {INSTALL}")
    if reply.get("kind") == "no-runtime":
        return RuntimeUnavailable(f"{message}; install one there with: {INSTALL}")
    there = f" (edgeseq {reply['edgeseq']} there, {__version__} here)" if reply.get("edgeseq") else ""
    return RemoteError(f"bench on {target.host} failed{there}: {reply.get('message')}")


def _homecoming(row: dict[str, Any], names: dict[str, str], target: SshTarget) -> BenchResult:
    result = BenchResult.from_dict(row)              # every number finite (rows.from_dict), then in its range
    if problem := out_of_range(result):
        raise RemoteError(f"bench on {target.host} sent a row that cannot be a measurement: {problem}")
    return _counted_here(replace(result, path=names.get(result.path, result.path),
                                 environment=result.environment | {"ssh_host": target.host}))


def _counted_here(result: BenchResult) -> BenchResult:
    """An ok row with its FLOPs counted from the file here (its source .keras, which is not sent, is beside it
    here; bench.bound), and its bound at the peak the host measured; the host's own count where none is
    possible here."""
    if result.status != "ok":
        return result
    count = count_flops(Path(result.path), result.step)
    if count.flops is None:
        return result
    flops = count.flops * (result.batch or 1)
    return replace(result, flops=flops, flops_source=count.source,
                   **bound_fields(flops, result.p50_us, result.environment.get("fp32_gemm_peak_gflops")))
