"""edgeseq.ts_format: .ts files the tests write (equal and unequal length, multivariate and univariate, every bad
input) and the real problems sktime ships in its wheel (BasicMotions, JapaneseVowels, ...)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from edgeseq import ts_format
from edgeseq.core.errors import DataError
from edgeseq.core.fileio import sha256_file
from edgeseq.ts_format import SHIPPED, read_ts, shipped_ts

needs_library = pytest.mark.skipif(ts_format.importlib.util.find_spec("sktime") is None,
                                   reason="sktime (the ts extra) is not installed")


def header(name: str = "P", *, labels: str = "Up down", univariate: bool = False, equal: bool = True,
           extra: str = "") -> str:
    return (f"# a problem written by the test\n@problemName {name}\n@timeStamps false\n@missing false\n"
            f"@univariate {str(univariate).lower()}\n@equalLength {str(equal).lower()}\n{extra}"
            f"@classLabel true {labels}\n@data\n")


def case(label: str, *channels: list[float]) -> str:
    return ":".join(",".join(repr(v) if isinstance(v, float) else str(v) for v in ch) for ch in channels) + f":{label}"


def write_pair(folder: Path, name: str, train: list[str], test: list[str], **head) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, rows in (("_TRAIN.ts", train), ("_TEST.ts", test)):
        (folder / f"{name}{suffix}").write_text(header(name, **head) + "".join(r + "\n" for r in rows))
    return folder / f"{name}_TRAIN.ts"


EQUAL_TRAIN = [case("Up", [1, 2, 3], [4, 5, 6]), case("down", [0.5, -1.5, 2.25], [7, 8, 9])]
EQUAL_TEST = [case("down", [3, 2, 1], [6, 5, 4])]


@needs_library
def test_equal_length_multivariate(tmp_path):
    train = write_pair(tmp_path, "Motion", EQUAL_TRAIN, EQUAL_TEST)
    data = read_ts(train)
    a = data.arrays
    assert data.name == "Motion" and data.equal_length
    assert set(a) == {"x_train", "y_train", "x_test", "y_test"}
    assert a["x_train"].dtype == np.float32 and a["x_train"].shape == (2, 3, 2) and a["x_test"].shape == (1, 3, 2)
    # (N, T, F): the first channel of the first series is column 0, read along time
    assert a["x_train"][0, :, 0].tolist() == [1, 2, 3] and a["x_train"][0, :, 1].tolist() == [4, 5, 6]
    assert a["x_train"][1, :, 0].tolist() == [0.5, -1.5, 2.25]
    assert a["y_train"].dtype.kind == "U" and a["y_train"].tolist() == ["Up", "down"]   # the file's spelling
    assert a["y_test"].tolist() == ["down"]
    assert data.hashes == {"Motion_TRAIN.ts": sha256_file(train),
                           "Motion_TEST.ts": sha256_file(tmp_path / "Motion_TEST.ts")}
    assert data.to_dict()["classes"] == ["Up", "down"]
    # the same pair through its test file, and through its folder
    for other in (tmp_path / "Motion_TEST.ts", tmp_path):
        again = read_ts(other)
        assert again.name == "Motion" and again.hashes == data.hashes
        assert all(np.array_equal(again.arrays[k], v) for k, v in a.items())


@needs_library
def test_unequal_length_is_zero_filled_after_each_series(tmp_path):
    train = [case("Up", [1, 2], [3, 4]), case("down", [1, 2, 3, 4, 5], [6, 7, 8, 9, 10])]
    test = [case("Up", [9, 9, 9], [8, 8, 8])]
    data = read_ts(write_pair(tmp_path, "Var", train, test, equal=False))
    a = data.arrays
    assert not data.equal_length
    assert set(a) == {"x_train", "y_train", "x_test", "y_test", "lengths_train", "lengths_test"}
    assert a["lengths_train"].tolist() == [2, 5] and a["lengths_test"].tolist() == [3]
    assert a["x_train"].shape == (2, 5, 2) and a["x_test"].shape == (1, 5, 2)    # T: the longest of both splits
    assert a["x_train"][0].tolist() == [[1, 3], [2, 4], [0, 0], [0, 0], [0, 0]]
    assert a["x_test"][0].tolist() == [[9, 8], [9, 8], [9, 8], [0, 0], [0, 0]]


@needs_library
def test_equal_within_each_split_but_not_across_them_is_unequal(tmp_path):
    data = read_ts(write_pair(tmp_path, "Two", [case("Up", [1, 2, 3, 4])], [case("Up", [5, 6])], univariate=True))
    assert not data.equal_length and data.arrays["x_test"][0, :, 0].tolist() == [5, 6, 0, 0]
    assert data.arrays["lengths_train"].tolist() == [4] and data.arrays["lengths_test"].tolist() == [2]


@needs_library
def test_univariate_has_one_channel(tmp_path):
    train = [case("1", [0.1, 0.2, 0.3, 0.4]), case("2", [1, 1, 1, 1]), case("1", [5, 4, 3, 2])]
    data = read_ts(write_pair(tmp_path, "Uni", train, [case("2", [0, 0, 0, 1])], labels="1 2", univariate=True))
    assert data.arrays["x_train"].shape == (3, 4, 1) and data.arrays["x_test"].shape == (1, 4, 1)
    assert np.allclose(data.arrays["x_train"][0, :, 0], [0.1, 0.2, 0.3, 0.4])
    assert data.arrays["y_train"].tolist() == ["1", "2", "1"]


def _bad_pair(tmp_path: Path, train: list[str], test: list[str], **head) -> Path:
    return write_pair(tmp_path, "Bad", train, test, **head)


GOOD = case("Up", [1, 2], [3, 4])
# id -> (how to make the input from tmp_path, a piece of the message, the file name the message names)
ERRORS = {
    "file missing": (lambda t: t / "Nope_TRAIN.ts", "not found", "Nope_TRAIN.ts"),
    "not a split's name": (lambda t: (t / "data.ts").write_text(header()) and t / "data.ts", "NAME_TRAIN.ts",
                           "data.ts"),
    "sibling missing": (lambda t: (t / "Solo_TRAIN.ts").write_text(header() + GOOD + "\n") and t / "Solo_TRAIN.ts",
                        "Solo_TEST.ts not found beside", "Solo_TRAIN.ts"),
    "folder without a pair": (lambda t: (t / "Solo_TEST.ts").write_text(header()) and t, "no NAME_TRAIN.ts", ""),
    "folder with two pairs": (lambda t: (write_pair(t, "A", [GOOD], [GOOD]), write_pair(t, "B", [GOOD], [GOOD]))
                              and t, "2 .ts pairs (A, B)", "A_TRAIN.ts"),
    "no @data line": (lambda t: write_pair(t, "Bad", [], []).write_text("just some text\n") and t / "Bad_TRAIN.ts",
                      "no @data line", "Bad_TRAIN.ts"),
    "not text": (lambda t: write_pair(t, "Bad", [], []).write_bytes(b"\xff\xfe\x00@data\n") and t / "Bad_TRAIN.ts",
                 "not a text .ts file", "Bad_TRAIN.ts"),
    "unparseable number": (lambda t: _bad_pair(t, [GOOD, "1,x:3,4:Up"], [GOOD]), "not a readable .ts file",
                           "Bad_TRAIN.ts"),
    "too many channels in a case": (lambda t: _bad_pair(t, [GOOD, "1,2:3,4:5,6:Up"], [GOOD]),
                                    "not a readable .ts file", "Bad_TRAIN.ts"),
    "missing value '?'": (lambda t: _bad_pair(t, [GOOD], [GOOD, "1,?:3,4:down"]), "missing values", "Bad_TEST.ts"),
    "NaN": (lambda t: _bad_pair(t, ["1,NaN:3,4:Up"], [GOOD]), "missing values", "Bad_TRAIN.ts"),
    "beyond float32": (lambda t: _bad_pair(t, ["1,1e300:3,4:Up"], [GOOD]), "beyond float32", "Bad_TRAIN.ts"),
    "channels differ between splits": (lambda t: write_pair(t, "Bad", [GOOD], []) and (
        (t / "Bad_TEST.ts").write_text(header("Bad") + "1,2:3,4:5,6:Up\n")) and t / "Bad_TRAIN.ts",
        "3 channel(s) but Bad_TRAIN.ts has 2", "Bad_TEST.ts"),
    "empty split": (lambda t: _bad_pair(t, [GOOD], []), "holds no series", "Bad_TEST.ts"),
    "test label not in training": (lambda t: _bad_pair(t, [GOOD], [case("down", [1, 2], [3, 4])]),
                                   "'down' not in the training split", "Bad_TEST.ts"),
    "label not declared": (lambda t: _bad_pair(t, [GOOD, case("Left", [1, 2], [3, 4])], [GOOD]),
                           "'left' not declared", "Bad_TRAIN.ts"),
    "labels differing only in case": (lambda t: _bad_pair(t, [GOOD], [GOOD], labels="Up up"), "only in case",
                                      "Bad_TRAIN.ts"),
    "series of length 0": (lambda t: _bad_pair(t, ["1,2:Up", ":Up"], ["1,2:Up"], univariate=True, equal=False),
                           "length 0", "Bad_TRAIN.ts"),
    "channels of one case differ in length": (lambda t: _bad_pair(t, [GOOD, "1,2,3:4,5:Up"], [GOOD], equal=False),
                                              "channels of different lengths (2, 3)", "Bad_TRAIN.ts"),
    "regression targets": (lambda t: write_pair(t, "Bad", [], []) and (t / "Bad_TRAIN.ts").write_text(
        "@problemName Bad\n@targetLabel true\n@data\n1,2:0.5\n") and t / "Bad_TRAIN.ts", "regression",
        "Bad_TRAIN.ts"),
    "time stamps": (lambda t: _bad_pair(t, ["(0,1),(1,2):Up"], [GOOD], extra="@timeStamps true\n"), "time stamps",
                    "Bad_TRAIN.ts"),
}


@needs_library
@pytest.mark.parametrize("make, words, names", list(ERRORS.values()), ids=list(ERRORS))
def test_bad_input_is_one_line_naming_the_file(tmp_path, make, words, names):
    path = make(tmp_path)
    with pytest.raises(DataError) as caught:
        read_ts(path)
    message = str(caught.value)
    assert "\n" not in message
    assert words in message and names in message


def test_library_missing_names_the_extra(tmp_path, monkeypatch):
    path = write_pair(tmp_path, "P", EQUAL_TRAIN, EQUAL_TEST)
    monkeypatch.setitem(sys.modules, "sktime", None)          # `import sktime...` now raises ImportError
    monkeypatch.setitem(sys.modules, "sktime.datasets", None)
    with pytest.raises(DataError, match=r"pip install 'edgeseq\[ts\]'"):
        read_ts(path)
    monkeypatch.setattr(ts_format, "LIBRARY", "edgeseq_no_such_library")
    with pytest.raises(DataError, match=r"BasicMotions.*pip install 'edgeseq\[ts\]'"):
        shipped_ts("BasicMotions")


@needs_library
def test_unknown_shipped_name_lists_the_available():
    with pytest.raises(DataError, match="available: ACSF1, ArrowHead, BasicMotions"):
        shipped_ts("MNIST")


@needs_library
@pytest.mark.parametrize("name", SHIPPED)
def test_every_listed_problem_is_shipped_and_reads(name):
    path = shipped_ts(name)
    assert path.name == f"{name}_TRAIN.ts" and (path.parent / f"{name}_TEST.ts").is_file()
    data = read_ts(path)
    assert data.name == name and len(data.arrays["y_train"]) > 0 and len(data.arrays["y_test"]) > 0


@needs_library
def test_basic_motions():
    data = read_ts(shipped_ts("BasicMotions"))
    a = data.arrays
    assert data.equal_length and set(a) == {"x_train", "y_train", "x_test", "y_test"}
    assert a["x_train"].shape == (40, 100, 6) and a["x_test"].shape == (40, 100, 6)
    assert sorted(set(a["y_train"].tolist())) == ["Badminton", "Running", "Standing", "Walking"]
    assert np.unique(a["y_test"], return_counts=True)[1].tolist() == [10, 10, 10, 10]


def _first_case(path: Path) -> tuple[list[list[float]], str]:
    """The first series of a .ts file read by hand (channels x steps) and its label: what the layout must keep."""
    lines = path.read_text().splitlines()
    first = lines[next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1]
    *channels, label = first.strip().split(":")
    return [[float(v) for v in ch.split(",")] for ch in channels], label


@needs_library
def test_japanese_vowels_unequal_lengths_recorded_and_zero_filled():
    path = shipped_ts("JapaneseVowels")
    data = read_ts(path)
    a = data.arrays
    assert not data.equal_length
    assert a["x_train"].shape == (270, 29, 12) and a["x_test"].shape == (370, 29, 12)
    assert len(set(a["y_train"].tolist())) == 9
    for split in ("train", "test"):
        lengths, x = a[f"lengths_{split}"], a[f"x_{split}"]
        assert lengths.min() >= 7 and lengths.max() <= 29 and len(set(lengths.tolist())) > 1
        for row, n in zip(x, lengths):
            assert not row[n:].any()                      # zeros after the series
            assert row[n - 1].any()                        # its last step is data (no step of all zeros here)
    channels, label = _first_case(path)
    n = a["lengths_train"][0]
    assert n == len(channels[0]) and a["y_train"][0] == label
    assert np.allclose(a["x_train"][0, :n, :], np.array(channels, dtype=np.float32).T)


VALID = header("Fuzz", equal=False) + "".join(r + "\n" for r in EQUAL_TRAIN + [case("Up", [1, 2], [3, 4])])


@needs_library
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID)), st.integers(0, 3),
                                st.text(alphabet=",:?@.-eE\n\r\t 0123456789nNaAUpdowrTRUEtrue#()", max_size=8)),
                      min_size=1, max_size=5))
def test_any_edit_of_a_file_reads_or_raises_data_error(tmp_path, edits):
    text = VALID
    for at, cut, chunk in edits:
        text = text[:at] + chunk + text[at + cut:]
    (tmp_path / "Fuzz_TRAIN.ts").write_text(text)
    (tmp_path / "Fuzz_TEST.ts").write_text(VALID)
    try:
        data = read_ts(tmp_path / "Fuzz_TRAIN.ts")
    except DataError as err:
        assert "\n" not in str(err) and "Fuzz_T" in str(err)
    else:
        for split in ("train", "test"):
            x = data.arrays[f"x_{split}"]
            assert x.dtype == np.float32 and np.isfinite(x).all() and len(x) == len(data.arrays[f"y_{split}"])
