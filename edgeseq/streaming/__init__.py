"""Streaming: step models that take one timestep and the recurrent state, and what is measured on them.

  contract.py   the step contract: state tensors, their names, how a sequence is fed (no TensorFlow)
  runner.py     a step file in LiteRT or onnxruntime: one row at a time, or a whole trace of T rows
  worker.py     the same in a child process (a runtime crash is one error line, not a dead command)
  parity.py     validate: 28 steps against the whole-sequence file of the same recipe
  drift.py      `edgeseq drift`: per-timestep drift and early answers
  scaling.py    `edgeseq bench --scaling`: latency against sequence length, batch and threads

Importing any of these imports no runtime library and never TensorFlow.
"""
