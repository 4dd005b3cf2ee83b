"""Parity: does an exported file answer like the model it came from? `compare` holds the figures and the
tolerance check, `validate` runs every file against its reference (through runtimes.guard) and gates on the
recipes table's tolerances."""

from edgeseq.parity.compare import ParityReport, accuracy, check_tolerance, compare

__all__ = ["ParityReport", "accuracy", "check_tolerance", "compare"]
