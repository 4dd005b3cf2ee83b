"""The data contract as code (edgeseq.appkit.preprocess): the JavaScript a pack carries computes exactly what
edgeseq's Python computes, on 100 raw inputs of MNIST's contract, of a standardised variable-length one and of
JapaneseVowels (real non-MNIST data); Python's
own rule is the data loader's; bad raw input is refused in both."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from edgeseq import data
from edgeseq.appkit import preprocess
from edgeseq.appkit.projects import KOTLIN_DIR
from edgeseq.core.errors import DataError
from edgeseq.data.spec import DataSpec, Normalisation, NormKind

from conftest import REPO
from js_env import absent

STANDARDISED = DataSpec(12, 3, ("a", "b", "c"), Normalisation(NormKind.STANDARDISE, (0.25, -3.5, 1e3),
                                                              (0.1, 2.0, 37.5)), variable_length=True)
RUNNER = """import {readFileSync} from 'node:fs';
const module = await import(process.argv[2]);
const raws = JSON.parse(readFileSync(process.argv[3], 'utf8'));
console.log(JSON.stringify(raws.map((rows) => Array.from(module.prepare(rows)))));
"""


def _raw_inputs(spec: DataSpec, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        length = int(rng.integers(1, spec.timesteps + 1)) if spec.variable_length else spec.timesteps
        if spec.normalisation.kind == NormKind.PIXELS:
            out.append(rng.integers(0, 256, (length, spec.features)).astype(np.uint8))
        else:
            out.append(rng.normal(np.asarray(spec.normalisation.mean), np.asarray(spec.normalisation.std) * 3,
                                  (length, spec.features)))
    return out


def contract_and_raws(spec_name: str, sample, count: int = 100) -> tuple[DataSpec, list[np.ndarray]]:
    """A data contract and `count` raw inputs for it: MNIST's (random pixels), a standardised variable-length one
    (random values), or JapaneseVowels' real contract with its first test sequences' own rows, un-normalised (real
    non-MNIST data: the `ts` extra's sktime ships the set)."""
    if spec_name == "japanese-vowels":
        vowels = data.load("uea:JapaneseVowels")
        spec, norm = vowels.spec, vowels.spec.normalisation
        raws = [vowels.x_test[n, spec.timesteps - int(vowels.lengths_test[n]):].astype(np.float64)
                * np.asarray(norm.std) + np.asarray(norm.mean) for n in range(count)]
        return spec, raws
    spec = sample.spec if spec_name == "mnist" else STANDARDISED
    return spec, _raw_inputs(spec, count, np.random.default_rng(7))


def test_python_prepare_is_what_the_data_loader_computes(sample):
    mnist = sample
    raw = np.round(mnist.x_test[0] * 255).astype(np.uint8)          # the sample's digits are uint8 / 255
    assert np.array_equal(preprocess.prepare(raw, mnist.spec), mnist.x_test[0])
    short = np.array([[0.35, -3.5, 1000.0], [0.25, 0.5, 962.5]])
    prepared = preprocess.prepare(short, STANDARDISED)
    assert prepared.shape == (12, 3) and not prepared[:10].any()                  # left-padded with zero rows
    assert np.allclose(prepared[10:], [[1.0, 0.0, 0.0], [0.0, 2.0, -1.0]])


@pytest.mark.parametrize("spec_name", ["mnist", "standardised", "japanese-vowels"])
def test_the_javascript_computes_exactly_what_python_computes(tmp_path, spec_name, sample):
    if shutil.which("node") is None:
        absent("node is not installed (apt install nodejs)")
    spec, raws = contract_and_raws(spec_name, sample)
    (tmp_path / "preprocess.mjs").write_text(preprocess.javascript(spec))
    (tmp_path / "raw.json").write_text(json.dumps([r.tolist() for r in raws]))
    (tmp_path / "run.mjs").write_text(RUNNER)
    done = subprocess.run(["node", "run.mjs", "./preprocess.mjs", "raw.json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    got = np.asarray(json.loads(done.stdout), np.float32).reshape(100, spec.timesteps, spec.features)
    want = np.stack([preprocess.prepare(r, spec) for r in raws])
    assert np.array_equal(got, want), float(np.abs(got - want).max())              # max diff 0 on all 100


def test_bad_raw_input_is_refused():
    with pytest.raises(DataError, match="1 to 12 rows: got 13"):
        preprocess.prepare(np.zeros((13, 3)), STANDARDISED)
    with pytest.raises(DataError, match=r"\(L, 3\)"):
        preprocess.prepare(np.zeros((5, 2)), STANDARDISED)
    with pytest.raises(DataError, match="exactly 28 rows: got 27"):
        preprocess.prepare(np.zeros((27, 28)), data.load("sample").spec)


def test_pack_carries_the_contract_in_every_language(tmp_path):
    from edgeseq.appkit.pack import pack

    pack(REPO / "models" / "rnn" / "rnn-fp32-step.onnx", tmp_path / "out")
    js = (tmp_path / "out" / "js" / "preprocess.mjs").read_text()
    assert "export function prepare(rows)" in js and "export const TIMESTEPS = 28;" in js
    kotlin = tmp_path / "out" / KOTLIN_DIR / "Preprocess.kt"
    assert "fun prepare(rows: Array<FloatArray>): FloatArray" in kotlin.read_text()
    assert "public static func prepare(_ rows: [[Float]]) throws -> [Float]" in \
        (tmp_path / "out" / "ios" / "Sources" / "EdgeseqCore" / "Preprocess.swift").read_text()
