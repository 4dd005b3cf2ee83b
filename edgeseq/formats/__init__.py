"""Export formats: the table (one row per format) and one adapter module per format (tflite, onnx) that owns
everything specific to it: convert, read facts, embed, standard metadata, tensor order, FLOPs, app runtimes, and the
module of its app code (edgeseq.appkit.code_<format>: formats.table.AppCode)."""

from edgeseq.formats.table import EXPORT_SUFFIXES, FORMATS, FormatAdapter, FormatRow, by_name, by_suffix, find

__all__ = ["EXPORT_SUFFIXES", "FORMATS", "FormatAdapter", "FormatRow", "by_name", "by_suffix", "find"]
