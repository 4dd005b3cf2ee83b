"""Standard metadata in an ONNX file (edgeseq.export.standard_metadata decides what it says): the model's doc_string,
graph doc_string and model_version, metadata_props (author, licence, name, version, labels, normalisation,
layout) and each input's and output's doc_string. `meta` is a standard_metadata.StandardMetadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def onnx_props(meta: Any) -> dict[str, str]:
    """The metadata_props keys written. ONNX's ModelProto has no author or licence field (it has producer_name,
    which the converter sets, model_version, doc_string and domain): those two are props, as ultralytics names
    them."""
    return {"author": meta.author, "license": meta.licence, "name": meta.name, "version": meta.version,
            "labels": json.dumps(list(meta.labels)),
            "normalisation": json.dumps({"formula": "(x - mean[f]) / std[f] per feature f (a single value: every feature)",
                                         "mean": list(meta.mean), "std": list(meta.std)}),
            "input_layout": meta.layout}


def write(path: Path, meta: Any) -> dict[str, Any]:
    import onnx  # noqa: PLC0415

    model = onnx.load(str(path))
    model.doc_string = meta.description
    model.graph.doc_string = meta.layout          # onnxruntime: graph_description
    model.model_version = meta.version_number
    props = onnx_props(meta)
    kept = [p for p in model.metadata_props if p.key not in props]     # the `edgeseq` entry stays
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    texts = {t.tensor: t.description for t in (*meta.inputs, *meta.outputs)}
    for value in (*model.graph.input, *model.graph.output):
        if value.name in texts:
            value.doc_string = texts[value.name]
    onnx.save(model, str(path))
    return {"onnx": ["doc_string", "graph.doc_string", "model_version", *(f"metadata_props.{k}" for k in props),
                     "graph input/output doc_string"],
            "model_version": model.model_version}
