"""`export --pick-from BENCH`: the graph bench measured fastest on a device, for each requested recipe.

The recipe is exported again with that graph (not copied from the candidate file): the result is the recipe's
own file, named, checked and described like any export (its parity measured again here, its golden outputs
beside it), whether or not the candidates are still at hand, and its manifest's `graph_choice` records the
measurements that chose it and whether its bytes are the very bytes measured (`same_bytes_as_measured`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeseq.core import layout
from edgeseq.bench.graph_choice import GraphChoice, recorded
from edgeseq.bench.runner import BenchResult
from edgeseq.core.errors import DataError, EdgeseqError, shown
from edgeseq.core.fileio import read_json, sha256_file


@dataclass(frozen=True)
class Pick:
    """The graph to export for one recipe, and the measurements that chose it (recorded in the manifest)."""
    graph: str
    choices: tuple[GraphChoice, ...]           # every runtime × thread count measured for it on the device
    bench_file: str                            # the bench file's name (never a path: manifests hold no paths)
    bench_sha256: str

    @property
    def device(self) -> str:
        return self.choices[0].device

    def measured_sha256(self) -> str | None:
        """The sha256 of the candidate file bench measured with the chosen graph."""
        return dict(self.choices[0].sha256).get(self.graph)

    def describe(self) -> str:
        """'hoisted, measured fastest on pi (litert 1 thread(s): hoisted 100.4 µs, fused 335.0 µs; 3.34x the
        table's fused)'."""
        parts = []
        for c in self.choices:
            figures = ", ".join(f"{g} {p50:.1f} µs" for g, p50 in c.p50_us)
            gain = f"; {c.gain_over_default:.2f}x the table's {c.default_graph}" if c.gain_over_default else ""
            parts.append(f"{c.runtime} {c.threads} thread(s): {figures}{gain}")
        return f"{self.graph}, measured fastest on {self.device} ({'; '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        return {"graph": self.graph, "device": self.device,
                "bench": {"file": self.bench_file, "sha256": self.bench_sha256},
                "measured": [c.to_dict() for c in self.choices]}


def read_choices(path: Path) -> list[GraphChoice]:
    """The graph choices a bench.json (as `edgeseq bench --out` or `--json` writes it) records; a one-line
    DataError for a file that is not one."""
    payload = read_json(path, "bench results")
    if not isinstance(payload, list) or not payload:
        raise DataError(f"bench results {shown(path)}: expected the non-empty list `edgeseq bench --json` prints")
    choices: list[GraphChoice] = []
    for number, row in enumerate(payload, 1):
        try:
            found = recorded([BenchResult.from_dict(row)])
            for c in found:
                for value, what in ((c.model, "model"), (c.format, "format"), (c.recipe, "recipe"),
                                    (c.fastest, "fastest"), (c.device, "device")):
                    if value is not None:
                        layout.plain_name(value, f"graph_choice.{what}")
        except EdgeseqError as err:
            raise DataError(f"bench results {shown(path)}, row {number}: {err}") from err
        choices += found
    return recorded_once(choices)


def recorded_once(choices: list[GraphChoice]) -> list[GraphChoice]:
    """Each choice once (every row of a compared group carries its group's choice)."""
    return list({(c.device, *c.key, c.runtime, c.threads): c for c in choices}.values())


def pick(path: Path, wanted: list[tuple[str, str, str]], device: str | None) -> dict[tuple[str, str, str], Pick]:
    """The graph bench chose for each wanted (model, format, recipe) on one device, from the bench file `path`.
    One-line errors: no choice in the file, several devices and no `device`, an unknown device, a recipe with no
    choice there, no candidate that passed parity, runtimes or thread counts that chose differently."""
    choices = read_choices(path)
    name = shown(Path(path).name)
    if not choices:
        raise DataError(f"{name} records no graph choice: bench the candidates `edgeseq export --graph auto` writes"
                        " (two graphs or more of a recipe)")
    devices = list(dict.fromkeys(c.device for c in choices))
    if device is None and len(devices) > 1:
        raise DataError(f"{name} holds the results of {len(devices)} devices ({shown(', '.join(devices))}): pass"
                        " --device NAME")
    device = device if device is not None else devices[0]
    if device not in devices:
        raise DataError(f"{name} has no results of device {shown(device)!r} (it has {shown(', '.join(devices))})")
    mine = [c for c in choices if c.device == device]
    picks = {}
    for key in wanted:
        label = f"{key[0]} {key[1]}/{key[2]}"
        found = sorted((c for c in mine if c.key == key), key=lambda c: (c.runtime, c.threads or 0))
        if not found:
            have = ", ".join(dict.fromkeys(c.label for c in mine))
            raise DataError(f"{name} has no graph candidates of {label} measured on {shown(device)} (it has: {have});"
                            " export them with --graph auto and bench them there, or choose other recipes")
        graphs = {c.fastest for c in found}
        if graphs == {None}:
            raise DataError(f"{name}: no graph candidate of {label} passed parity and was measured on {shown(device)}")
        if len(graphs) > 1:
            said = "; ".join(f"{c.runtime} {c.threads} thread(s): {c.fastest or 'none'}" for c in found)
            raise DataError(f"{name}: on {shown(device)} the fastest graph of {label} depends on the runtime or thread"
                            f" count ({said}); bench with one --runtime and one --threads count")
        picks[key] = Pick(str(found[0].fastest), tuple(found), Path(path).name, sha256_file(Path(path)))
    return picks
