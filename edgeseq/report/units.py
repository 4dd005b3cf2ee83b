"""How the report writes a figure: µs, KB (of 1024 bytes), percent and percentage points; "–" when unknown."""

from __future__ import annotations

KB = 1024  # bytes: sizes and --max-size-kb are in KB of 1024 bytes


def us(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def kb(size: int | None) -> str:
    return "–" if size is None else f"{size / KB:,.1f}"


def pct(v: float | None) -> str:
    """A fraction as a percentage with two decimals (0.9132 -> 91.32)."""
    return "–" if v is None else f"{v * 100:.2f}"


def pp(v: float | None) -> str:
    """Percentage points with a sign."""
    return "–" if v is None else f"{v:+.2f}"


def times(v: float | None) -> str:
    """A ratio such as p50 / bound, two decimals ('1.94')."""
    return "–" if v is None else f"{v:.2f}"
