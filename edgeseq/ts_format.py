"""The UEA/UCR time-series classification archive's .ts files, read into edgeseq's arrays.

A problem is a pair of files, NAME_TRAIN.ts and NAME_TEST.ts (the archive's own layout). sktime parses the
format (the `ts` extra, imported only when a file is read); this module checks what it read and lays it out:

  x_train, x_test  float32 (N, T, F): T the longest series over both splits, F the channels (1 if univariate).
                   A shorter series fills the start of its row, zeros after it.
  y_train, y_test  the class labels as strings, spelled as on the file's @classLabel line.
  lengths_train, lengths_test  int64 (N,): only when the series are of unequal length; the first lengths[i]
                   steps of x[i] are the series.

sktime's wheel also ships a few of the archive's problems: shipped_ts(name) finds one (no download).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.core.errors import DataError, first_line, shown
from edgeseq.core.fileio import sha256_file

LIBRARY = "sktime"
EXTRA_HINT = "pip install 'edgeseq[ts]'"
SPLITS = {"train": "_TRAIN.ts", "test": "_TEST.ts"}
# Classification problems in sktime's wheel (sktime/datasets/data/NAME/NAME_{TRAIN,TEST}.ts); its other .ts
# files are regression (Tecator) or a test fixture (UnitTest). tests/test_ts_format.py checks each is there.
SHIPPED = ("ACSF1", "ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand", "JapaneseVowels", "OSULeaf",
           "PLAID")
# What the parser raises on a malformed file (sktime's own OSError, float() on a bad number, ...).
PARSE_ERRORS = (OSError, ValueError, TypeError, IndexError, KeyError, AttributeError)


@dataclass(frozen=True)
class TsData:
    name: str
    arrays: dict[str, np.ndarray] = field(repr=False)
    hashes: dict[str, str]
    equal_length: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "format": "ts",
            "equal_length": self.equal_length,
            "shapes": {key: list(value.shape) for key, value in self.arrays.items()},
            "classes": sorted(set(self.arrays["y_train"].tolist())),
            "sha256": dict(self.hashes),
        }


@dataclass(frozen=True)
class _Split:
    series: list[np.ndarray]   # each float32 (length, channels)
    labels: np.ndarray         # str (N,)


def read_ts(path: Path) -> TsData:
    """A NAME_TRAIN.ts or NAME_TEST.ts file (its sibling split found by name), or a folder holding exactly
    one such pair, as TsData. Any bad input raises DataError with one line naming the file."""
    name, files = _pair(Path(path))
    loader = _loader()
    splits = {split: _read_split(files[split], loader) for split in SPLITS}
    train, test = splits["train"], splits["test"]
    channels = {split: s.series[0].shape[1] for split, s in splits.items()}
    if channels["train"] != channels["test"]:
        raise DataError(f"{shown(files['test'])} has {channels['test']} channel(s) but {shown(files['train'].name)}"
                        f" has {channels['train']}")
    unseen = sorted(set(test.labels.tolist()) - set(train.labels.tolist()))
    if unseen:
        raise DataError(f"{shown(files['test'])}: label(s) {', '.join(map(repr, unseen))} not in the training"
                        f" split {shown(files['train'].name)}")
    lengths = {split: np.array([len(x) for x in s.series], dtype=np.int64) for split, s in splits.items()}
    longest = max(int(v.max()) for v in lengths.values())
    equal = all(bool((v == longest).all()) for v in lengths.values())
    arrays: dict[str, np.ndarray] = {}
    for split, s in splits.items():
        x = np.zeros((len(s.series), longest, channels["train"]), dtype=np.float32)
        for row, series in zip(x, s.series):
            row[: len(series)] = series
        arrays[f"x_{split}"] = x
        arrays[f"y_{split}"] = s.labels
    if not equal:
        arrays.update({f"lengths_{split}": v for split, v in lengths.items()})
    hashes = {files[split].name: sha256_file(files[split]) for split in SPLITS}
    return TsData(name=name, arrays=arrays, hashes=hashes, equal_length=equal)


def shipped_ts(name: str) -> Path:
    """The NAME_TRAIN.ts of a problem that the installed sktime ships in its wheel (no download)."""
    folder = _shipped_folder()
    if name not in SHIPPED:
        raise DataError(f"no shipped .ts problem named {shown(name)}; available: {', '.join(SHIPPED)}")
    path = folder / name / f"{name}{SPLITS['train']}"
    if not path.is_file():
        present = [n for n in SHIPPED if (folder / n / f"{n}{SPLITS['train']}").is_file()]
        raise DataError(f"the installed {LIBRARY} does not ship {shown(name)} (looked for {shown(path)});"
                        f" available: {', '.join(present) or 'none'}")
    return path


def _shipped_folder() -> Path:
    spec = importlib.util.find_spec(LIBRARY)   # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the shipped .ts problems ({', '.join(SHIPPED)}) come with {LIBRARY}, which is not"
                        f" installed: {EXTRA_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _pair(path: Path) -> tuple[str, dict[str, Path]]:
    """(NAME, {split: file}) for a file of a pair or a folder holding one pair."""
    if path.is_dir():
        names = sorted(p.name[: -len(SPLITS["train"])] for p in path.glob(f"*{SPLITS['train']}"))
        pairs = [n for n in names if n and (path / f"{n}{SPLITS['test']}").is_file()]
        if not pairs:
            raise DataError(f"{shown(path)} holds no NAME_TRAIN.ts + NAME_TEST.ts pair")
        if len(pairs) > 1:
            raise DataError(f"{shown(path)} holds {len(pairs)} .ts pairs ({', '.join(pairs)}): name one file,"
                            f" e.g. {shown(path / (pairs[0] + SPLITS['train']))}")
        name = pairs[0]
        return name, {split: path / f"{name}{suffix}" for split, suffix in SPLITS.items()}
    if not path.exists():
        raise DataError(f".ts file not found: {shown(path)}")
    given = next((split for split, suffix in SPLITS.items() if path.name.endswith(suffix)), None)
    name = path.name[: -len(SPLITS[given])] if given else ""
    if not name:
        raise DataError(f"{shown(path)} is not named NAME_TRAIN.ts or NAME_TEST.ts")
    files = {split: path.with_name(f"{name}{suffix}") for split, suffix in SPLITS.items()}
    other = "test" if given == "train" else "train"
    if not files[other].is_file():
        raise DataError(f"{shown(files[other].name)} not found beside {shown(path)}")
    return name, files


def _loader():
    try:
        from sktime.datasets import load_from_tsfile
    except ImportError as err:
        raise DataError(f"reading .ts files needs {LIBRARY}, which is not installed: {EXTRA_HINT}") from err
    return load_from_tsfile


def _header(path: Path) -> dict[str, list[str]]:
    """The header's tags as spelled in the file (sktime lower-cases every line, class labels too: the @classLabel
    line gives them back their case). An empty split is told here: nothing but blank lines after @data."""
    tags: dict[str, list[str]] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                tokens = line.split()
                if not tokens or not tokens[0].startswith("@"):
                    continue
                key = tokens[0][1:].lower()
                if key == "data":
                    if not any(rest.strip() for rest in handle):
                        raise DataError(f"{shown(path)} holds no series (nothing after @data)")
                    return tags
                tags[key] = tokens[1:]
    except UnicodeDecodeError as err:
        raise DataError(f"{shown(path)} is not a text .ts file ({first_line(err)})") from err
    except OSError as err:
        raise DataError(f"cannot read {shown(path)}: {err.strerror or first_line(err)}") from err
    raise DataError(f"{shown(path)} is not a .ts file: no @data line")


def _flag(tags: dict[str, list[str]], key: str) -> bool:
    return bool(tags.get(key)) and tags[key][0].lower() == "true"


def _read_split(path: Path, loader) -> _Split:
    tags = _header(path)
    if _flag(tags, "targetlabel"):
        raise DataError(f"{shown(path)} is a regression problem (@targetLabel true), not classification")
    if not _flag(tags, "classlabel") or len(tags["classlabel"]) < 2:
        raise DataError(f"{shown(path)} declares no class labels (needs '@classLabel true LABEL ...')")
    if _flag(tags, "timestamps"):
        raise DataError(f"{shown(path)} has time stamps (@timeStamps true): only evenly sampled series are read")
    declared = tags["classlabel"][1:]
    spelled = {label.lower(): label for label in declared}
    if len(spelled) < len(set(declared)):
        raise DataError(f"{shown(path)}: class labels that differ only in case ({' '.join(declared)})"
                        f" cannot be told apart")
    try:
        frame, labels = loader(str(path), return_data_type="nested_univ", y_dtype="str")
    except PARSE_ERRORS as err:
        raise DataError(f"{shown(path)} is not a readable .ts file: {shown(first_line(err))}") from err
    series = []
    for case in range(len(frame)):
        channels = [np.asarray(frame.iat[case, c], dtype=np.float64) for c in range(frame.shape[1])]
        lengths = {len(ch) for ch in channels}
        if len(lengths) > 1:
            raise DataError(f"{shown(path)}: series {case + 1} has channels of different lengths"
                            f" ({', '.join(map(str, sorted(lengths)))})")
        if 0 in lengths:
            raise DataError(f"{shown(path)}: series {case + 1} has length 0")
        stacked = np.stack(channels, axis=1)
        if np.isnan(stacked).any():
            raise DataError(f"{shown(path)}: series {case + 1} has missing values ('?' or NaN)")
        with np.errstate(over="ignore"):
            values = stacked.astype(np.float32)
        if not np.isfinite(values).all():
            raise DataError(f"{shown(path)}: series {case + 1} has a value that is infinite or beyond float32")
        series.append(values)
    undeclared = sorted(set(labels.tolist()) - set(spelled))
    if undeclared:
        raise DataError(f"{shown(path)}: label(s) {', '.join(map(repr, undeclared))} not declared on its"
                        f" @classLabel line")
    return _Split(series=series, labels=np.array([spelled[label] for label in labels.tolist()], dtype=str))
