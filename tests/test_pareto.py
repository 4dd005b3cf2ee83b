"""The one Pareto frontier (edgeseq.core.pareto), used by the report's plot and the sweep: on any set of points,
no point on it is dominated, every point left off is dominated (or tied) by one on it, and it runs cheapest first."""

from hypothesis import given, strategies as st

from edgeseq.core.pareto import pareto
from edgeseq.report.plots import Point, pareto_frontier

POINTS = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=30)


def dominates(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """a is at least as cheap and at least as good as b (cost, gain)."""
    return a[0] <= b[0] and a[1] >= b[1]


@given(POINTS)
def test_the_frontier_is_exactly_the_undominated_points(points):
    frontier = pareto(points, lambda p: p[0], lambda p: p[1])
    assert [p[0] for p in frontier] == sorted(p[0] for p in frontier)
    assert all(a[1] < b[1] and a[0] < b[0] for a, b in zip(frontier, frontier[1:]))   # strictly better when dearer
    for p in points:
        assert any(dominates(f, p) for f in frontier)
    for f in frontier:
        assert not any(q[0] <= f[0] and q[1] >= f[1] and q != f for q in points)


def test_the_reports_frontier_is_the_same_function():
    made = [Point(f"p{n}", "rnn", "litert", latency, accuracy, True)
            for n, (latency, accuracy) in enumerate([(10.0, 0.9), (5.0, 0.8), (7.0, 0.7), (20.0, 0.95), (5.0, 0.85)])]
    assert [p.label for p in pareto_frontier(made)] == ["p4", "p0", "p3"]
