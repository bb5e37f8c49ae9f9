"""Rectangles on a page, for the browser's layout checks (tests/test_browser_layout.py).

Pure Python: boxes as the browser reports them (``getBoundingClientRect``: x, y, width, height in CSS
pixels, y growing downwards), whether two overlap by more than a tolerance, and how much of a width a
set of boxes covers side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable, Mapping, Sequence


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: left ``x``, top ``y``, ``width``, ``height`` (pixels), and what it is."""

    x: float
    y: float
    width: float
    height: float
    label: str = ""

    @classmethod
    def from_dict(cls, d: Mapping, label: str | None = None) -> "Box":
        """From a DOMRect as JSON ({x, y, width, height}, with an optional ``label``)."""
        return cls(float(d["x"]), float(d["y"]), float(d["width"]), float(d["height"]),
                   label if label is not None else str(d.get("label", "")))

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0


def overlap(a: Box, b: Box) -> tuple[float, float]:
    """(width, height) of the intersection of ``a`` and ``b``; a side is ≤ 0 when they are apart."""
    return min(a.right, b.right) - max(a.x, b.x), min(a.bottom, b.bottom) - max(a.y, b.y)


def overlaps(a: Box, b: Box, tolerance: float = 0.0) -> bool:
    """Whether ``a`` and ``b`` share more than a ``tolerance``-pixel strip in both directions.

    Boxes that touch, or cross by at most ``tolerance`` pixels (the slack of a glyph's line box),
    do not count. Empty boxes (no width or height) never overlap anything.
    """
    if a.empty or b.empty:
        return False
    w, h = overlap(a, b)
    return w > tolerance and h > tolerance


def overlapping_pairs(boxes: Sequence[Box], tolerance: float = 0.0,
                      others: Sequence[Box] = ()) -> list[tuple[Box, Box]]:
    """Every pair of ``boxes`` that overlaps, then every (box, other) pair of ``boxes`` × ``others``.

    ``others`` are boxes that may overlap among themselves (tick labels of one axis, say) but not
    any of ``boxes``.
    """
    pairs = [(a, b) for a, b in combinations(boxes, 2) if overlaps(a, b, tolerance)]
    pairs += [(a, o) for a in boxes for o in others if overlaps(a, o, tolerance)]
    return pairs


def covered_length(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of ``intervals`` ((start, end) pairs; reversed or empty ones count as
    nothing): side-by-side subplots add up, subplots stacked in one column count once."""
    spans = sorted((lo, hi) for lo, hi in intervals if hi > lo)
    total, end = 0.0, float("-inf")
    for lo, hi in spans:
        if hi <= end:
            continue
        total += hi - max(lo, end)
        end = hi
    return total


def horizontal_coverage(boxes: Iterable[Box]) -> float:
    """Width the boxes cover when projected onto the x axis."""
    return covered_length((b.x, b.right) for b in boxes)


def visible_height(box: Box, viewport_height: float) -> float:
    """How many pixels of ``box`` are on a first screen of ``viewport_height`` (page not scrolled)."""
    return max(0.0, min(box.bottom, viewport_height) - max(box.y, 0.0))
