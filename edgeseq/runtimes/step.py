"""A step file in a runtime: the runtime's own step session (each runtime module's `step_session`), fed row by row.

`edgeseq.runtimes.load` returns a StepRunner for a step file. As a Runtime (edgeseq.runtimes) it answers whole sequences, fed row by row from
zero state, so validate, bench, export's smoke run and portability treat a step file like any other. Beyond
that it runs one step (`bind_step`, for per-step latency) and whole traces of T rows (`trace`, for drift and
sequences longer than the trained 28).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from edgeseq.artifacts import FileFacts, read_facts
from edgeseq.core.errors import EdgeseqError, ModelError
from edgeseq.core.manifest import read_manifest
from edgeseq.core.layout import STEP_KIND
from edgeseq.step_contract import (
    CELL_STATES, PROBABILITIES, ROW, StateTensor, StepContract, is_step_facts, plain_name)

TRACE_BATCH = 256


def contract_of(path: Path, facts: FileFacts | None = None) -> StepContract:
    """The contract its manifest records, else the one embedded in the file, else the one its tensors spell
    (cells guessed from the state names)."""
    manifest = read_manifest(path)
    facts = facts or read_facts(path)
    recorded = {"kind": manifest.kind, "step": manifest.step} if manifest else {}
    for source, said in (("manifest", recorded), ("embedded metadata", facts.embedded or {})):
        if said.get("kind") == STEP_KIND and isinstance(said.get("step"), dict):
            try:
                return StepContract.from_dict(said["step"])
            except (KeyError, TypeError, ValueError, EdgeseqError) as err:
                raise ModelError(f"{path}: its {source}'s step contract is malformed ({err})") from err
    tensors = {plain_name(t): t for t in facts.inputs}
    row = tensors.get(ROW)
    if row is None or not is_step_facts(facts):
        raise ModelError(f"{path}: not a step model (no rank-2 '{ROW}' input beside state inputs)")
    names = sorted((n for n in tensors if n != ROW), key=lambda n: (int(n[1:] or 0), n[0] != "h"))
    layers = {int(n[1:]) for n in names if n[1:].isdigit()}
    states = []
    for k in sorted(layers):
        kinds = "".join(n[0] for n in names if n[1:] == str(k))
        cell = "LSTM" if kinds == "hc" else "SimpleRNN"
        states += [StateTensor(f"{kind}{k}", k, cell, int(tensors[f"{kind}{k}"].shape[-1]))
                   for kind in CELL_STATES[cell]]
    classes = next((int(t.shape[-1]) for t in facts.outputs if plain_name(t) == PROBABILITIES), None)
    if classes is None:
        raise ModelError(f"{path}: not a step model (no '{PROBABILITIES}' output)")
    return StepContract(int(row.shape[-1]), classes, tuple(states))


@dataclass(frozen=True)
class Trace:
    """probabilities: (T, N, classes) after each row; states: name -> (T, N, units), when asked for."""
    probabilities: np.ndarray
    states: dict[str, np.ndarray] | None


class StepSession(Protocol):
    """A runtime's session for a step file (each runtime module's `step_session`): one step on a batch."""
    label: str

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], Any]: ...


class StepRunner:
    """A step file as a Runtime (whole sequences, row by row) and as a step model (one step, or a trace)."""
    name: str
    batch_one_only = False
    stateful = False
    input_name, output_name = ROW, PROBABILITIES

    def __init__(self, path: Path, runtime: str, session: StepSession) -> None:
        self.contract = contract_of(path)
        self.path, self.name = Path(path), runtime
        self.batch_one_only = getattr(session, "batch_one_only", False)   # one sequence per run (CompiledModel)
        self._backend = session
        self.backend = f"{session.label}, step model"
        self.batch_one_only = bool(getattr(session, "batch_one_only", False))   # export --app: a fixed batch of 1

    def zero_state(self, batch: int) -> dict[str, np.ndarray]:
        return {s.name: np.zeros((batch, s.units), np.float32) for s in self.contract.states}

    def step(self, rows: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(probabilities, next state) after one row per sequence."""
        out = self._backend.run({ROW: np.ascontiguousarray(rows, np.float32), **state})
        return out[PROBABILITIES], {s.name: out[s.output] for s in self.contract.states}

    def trace(self, sequences: np.ndarray, keep_states: bool = False) -> Trace:
        """Every sequence of `sequences` (N, T, features) fed row by row from zero state, in chunks."""
        sequences = self._check(sequences)
        steps = sequences.shape[1]
        probabilities = np.zeros((steps, len(sequences), self.contract.classes), np.float32)
        states = {s.name: np.zeros((steps, len(sequences), s.units), np.float32)
                  for s in self.contract.states} if keep_states else None
        for start in range(0, len(sequences), TRACE_BATCH):
            chunk = sequences[start:start + TRACE_BATCH]
            state = self.zero_state(len(chunk))
            for t in range(steps):
                probs, state = self.step(chunk[:, t, :], state)
                probabilities[t, start:start + len(chunk)] = probs
                if states is not None:
                    for name, value in state.items():
                        states[name][t, start:start + len(chunk)] = value
        return Trace(probabilities, states)

    def _check(self, sequences: np.ndarray) -> np.ndarray:
        sequences = np.asarray(sequences, np.float32)
        if sequences.ndim != 3 or sequences.shape[2] != self.contract.features:
            raise ModelError(f"{self.path}: a step model takes sequences (N, T, {self.contract.features}),"
                             f" got {sequences.shape}")
        return sequences

    def predict(self, sequences: np.ndarray) -> np.ndarray:
        """Runtime protocol: probabilities after the last row."""
        return self.trace(sequences).probabilities[-1] if len(sequences) else np.zeros((0, self.contract.classes),
                                                                                  np.float32)

    def bind(self, sequences: np.ndarray) -> Callable[[], np.ndarray]:
        """Runtime protocol, for benchmarks: one whole sequence per call, T steps with the state fed back."""
        sequences = self._check(sequences)
        rows = [np.ascontiguousarray(sequences[:, t, :]) for t in range(sequences.shape[1])]
        pairs = [(s.name, s.output) for s in self.contract.states]
        backend = self._backend

        def sequence() -> np.ndarray:
            state = self.zero_state(len(sequences))
            out: dict[str, np.ndarray] = {}
            for row in rows:
                out = backend.run({ROW: row, **state})
                state = {name: out[output] for name, output in pairs}
            return out[PROBABILITIES]
        return sequence

    def bind_step(self, batch: int) -> Callable[[], Any]:
        """One step, for per-step latency: set the row and the state, run, read the probabilities and the next
        state (what an app does for every row it receives)."""
        feed = {ROW: np.zeros((batch, self.contract.features), np.float32), **self.zero_state(batch)}
        return self._backend.runner(feed, [PROBABILITIES, *(s.output for s in self.contract.states)])


