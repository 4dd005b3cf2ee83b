"""`edgeseq ethos` (edgeseq.appkit.ethos): committed files compiled by Vela for an Ethos-U NPU. Which of a file's
operators Vela places on the NPU and which it leaves for the CPU (by name, with its reason), its memory and time
figures, the compiled file with its ethos-u custom op and its sidecar written together; each bad input one line."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ethosu.vela", reason="Vela is not installed (pip install 'edgeseq[ethos]')")

from edgeseq.appkit.ethos import (  # noqa: E402
    ACCELERATORS, ETHOS_U_OP, SIDECAR_KIND, Accelerator, compile_for_ethos, compiled_path)
from edgeseq.core.errors import ModelError  # noqa: E402
from edgeseq.core.fileio import sha256_file  # noqa: E402
from edgeseq.core.tflite_schema import tflite_operator_names  # noqa: E402

from conftest import REPO, invoke_cli  # noqa: E402

MODELS = REPO / "models"
RNN_INT16X8 = MODELS / "rnn" / "rnn-int16x8.tflite"      # float32 I/O: QUANTIZE and DEQUANTIZE at its edges
RNN_STEP_APP = MODELS / "rnn" / "rnn-fp32-step-app.tflite"
BLOCK_VELA = ("import sys\nclass _Block:\n    def find_spec(self, name, *args):\n"
              "        if name.split('.')[0] == 'ethosu':\n            raise ImportError('blocked by the test')\n"
              "sys.meta_path.insert(0, _Block())\n")


def written(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_int16x8_runs_on_the_npu_but_its_float_edges(tmp_path):
    result = compile_for_ethos(RNN_INT16X8, "ethos-u55-128", tmp_path)
    compiled = Path(result.compiled)
    assert compiled == tmp_path / "rnn-int16x8-vela-ethos-u55-128.tflite"
    assert written(tmp_path) == {compiled.name, compiled.name + ".vela.json"}
    ops = tflite_operator_names(compiled.read_bytes())
    assert ops.count(ETHOS_U_OP) == result.ethos_u_ops == 1
    assert result.fallbacks == {"DEQUANTIZE": 1, "QUANTIZE": 1} and result.cpu_ops == 2
    assert result.npu_ops == len(tflite_operator_names(RNN_INT16X8.read_bytes())) - 2
    assert "Float32" in result.fallback_reasons["QUANTIZE"] and set(result.fallback_reasons) == set(result.fallbacks)
    assert result.sram_bytes > 0 and result.flash_bytes > 0 and result.dram_bytes == 0   # weights in flash
    assert result.macs > 0 and result.estimated_cycles > 0 and result.clock_hz == 500_000_000
    assert result.estimated_seconds == pytest.approx(result.estimated_cycles / result.clock_hz, rel=1e-3)
    assert "Vela's estimate" in result.estimate and "ethos-u" in result.runs_with and not result.warnings
    sidecar = json.loads(Path(result.sidecar).read_text())
    assert sidecar["kind"] == SIDECAR_KIND and sidecar["file"] == compiled.name
    assert sidecar["sha256"] == sha256_file(compiled) and sidecar["size_bytes"] == compiled.stat().st_size
    assert sidecar["source"] == {"name": RNN_INT16X8.name, "sha256": sha256_file(RNN_INT16X8)}
    assert sidecar["fallbacks"] == result.fallbacks and "not a manifest" in sidecar["why_not_a_manifest"]


def test_validate_and_bench_skip_a_compiled_file_in_a_folder(tmp_path):
    from edgeseq.artifacts import collect_files

    source = tmp_path / RNN_INT16X8.name
    source.write_bytes(RNN_INT16X8.read_bytes())
    compile_for_ethos(source, "ethos-u55-128")                              # beside its source
    assert collect_files([tmp_path], (".tflite", ".onnx")) == [source]


def test_a_compiled_file_is_not_compiled_again(tmp_path):
    first = compile_for_ethos(RNN_INT16X8, "ethos-u55-128", tmp_path)
    with pytest.raises(ModelError, match="already compiled by Vela"):
        compile_for_ethos(Path(first.compiled), "ethos-u55-128", tmp_path / "again")
    assert not (tmp_path / "again").exists()


def test_an_int8_step_file_runs_on_the_npu_but_its_float_state_and_row(tmp_path):
    """The microcontroller step files keep a float32 row and state: their QUANTIZE and DEQUANTIZE stay on the CPU."""
    result = compile_for_ethos(MODELS / "rnn" / "rnn-int8-step-app.tflite", "ethos-u55-128", tmp_path)
    assert result.ethos_u_ops == 1 and result.fallbacks == {"DEQUANTIZE": 2, "QUANTIZE": 2}
    assert {"CONCATENATION", "FULLY_CONNECTED", "SOFTMAX"}.isdisjoint(result.fallbacks) and result.npu_ops == 4
    assert 0 < result.sram_bytes < 4096 and result.macs > 0 and not result.warnings


def test_a_float_step_file_stays_on_the_cpu(tmp_path):
    result = compile_for_ethos(RNN_STEP_APP, Accelerator.U85_256, tmp_path)
    assert result.ethos_u_ops == 0 and result.npu_ops == 0
    assert result.fallbacks == {"CONCATENATION": 1, "FULLY_CONNECTED": 2, "SOFTMAX": 1}
    assert all("Float32" in why for why in result.fallback_reasons.values())
    assert result.macs == 0 and result.estimated_cycles == 0
    assert result.warnings and "no operator runs on the NPU" in result.warnings[0]


def test_cli_compiles_for_several_accelerators(tmp_path):
    done = invoke_cli("ethos", RNN_INT16X8, "--accelerator", "ethos-u55-128,ethos-u65-256", "--out", tmp_path,
                      "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["accelerator"] for r in rows] == ["ethos-u55-128", "ethos-u65-256"]
    assert [r["system_config"] for r in rows] == ["Ethos_U55_High_End_Embedded", "Ethos_U65_Embedded"]
    assert all(Path(r["compiled"]).is_file() and r["fallbacks"] == {"DEQUANTIZE": 1, "QUANTIZE": 1} for r in rows)
    table = invoke_cli("ethos", RNN_INT16X8, "--out", tmp_path / "table")
    assert table.returncode == 0, table.stderr
    assert "ethos-u55-128" in table.stdout and "DEQUANTIZE x1, QUANTIZE x1" in table.stdout
    assert "QUANTIZE on the CPU: Operation has tensor with unsupported DataType Float32" in table.stdout


def test_every_accelerator_is_one_vela_knows_with_a_system_in_its_config():
    from ethosu.vela import architecture_features, vela

    ini = configparser.ConfigParser()
    ini.read(Path(vela.__file__).parent.parent / "config_files" / "Arm" / "vela.ini")
    names = {a.value for a in architecture_features.Accelerator}
    for accelerator, row in ACCELERATORS.items():
        assert accelerator.value in names and row.accelerator is accelerator
        assert ini.has_section(f"System_Config.{row.system_config}")
        assert ini.has_section(f"Memory_Mode.{row.memory_mode}")
    assert set(ACCELERATORS) == set(Accelerator)


@pytest.mark.parametrize("args, words", [
    (("models/rnn/rnn-fp32.onnx",), "Vela compiles TFLite files (.tflite), not .onnx files"),
    (("garbage.tflite",), "garbage.tflite"),
    (("models/rnn/rnn-int16x8.tflite", "--accelerator", "ethos-u99"), "unknown accelerator 'ethos-u99'"),
], ids=["onnx", "not-a-flatbuffer", "unknown-accelerator"])
def test_bad_inputs_are_one_line_and_write_nothing(tmp_path, args, words):
    (tmp_path / "garbage.tflite").write_bytes(b"TFL3" + bytes(range(256)) * 8)
    source = tmp_path / args[0] if args[0] == "garbage.tflite" else REPO / args[0]
    out = tmp_path / "out"
    done = invoke_cli("ethos", source, *args[1:], "--out", out)
    assert done.returncode == (2 if "accelerator" in words else 1)
    assert words in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()[-1]) < 400
    assert not out.exists() or not any(out.iterdir())


def test_without_vela_the_command_says_how_to_install_it(tmp_path):
    code = BLOCK_VELA + "from edgeseq.cli import main; sys.argv = ['edgeseq', *sys.argv[1:]]; main()"
    done = subprocess.run([sys.executable, "-c", code, "ethos", str(RNN_INT16X8), "--out", str(tmp_path)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "Error: Vela (ethos-u-vela) is not installed: pip install 'edgeseq[ethos]'"
    assert not list(tmp_path.iterdir())


def test_a_failing_vela_is_one_line(tmp_path, monkeypatch):
    """Vela's own failure (a traceback on its stderr, exit 1, as it fails on a file it cannot read) becomes one line
    naming its last message."""
    fails = ("import sys; sys.stderr.write('Traceback (most recent call last):\\n  File \"vela.py\", line 137\\n'"
             " 'RuntimeError: Compilation failed: No networks defined via GraphAPI\\n'); sys.exit(1)")
    monkeypatch.setattr("edgeseq.core.procs.python_command", lambda module, *args: [sys.executable, "-c", fails])
    with pytest.raises(ModelError) as caught:
        compile_for_ethos(RNN_INT16X8, "ethos-u55-128", tmp_path)
    message = str(caught.value)
    assert "\n" not in message and message.endswith(
        "Vela could not compile it for ethos-u55-128 (exit 1: RuntimeError: Compilation failed: No networks defined"
        " via GraphAPI)")
    assert not compiled_path(RNN_INT16X8, Accelerator.U55_128, tmp_path).exists() and not list(tmp_path.iterdir())
