"""Diagnostics: where a file's error comes from, against its reference.

  quant_debug.py    `edgeseq quant-debug`: a quantized file against its float reference, layer by layer
                    (capture.py runs each runtime with every layer's output kept, graph.py finds the layers,
                    layer_compare.py matches them and measures the error)
  drift.py          `edgeseq drift`: a step model against its reference, timestep by timestep, and early answers
                    (drift_report.py: the result, row by row, and whether the drift grows with time)
  drift_plot.py     its figures

Each finds its reference with edgeseq.parity.reference. Importing any of these imports no runtime library and
never TensorFlow.
"""
