"""Every option and argument of every command has at least one bad-input case here (issue 25): a new option
without one fails `test_every_option_has_a_bad_input_case`, so each command or option gets its bad inputs when
it is added. Flags (`--json`, `--no-verify`, ...) take no value and need none.

Each case fails before any work (Click's CliRunner, in this process): a non-zero exit, one `Error` line last
on stderr naming the problem, no traceback, and nothing written anywhere under the test's folder. The bad
value is given first on the command line, so that it is the first thing Click checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, invoke_cli

MODELS = REPO / "models"
RNN = MODELS / "rnn"
STEP = str(RNN / "rnn-dynamic-step.tflite")
STEP_ONNX = str(RNN / "rnn-fp32-step.onnx")
RESULTS = str(REPO / "tests" / "golden" / "report_results")

# (command, option or argument name) -> [(arguments, what the error line says)]; {tmp} is the test's folder,
# {file} a regular file in it. Arguments are named as Click names them (PATHS, FILE, RESULTS, DEVICE_RESULTS).
CORPUS: dict[tuple[str, str], list[tuple[list[str], str]]] = {
    # bench
    ("bench", "PATHS"): [(["{tmp}/nowhere"], "not found")],
    ("bench", "--runtime"): [(["--runtime", "tensorrt", str(RNN)], "tensorrt")],
    ("bench", "--tflite-backend"): [(["--tflite-backend", "gpu", str(RNN)], "'gpu' is not one of")],
    ("bench", "--kernels"): [(["--kernels", "gpu", str(RNN)], "unknown kernel setting 'gpu'"),
                             (["--tflite-kernels", "builtin", "--scaling", str(RNN)],
                              "--kernels does not go with --scaling")],
    ("bench", "--threads"): [(["--threads", "0", str(RNN)], "positive"), (["--threads", "257", str(RNN)], "256")],
    ("bench", "--batch"): [(["--batch", "1001", str(RNN)], "1,000 test digits"), (["--batch", "x", str(RNN)], "integer")],
    ("bench", "--warmup"): [(["--warmup", "-1", str(RNN)], "-1")],
    ("bench", "--min-runs"): [(["--min-runs", "0", str(RNN)], "positive"),
                              (["--min-runs", "1000001", str(RNN)], "1,000,000")],
    ("bench", "--min-seconds"): [(["--min-seconds", "nan", str(RNN)], "not a finite number")],
    ("bench", "--device"): [(["--device", "a\nb", str(RNN)], "control character"),
                            (["--device", " ", str(RNN)], "must not be empty")],
    ("bench", "--device-name"): [(["--device-name", "a\nb", str(RNN)], "control character"),
                                 (["--device-name", " ", str(RNN)], "must not be empty")],
    ("bench", "--csv"): [(["--csv", "{tmp}/bench.txt", str(RNN)], "does not end in .csv")],
    ("bench", "--out"): [(["--out", "{file}", str(RNN)], "not a folder")],
    ("bench", "--host"): [(["--host", "-oProxyCommand=touch x", str(RNN)], "not an ssh destination")],
    ("bench", "--remote-python"): [(["--remote-python", "py", str(RNN)], "go with --host")],
    ("bench", "--ssh-config"): [(["--ssh-config", "{tmp}/nowhere", str(RNN)], "does not exist")],
    ("bench", "--lengths"): [(["--lengths", "28", str(RNN)], "goes with --scaling"),
                             (["--lengths", "0", "--scaling", str(RNN)], "sequence length")],
    ("bench", "--plot"): [(["--plot", "{tmp}/x.png", str(RNN)], "goes with --scaling")],
    # demo
    ("demo", "FILES"): [(["--out", "{tmp}/out", "{tmp}/nowhere-step.onnx"], "does not exist"),
                        (["--out", "{tmp}/out", STEP], "runs .onnx step models")],
    ("demo", "--out"): [(["--out", "{file}", STEP_ONNX], "is a file"), ([STEP_ONNX], "Missing option '--out'")],
    ("demo", "--node-modules"): [(["--node-modules", "{tmp}/nowhere", "--out", "{tmp}/out", STEP_ONNX],
                                  "does not exist"),
                                 (["--node-modules", "{tmp}", "--out", "{tmp}/out", STEP_ONNX],
                                  "onnxruntime-web not found")],
    # drift
    ("drift", "FILE"): [(["{tmp}/nowhere.tflite"], "file not found")],
    ("drift", "--reference"): [(["--reference", "{tmp}/nowhere.tflite", STEP], "does not exist")],
    ("drift", "--data"): [(["--data", "{tmp}/nowhere", STEP], "not found")],
    ("drift", "--stream"): [(["--stream", "0", STEP], "1<=x"), (["--stream", "x", STEP], "not a valid integer")],
    ("drift", "--limit"): [(["--limit", "0", STEP], "positive")],
    ("drift", "--plot"): [(["--plot", "{tmp}/drift.jpg", STEP], "does not end in .png")],
    ("drift", "--threads"): [(["--threads", "1000", STEP], "256")],
    ("drift", "--tflite-backend"): [(["--tflite-backend", "gpu", STEP], "'gpu' is not one of")],
    # export
    ("export", "--model"): [(["--model", "gru"], "unknown model 'gru'")],
    ("export", "--keras"): [(["--keras", "{tmp}/nowhere.keras"], "does not exist"),
                            (["--keras", "{file}"], "takes a .keras file"),
                            (["--keras", "{file}", "--model", "rnn"], "--model do not go with it")],
    ("export", "--format"): [(["--format", "coreml"], "'coreml' is not one of")],
    ("export", "--quant"): [(["--quant", "int4"], "unknown recipe 'int4'")],
    ("export", "--graph"): [(["--graph", "spiral"], "'spiral' is not one of"),
                            (["--graph", "auto", "--max-loss-pp", "1"], "graph candidates only")],
    ("export", "--pick-from"): [(["--pick-from", "{tmp}/nowhere.json"], "does not exist"),
                                (["--pick-from", "{file}", "--out", "{tmp}/out"], "not valid JSON")],
    ("export", "--device"): [(["--device", "pi"], "goes with --pick-from"),
                             (["--device", "a\tb", "--pick-from", "{file}"], "control character")],
    ("export", "--from"): [(["--from", "{tmp}/nowhere", "--out", "{tmp}/out"], "no trained")],
    ("export", "--out"): [(["--out", "{file}"], "not a folder")],
    ("export", "--calibration-size"): [(["--calibration-size", "0"], "positive")],
    ("export", "--calibration-seed"): [(["--calibration-seed", "-1"], "0<=x<=4294967295")],
    ("export", "--data"): [(["--data", "{tmp}/nowhere", "--from", str(MODELS), "--model", "rnn", "--format", "tflite",
                             "--quant", "int8", "--out", "{tmp}/out"], "data path not found")],
    ("export", "--max-loss-pp"): [(["--max-loss-pp", "nan"], "not a finite number"),
                                  (["--max-loss-pp", "-1"], "0<=x<=100")],
    ("export", "--search-seconds"): [(["--search-seconds", "inf"], "not a finite number")],
    # inspect
    ("inspect", "FILE"): [(["{tmp}/nowhere.tflite"], "does not exist")],
    # pack
    ("pack", "FILE"): [(["{tmp}/nowhere.onnx", "--out", "{tmp}/out"], "does not exist"),
                       (["{file}", "--out", "{tmp}/out"], "unknown file type")],
    ("pack", "--target"): [(["--target", "esp32", STEP_ONNX, "--out", "{tmp}/out"], "'esp32' is not one of")],
    ("ethos", "FILE"): [(["{tmp}/nowhere.tflite"], "does not exist"),
                        (["{file}"], "Vela compiles TFLite files")],
    ("ethos", "--accelerator"): [(["--accelerator", "u99", STEP], "unknown accelerator 'u99'")],
    ("ethos", "--out"): [(["--out", "{file}", STEP], "is not a folder")],
    ("pack", "--out"): [(["--out", "{file}", STEP_ONNX], "is a file"),
                        (["--out", "{tmp}", STEP_ONNX], "is not empty"),
                        ([STEP_ONNX], "pack takes FILE and --out DIR")],
    ("pack", "--bench"): [(["--bench", "{tmp}/nowhere.json", STEP_ONNX, "--out", "{tmp}/out"], "does not exist"),
                          (["--bench", "{file}", STEP_ONNX, "--out", "{tmp}/out"], "not valid JSON"),
                          (["--bench", "{file}", "--target", "tflm", STEP_ONNX, "--out", "{tmp}/out"],
                           "--bench is for --target app")],
    ("pack", "--check"): [(["--check", "{tmp}/nowhere"], "not a folder"),
                          (["--check", "{tmp}"], "not a packed bundle"),
                          (["--check", "{tmp}", STEP_ONNX], "takes neither FILE nor --out")],
    # quant-debug
    ("quant-debug", "FILE"): [(["{tmp}/nowhere.tflite"], "does not exist")],
    ("quant-debug", "--reference"): [(["--reference", "{tmp}/nowhere.tflite", str(RNN / "rnn-int8.tflite")],
                                      "does not exist")],
    ("quant-debug", "--data"): [(["--data", "{tmp}/nowhere", str(RNN / "rnn-int8.tflite")], "not found")],
    ("quant-debug", "--limit"): [(["--limit", "0", str(RNN / "rnn-int8.tflite")], "positive")],
    ("quant-debug", "--plot"): [(["--plot", "{tmp}/q.txt", str(RNN / "rnn-int8.tflite")], "does not end in .png")],
    # report
    ("report", "RESULTS"): [(["{tmp}/nowhere"], "results folder not found")],
    ("report", "DEVICE_RESULTS"): [([RESULTS, "{tmp}/nowhere", "--out", "{tmp}/out"], "does not exist")],
    ("report", "--out"): [(["--out", "{file}", RESULTS], "not a folder")],
    ("report", "--max-latency-us"): [(["--max-latency-us", "nan", RESULTS], "not a finite number"),
                                     (["--max-latency-us", "0", RESULTS], "x>0")],
    ("report", "--max-size-kb"): [(["--max-size-kb", "-inf", RESULTS], "not a finite number")],
    ("report", "--min-accuracy"): [(["--min-accuracy", "97", RESULTS], "0<=x<=1")],
    ("report", "--ram"): [(["--ram", "256KB", RESULTS], "not a size in bytes"), (["--ram", "0", RESULTS], "positive"),
                          (["--ram", "5000M", RESULTS], "32-bit")],
    ("report", "--flash"): [(["--flash", "1.5", RESULTS], "not a size in bytes"),
                            (["--flash", "-1M", RESULTS], "not a size in bytes")],
    # run
    ("run", "--data"): [(["--data", "{tmp}/nowhere", "--out", "{tmp}/out"], "data path not found")],
    ("run", "--keras"): [(["--keras", "{tmp}/nowhere.keras"], "does not exist"),
                         (["--keras", "{file}"], "takes a .keras file")],
    ("run", "--epochs"): [(["--epochs", "0"], "positive")],
    ("run", "--seed"): [(["--seed", "-1"], "0<=x<=4294967295")],
    ("run", "--threads"): [(["--threads", "1,2"], "one thread count")],
    ("run", "--out"): [(["--out", "{file}"], "not a folder")],
    ("run", "--max-loss-pp"): [(["--max-loss-pp", "inf"], "not a finite number")],
    # sweep
    ("sweep", "--variants"): [(["--variants", "rnn,lstm-7x9-soft"], "expected <cell>-<units>x<layers>-<activation>")],
    ("sweep", "--data"): [(["--data", "{tmp}/nowhere", "--out", "{tmp}/out"], "data path not found")],
    ("sweep", "--epochs"): [(["--epochs", "0"], "positive")],
    ("sweep", "--seed"): [(["--seed", "4294967296"], "0<=x<=4294967295")],
    ("sweep", "--limit-train"): [(["--limit-train", "0"], "positive")],
    ("sweep", "--limit-test"): [(["--limit-test", "10000001"], "10,000,000")],
    ("sweep", "--limit"): [(["--limit", "10000001"], "10,000,000")],
    ("sweep", "--quant"): [(["--quant", "int4", "--out", "{tmp}/out"], "unknown recipe 'int4'")],
    ("sweep", "--calibration-size"): [(["--calibration-size", "0"], "positive")],
    ("sweep", "--workers"): [(["--workers", "0"], "positive"), (["--workers", "257"], "256")],
    ("sweep", "--ray"): [(["--ray", ""], "must not be empty")],
    ("sweep", "--min-accuracy"): [(["--min-accuracy", "97"], "0<x<=1"), (["--min-accuracy", "nan"], "not a finite")],
    ("sweep", "--bench-seconds"): [(["--bench-seconds", "nan"], "not a finite number")],
    ("sweep", "--out"): [(["--out", "{file}"], "not a folder")],
    # train
    ("train", "--model"): [(["--model", "gru"], "unknown model 'gru'")],
    ("train", "--epochs"): [(["--epochs", "0"], "positive")],
    ("train", "--seed"): [(["--seed", "99999999999"], "0<=x<=4294967295")],
    ("train", "--batch-size"): [(["--batch-size", "-1"], "positive")],
    ("train", "--data"): [(["--data", "{tmp}/nowhere", "--out", "{tmp}/out"], "data path not found")],
    ("train", "--limit-train"): [(["--limit-train", "0"], "positive")],
    ("train", "--limit-test"): [(["--limit-test", "0"], "positive")],
    ("train", "--limit"): [(["--limit", "0"], "positive")],
    ("train", "--out"): [(["--out", "{file}"], "not a folder")],
    # validate
    ("validate", "PATHS"): [(["{tmp}/nowhere"], "not found")],
    ("validate", "--reference"): [(["--reference", "{tmp}/nowhere.onnx", str(RNN)], "does not exist")],
    ("validate", "--data"): [(["--data", "{tmp}/nowhere", str(RNN)], "data path not found")],
    ("validate", "--limit"): [(["--limit", "0", str(RNN)], "positive")],
    ("validate", "--runtime"): [(["--runtime", "tensorrt", str(RNN)], "tensorrt")],
    ("validate", "--tflite-backend"): [(["--tflite-backend", "gpu", str(RNN)], "'gpu' is not one of")],
    ("validate", "--kernels"): [(["--kernels", "xnnpack,ref", str(RNN)], "unknown kernel setting 'ref'"),
                                (["--tflite-kernels", "builtin,builtin", str(RNN)], "given twice"),
                                (["--kernels", ",", str(RNN)], "expected xnnpack, builtin, reference")],
    ("validate", "--threads"): [(["--threads", "0", str(RNN)], "positive")],
    ("validate", "--max-abs-diff"): [(["--max-abs-diff", "nan", str(RNN)], "not a finite number")],
    ("validate", "--min-agreement"): [(["--min-agreement", "nan", str(RNN)], "not a finite number")],
    ("validate", "--min-delta-pp"): [(["--min-delta-pp", "nan", str(RNN)], "not a finite number")],
    ("validate", "--max-loss-pp"): [(["--max-loss-pp", "nan", str(RNN)], "not a finite number"),
                                    (["--max-loss-pp", "-1", str(RNN)], "-1")],
    ("validate", "--junit-xml"): [(["--junit-xml", "{tmp}/parity.txt", str(RNN)], "does not end in .xml"),
                                  (["--junit-xml", "{tmp}", str(RNN)], "is a directory"),
                                  (["--junit-xml", "{file}/parity.xml", str(RNN)], "not a folder")],
    # fuzz
    ("fuzz", "PATHS"): [(["{tmp}/nowhere"], "not found")],
    ("fuzz", "--count"): [(["--count", "0", str(RNN)], "positive"),
                          (["--count", "2000000", str(RNN)], "1,000,000")],
    ("fuzz", "--seed"): [(["--seed", "-1", str(RNN)], "-1")],
    ("fuzz", "--data"): [(["--data", "{tmp}/nowhere", str(RNN)], "data path not found")],
    ("fuzz", "--reference"): [(["--reference", "{tmp}/nowhere.onnx", str(RNN)], "does not exist")],
    ("fuzz", "--runtime"): [(["--runtime", "tensorrt", str(RNN)], "tensorrt")],
    ("fuzz", "--tflite-backend"): [(["--tflite-backend", "gpu", str(RNN)], "'gpu' is not one of")],
    ("fuzz", "--kernels"): [(["--kernels", "gpu", str(RNN)], "unknown kernel setting 'gpu'")],
    ("fuzz", "--threads"): [(["--threads", "0", str(RNN)], "positive")],
    ("fuzz", "--shrink"): [(["--shrink", "-1", str(RNN)], "-1")],
    ("fuzz", "--out"): [(["--out", "{file}", str(RNN)], "not a folder")],
    ("fuzz", "--min-agreement"): [(["--min-agreement", "nan", str(RNN)], "not a finite number")],
    ("fuzz", "--max-abs-diff"): [(["--max-abs-diff", "nan", str(RNN)], "not a finite number")],
    ("fuzz", "--min-pairwise-agreement"): [(["--min-pairwise-agreement", "2", str(RNN)], "2")],
    ("fuzz", "--replay"): [(["--replay", "{file}", STEP], "not an edgeseq fuzz reproducer"),
                           (["--replay", "{tmp}/nowhere.npz", STEP], "reproducer not found"),
                           (["--replay", "{file}", STEP, STEP_ONNX], "exactly one FILE")],
    ("fuzz", "--junit-xml"): [(["--junit-xml", "{tmp}/fuzz.txt", str(RNN)], "does not end in .xml")],
}

CASES = [(command, option, args, expect) for (command, option), cases in CORPUS.items() for args, expect in cases]


def cli_parameters() -> set[tuple[str, str]]:
    """(command, option) for every option that takes a value, and (command, ARGUMENT) for every argument."""
    import click

    from edgeseq.cli import cli

    found = set()
    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param, click.Argument):
                found.add((name, param.human_readable_name.strip(".").upper()))
            elif isinstance(param, click.Option) and not param.is_flag and "--help" not in param.opts:
                found.add((name, param.opts[0]))
    return found


def test_every_option_has_a_bad_input_case():
    missing = sorted(cli_parameters() - set(CORPUS))
    assert missing == [], f"options without a bad-input case in CORPUS: {missing}"
    assert sorted(set(CORPUS) - cli_parameters()) == []       # no case for an option that is gone


@pytest.mark.parametrize("command, option, args, expect", CASES,
                         ids=[f"{c}-{o}-{k}" for k, (c, o, *_) in enumerate(CASES)])
def test_bad_option_value_is_one_clean_error(tmp_path, command, option, args, expect):
    (tmp_path / "file").write_text("not a folder")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    argv = [a.format(tmp=tmp_path, file=tmp_path / "file") for a in args]
    done = invoke_cli(command, *argv, cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert lines and lines[-1].startswith("Error"), done.stderr
    assert expect in lines[-1], done.stderr
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before, "something was written"


def test_the_corpus_size():
    """The corpus grows with the CLI: at least one case per option and argument."""
    assert len(CASES) >= len(cli_parameters()) >= 80
    assert Path(__file__).name == "test_option_corpus.py"
