"""Training health: whether a trained (or adopted) model learned anything the verdict may judge.

Three checks, each a plain sentence and what to try (only options edgeseq offers):
  diverged   a training or validation loss that is NaN or infinite, or far above the loss of a uniform guess
             (ln K; above EXPLODED x ln K an epoch's mean loss is no longer a guess but an explosion), or a
             loss that rose over training (the last epoch's above RISEN x the first's);
  chance     a test accuracy whose 95 % interval (Wilson's score interval, on the test split's size) does not
             lie above chance: the larger of the majority class's share of the test split and 1/K;
  stalled    a training loss that never fell below STALLED x its first epoch's (two epochs or more).
A model with any finding is unhealthy: the verdict never recommends its files and the RNN-versus-LSTM
comparison does not price it. Pure arithmetic: no TensorFlow, no data beyond the labels.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

EXPLODED = 10.0       # x ln K: an epoch's mean cross-entropy this far above a uniform guess's has exploded
RISEN = 1.5           # the last epoch's training loss above 1.5 x the first's: training went the wrong way
STALLED = 0.98        # no epoch's training loss below 98 % of the first's: the model never left its start
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Finding:
    check: str            # diverged | chance | stalled
    text: str             # one plain sentence: what happened, with its figures
    advice: str           # what to try, with the options edgeseq offers

    def sentence(self) -> str:
        return f"{self.text} {self.advice}".strip()


@dataclass(frozen=True)
class Health:
    """What the checks found about one model; `healthy` when they found nothing."""
    classes: int
    test_count: int
    chance_accuracy: float                 # max(majority share of the test split, 1/K)
    majority_label: str
    accuracy_low: float                    # the lower end of the test accuracy's 95 % Wilson interval
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        return not self.findings

    def summary(self, model: str) -> str:
        """One line for the report's top and the CLI."""
        if self.healthy:
            return (f"{model.upper()}: healthy (the test accuracy's 95 % interval starts at"
                    f" {self.accuracy_low * 100:.2f} %, above chance, {self.chance_accuracy * 100:.2f} %; no divergence)")
        return f"{model.upper()}: " + " ".join(f.sentence() for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy, "findings": [asdict(f) for f in self.findings]}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Health":
        findings = tuple(Finding(**f) for f in row.get("findings") or ())
        return cls(int(row["classes"]), int(row["test_count"]), float(row["chance_accuracy"]),
                   str(row["majority_label"]), float(row["accuracy_low"]), findings)


def wilson_low(successes: int, n: int, z: float = Z95) -> float:
    """The lower end of Wilson's score interval for a proportion."""
    if n <= 0:
        return 0.0
    p = successes / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / (1 + z * z / n))


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _pct(value: float) -> str:
    return f"{value * 100:.2f} %"


def _advice(arch: Any, problem: str) -> str:
    """What to try, naming only what edgeseq offers: a tanh variant of a relu model, more epochs."""
    tips = []
    activation = getattr(getattr(arch, "activation", None), "value", None)
    if problem in ("diverged", "stalled") and activation == "relu" and hasattr(arch, "cell"):
        tanh = f"{arch.cell.value}-{arch.units}x{arch.layers}-tanh"
        tips.append(f"a tanh variant (`--model {tanh}`: relu recurrent cells can explode or die on long or"
                    " unnormalised sequences)")
    if problem in ("chance", "stalled"):
        tips.append("more epochs (`--epochs`)")
    if problem == "chance":
        tips.append("checking that the labels belong to the sequences")
    return f"Try {'; '.join(tips)}." if tips else ""


def assess(model: str, history: list[dict[str, Any]] | tuple[Any, ...], test_accuracy: float | None,
           y_test: np.ndarray, labels: tuple[str, ...] | list[str], arch: Any = None,
           units: str = "sequences") -> Health:
    """The checks on one model: its per-epoch history (dicts or records with loss, val_loss; empty for a model
    not trained here), its test accuracy and the test split's labels."""
    classes = max(len(labels), 2)
    y = np.asarray(y_test).astype(int)
    n = len(y)
    counts = np.bincount(y, minlength=classes) if n else np.zeros(classes, int)
    top = int(np.argmax(counts))
    chance = max(float(counts[top]) / n if n else 0.0, 1.0 / classes)
    name = labels[top] if top < len(labels) else str(top)
    accuracy = test_accuracy if _finite(test_accuracy) else 0.0
    low = wilson_low(round(accuracy * n), n)
    epochs = [e if isinstance(e, dict) else asdict(e) for e in history]
    findings: list[Finding] = []
    uniform = math.log(classes)
    for e in epochs:
        bad = [k for k in ("loss", "val_loss") if not _finite(e.get(k))]
        if bad:
            findings.append(Finding("diverged", f"Training diverged: the {bad[0].replace('_', ' ')} of epoch"
                                                f" {e['epoch']} is not a number.", _advice(arch, "diverged")))
            break
        if e["loss"] > EXPLODED * uniform:
            findings.append(Finding(
                "diverged", f"Training diverged: epoch {e['epoch']}'s mean loss is {e['loss']:,.4g}, more than"
                            f" {EXPLODED:g}× a uniform guess's ({uniform:.3g}).", _advice(arch, "diverged")))
            break
    losses = [e["loss"] for e in epochs if _finite(e.get("loss"))]
    if not findings and len(losses) >= 2 and losses[-1] > RISEN * losses[0]:
        findings.append(Finding("diverged", f"Training went the wrong way: the loss rose from {losses[0]:.4g} in"
                                            f" epoch 1 to {losses[-1]:.4g} in epoch {len(losses)}.",
                                _advice(arch, "diverged")))
    if not findings and len(losses) >= 2 and min(losses[1:]) >= STALLED * losses[0]:
        findings.append(Finding("stalled", f"Training never left its first epoch's loss ({losses[0]:.4g};"
                                           f" the lowest after it {min(losses[1:]):.4g}).",
                                _advice(arch, "stalled")))
    if low <= chance:
        shown = _pct(accuracy) if _finite(test_accuracy) else "not a number"
        findings.append(Finding(
            "chance", f"The test accuracy ({shown}) is not significantly above chance ({_pct(chance)}: 1/{classes},"
                      f" or the largest class's share of the test split, '{name}' {_pct(counts[top] / max(n, 1))},"
                      f" if larger) on {n:,} test {units}: its 95 % interval starts at {_pct(low)}.",
            _advice(arch, "chance")))
    return Health(classes, n, round(chance, 6), name, round(low, 6), tuple(findings))
