"""Write tests/golden/ops.json: for every exported file in models/, its recurrent op and op counts (and, for
ONNX, the opsets and domains), as today's converters made them. tests/test_op_golden.py exports the tiny test
models with the installed converters and fails, naming what changed, when an upgrade changes the graphs.

    python tools/op_golden.py            # after a deliberate change: review the diff, commit it
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edgeseq.artifacts import read_facts  # noqa: E402
from edgeseq.core.environment import library_versions  # noqa: E402

GOLDEN = REPO / "tests" / "golden" / "ops.json"


def graph_facts(path: Path) -> dict:
    """What the golden check compares: the recurrent op, every op's count, ONNX opsets and domains."""
    facts = read_facts(path)
    return {"recurrent_op": facts.recurrent_op, "ops": dict(sorted(facts.ops.items())),
            "custom_ops": sorted(facts.custom_ops), "opsets": facts.opsets or None, "domains": facts.domains or None}


def main() -> None:
    files = sorted(p for p in (REPO / "models").rglob("*") if p.suffix in (".tflite", ".onnx"))
    versions = library_versions()
    golden = {"made_with": {k: versions.get(k) for k in ("tensorflow-cpu", "tensorflow", "tf2onnx", "onnx",
                                                         "onnxruntime", "ai-edge-litert") if versions.get(k)},
              "files": {p.name: graph_facts(p) for p in files}}
    GOLDEN.write_text(json.dumps(golden, indent=2) + "\n", encoding="utf-8")
    print(f"{GOLDEN.relative_to(REPO)}: {len(files)} files")


if __name__ == "__main__":
    main()
