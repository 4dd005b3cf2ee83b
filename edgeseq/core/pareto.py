"""The one Pareto frontier edgeseq draws (the report's accuracy-vs-latency plot, the sweep's frontiers): the items no
other item beats on both a cost (lower is better) and a gain (higher is better), cheapest first."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def pareto(items: Iterable[T], cost: Callable[[T], float], gain: Callable[[T], float]) -> list[T]:
    """The frontier of `items`, cheapest first: of items with equal cost only the one with the highest gain, and an
    item only when its gain exceeds that of every cheaper item kept."""
    frontier: list[T] = []
    for item in sorted(items, key=lambda i: (cost(i), -gain(i))):
        if not frontier or gain(item) > gain(frontier[-1]):
            frontier.append(item)
    return frontier
