"""The results beside the published ones: each architecture's Keras test accuracy next to the published
3-epoch accuracy (`edgeseq.models.ARCHITECTURES`), and, when the data is the shipped sample, why they do
not compare.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from edgeseq.models import ARCHITECTURES, Arch
from edgeseq.report.join import FileRow
from edgeseq.report.units import pct

SAMPLE_NAME = "sample"                  # the data identity's name for the shipped sample (edgeseq.data)
FULL_DATA_COMMAND = "edgeseq run --data PATH/TO/mnist"
FULL_REPORT = "docs/report/report.md"   # the committed full-MNIST report, in the repository


@dataclass(frozen=True)
class Reproduction:
    """One architecture: the Keras model's test accuracy in these results and the published one."""
    model: str
    accuracy: float | None               # None: no trained model of this architecture in the results
    source: str | None                   # which figure of the results `accuracy` is
    published_accuracy: float | None     # None: not an architecture of the published reference

    @property
    def difference_pp(self) -> float | None:
        if self.accuracy is None or self.published_accuracy is None:
            return None
        return round((self.accuracy - self.published_accuracy) * 100, 6)

    def describe(self) -> str:
        ours = f"{pct(self.accuracy)} %" if self.accuracy is not None else "no trained model in these results"
        if self.published_accuracy is None:
            return f"{self.model.upper()} {ours} (no published figure)"
        diff = f", {self.difference_pp:+.2f} pp" if self.difference_pp is not None else ""
        return f"{self.model.upper()} {ours} (published {pct(self.published_accuracy)} %{diff})"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "model"} | {"difference_pp": self.difference_pp}


def published_accuracy(model: str) -> float | None:
    try:
        return ARCHITECTURES[Arch(model)].published_accuracy
    except (ValueError, KeyError):
        return None


def reproductions(rows: tuple[FileRow, ...], models: list[str]) -> tuple[Reproduction, ...]:
    """Per architecture in `models`, its Keras baseline's accuracy beside the published one."""
    out = []
    for model in models:
        keras = next((r for r in rows if r.baseline and r.model == model and r.accuracy is not None), None)
        out.append(Reproduction(model, keras.accuracy if keras else None,
                                keras.accuracy_source if keras else None, published_accuracy(model)))
    return tuple(out)


def sentence(found: tuple[Reproduction, ...]) -> str:
    """One sentence: e.g. RNN 91.32 % (published 90.34 %, +0.98 pp), LSTM 97.97 % (published 96.52 %, ...)."""
    return ("Keras test accuracy after training, beside the published 3-epoch results: "
            + ", ".join(r.describe() for r in found) + ".")


def _count(identities: list[dict[str, Any]], key: str) -> int | None:
    counts = [d[key] for d in identities if isinstance(d.get(key), int)]
    return max(counts) if counts else None


def sample_note(data: dict[str, Any]) -> str | None:
    """When train.json or validate.json name the shipped sample: why its accuracies are not comparable with
    the published ones, and how to get comparable ones. None on any other data."""
    trained = [d for d in data["train"].values() if d.get("name") == SAMPLE_NAME]
    tested = [d for d in data["validate"] if d.get("name") == SAMPLE_NAME] or trained
    if not trained and not tested:
        return None
    train_count, test_count = _count(trained or tested, "train_count"), _count(tested, "test_count")
    counts = (f" (trained on {train_count:,} digits, tested on {test_count:,})"
              if train_count and test_count else "")
    return ("Not comparable with the published accuracies: these results use the shipped sample of MNIST"
            f"{counts}, not full MNIST (60,000 training and 10,000 test digits), which the published figures"
            f" come from. For comparable figures run `{FULL_DATA_COMMAND}` (PATH/TO/mnist: a folder holding"
            " the four official MNIST IDX files, or a Keras mnist.npz); the full-MNIST report is committed in"
            f" the repository as {FULL_REPORT}.")
