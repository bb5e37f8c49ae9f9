"""tests/layout_geometry.py: the rectangle arithmetic behind the browser's layout checks."""

import pytest

from tests.layout_geometry import (Box, covered_length, horizontal_coverage, overlap, overlapping_pairs, overlaps,
                                   visible_height)


def test_box_from_a_dom_rect():
    box = Box.from_dict({"x": 10, "y": 20, "width": 30, "height": 5, "top": 20}, label="title")
    assert (box.x, box.y, box.right, box.bottom, box.label) == (10, 20, 40, 25, "title")
    assert Box.from_dict({"x": 0, "y": 0, "width": 1, "height": 1, "label": "a"}).label == "a"


def test_overlap_sides():
    a, b = Box(0, 0, 10, 10), Box(6, 8, 10, 10)
    assert overlap(a, b) == (4, 2)
    assert overlap(b, a) == (4, 2)
    assert overlap(Box(0, 0, 10, 10), Box(20, 0, 5, 5))[0] < 0


@pytest.mark.parametrize("a, b, tolerance, expected", [
    (Box(0, 0, 10, 10), Box(5, 5, 10, 10), 0, True),          # corners cross
    (Box(0, 0, 10, 10), Box(10, 0, 10, 10), 0, False),        # edges touch
    (Box(0, 0, 10, 10), Box(9, 0, 10, 10), 0, True),          # one pixel into the other
    (Box(0, 0, 10, 10), Box(9, 0, 10, 10), 1.5, False),       # ... within the tolerance
    (Box(0, 0, 10, 10), Box(8.4, 0, 10, 10), 1.5, True),      # ... beyond it
    (Box(0, 0, 10, 10), Box(2, 9, 6, 10), 2, False),          # wide in x, within the tolerance in y
    (Box(0, 0, 100, 100), Box(40, 40, 5, 5), 2, True),        # one inside the other
    (Box(0, 0, 10, 10), Box(3, 3, 0, 4), 0, False),           # an empty box overlaps nothing
    (Box(0, 0, 10, 10), Box(30, 30, 5, 5), 0, False),         # far apart
])
def test_overlaps(a, b, tolerance, expected):
    assert overlaps(a, b, tolerance) is expected
    assert overlaps(b, a, tolerance) is expected


def test_overlapping_pairs_among_boxes_and_against_others():
    title = Box(0, 0, 100, 20, "title")
    legend = Box(90, 10, 50, 20, "legend")
    axis = Box(0, 200, 100, 20, "x axis title")
    ticks = [Box(0, 180, 20, 15, "tick 0"), Box(15, 180, 20, 15, "tick 1"), Box(50, 195, 20, 15, "tick 2")]
    pairs = overlapping_pairs([title, legend, axis], tolerance=1, others=ticks)
    assert [(a.label, b.label) for a, b in pairs] == [("title", "legend"), ("x axis title", "tick 2")]
    assert overlapping_pairs([title, axis]) == []


@pytest.mark.parametrize("intervals, expected", [
    ([], 0),
    ([(0, 10)], 10),
    ([(0, 10), (20, 25)], 15),       # side by side: the sum
    ([(0, 10), (0, 10)], 10),        # stacked in one column: once
    ([(0, 10), (5, 15)], 15),        # partly over each other
    ([(5, 15), (0, 30), (40, 41)], 31),
    ([(10, 0), (3, 3)], 0),          # reversed and empty intervals count as nothing
])
def test_covered_length(intervals, expected):
    assert covered_length(intervals) == expected


def test_horizontal_coverage_of_subplots():
    left, right = Box(50, 0, 300, 200), Box(400, 0, 300, 200)
    below = Box(50, 250, 300, 200)
    assert horizontal_coverage([left, right, below]) == 600


@pytest.mark.parametrize("box, expected", [
    (Box(0, 100, 10, 400), 400),     # entirely on screen
    (Box(0, 600, 10, 400), 300),     # the top 300 px
    (Box(0, 950, 10, 400), 0),       # below the first screen
    (Box(0, -50, 10, 400), 350),     # partly above
])
def test_visible_height(box, expected):
    assert visible_height(box, 900) == expected
