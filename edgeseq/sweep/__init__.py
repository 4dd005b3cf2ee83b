"""`edgeseq sweep`: train, export and validate a grid of model variants in parallel, benchmark them one at a
time afterwards, and answer which is the fastest at or above an accuracy.

  plan.py       the sweep's config, one task per variant, the key that makes a finished variant reusable
  task.py       one variant: train, export, validate (in a fresh process: a local worker or a Ray task)
  engines.py    the table of engines the tasks run on: this machine's process pool, or Ray
  frontier.py   the Pareto frontier (accuracy against p50 and against size) and the fastest at or above X %
  runner.py     the whole sweep: tasks, then the benchmarks alone, then sweep.json and sweep.md

Benchmarks never run while a task runs: every task has finished before the first benchmark starts, and the
benchmarks run one after another (each file in its own fresh process, as `edgeseq bench` does). Every task and
every benchmark records its start and end, so the results show it.
"""
