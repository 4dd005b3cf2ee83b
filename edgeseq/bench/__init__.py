"""Bench: latency, load time, cold start, peak memory and size of every file in every runtime, each measured in
a fresh worker process (`bench.worker`) so that one file's memory does not pollute another's."""

from edgeseq.bench.runner import CSV_FIELDS, BenchConfig, BenchResult, bench, to_csv

__all__ = ["CSV_FIELDS", "BenchConfig", "BenchResult", "bench", "to_csv"]
