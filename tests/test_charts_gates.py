"""charts/gates.py: the three cells' figures and the sentences read off their data."""

from __future__ import annotations

import numpy as np

from charts.gates import (cells_lag_figure, cells_lag_sentence, cells_over_time_figure, cells_sentence, gate_heatmap,
                          gate_sentence)


def test_lag_figure_draws_each_cell_from_k_zero():
    fig = cells_lag_figure({"RNN": -0.1 * np.arange(11), "GRU": np.zeros(11), "LSTM": -np.arange(11.0)})
    assert [t.name for t in fig.data] == ["RNN", "GRU", "LSTM"]
    assert list(fig.data[0].x) == list(range(11))
    assert fig.data[2].y[-1] == -10.0
    assert not fig.layout.annotations  # nothing left out, nothing past float64


def test_over_time_figure_says_past_float64_and_drops_zeros():
    fig = cells_over_time_figure({"RNN": np.array([400.0, 200.0, 1.0]), "GRU": np.array([-np.inf, 0.0, 0.0]),
                                  "LSTM": np.zeros(3)})
    assert list(fig.data[0].x) == [1, 2, 3] and list(fig.data[1].x) == [2, 3]
    notes = " ".join(a.text for a in fig.layout.annotations)
    assert "RNN: past float64" in notes and "1 point(s) left out" in notes


def test_sentences_come_from_the_data():
    lags = {"RNN": np.array([0.0, -1.0, -2.25]), "GRU": np.array([0.0, -5.0, -11.4]), "LSTM": np.array([0.0, 0.4, 0.6])}
    text = cells_lag_sentence(lags)
    assert "k = 2" in text and "S_{T-2}" in text
    assert "RNN $10^{-2.2}$" in text and "GRU $10^{-11.4}$" in text and "LSTM $10^{0.6}$" in text
    assert "the **LSTM**'s is the largest, 12.0 orders of magnitude above the GRU's" in text
    with_gates = cells_lag_sentence(lags, forget=np.full((3, 2), 0.5), update=np.full((3, 2), 0.25))
    assert "forget gates average 0.50 (the GRU's update gates 0.25)" in with_gates
    over_time = {"RNN": np.array([-3.0, -1.0]), "GRU": np.array([-1.0, -1.0]), "LSTM": np.array([-1.02, -1.0])}
    text = cells_sentence(over_time)
    assert "RNN $10^{-2.0}$" in text and "the **GRU**'s is the largest, 2.0 orders" in text
    same = cells_sentence({"RNN": np.array([0.0, 0.0]), "GRU": np.array([0.01, 0.0]), "LSTM": np.zeros(2)})
    assert "about the same for every cell" in same


def test_gate_heatmap_and_sentence():
    F = np.array([[0.95, 0.05], [0.5, 0.99]])
    fig = gate_heatmap(F, gate="Fₜ", cell="LSTM")
    assert np.asarray(fig.data[0].z).shape == (2, 2)   # units on y, steps on x
    assert fig.data[0].zmin == 0.0 and fig.data[0].zmax == 1.0
    assert gate_sentence(F, gate="Fₜ", cell="LSTM") == (
        "Fₜ of the LSTM averages 0.623 over every step and unit; 50 % of its values are above 0.9 and 25 % below 0.1.")


def test_the_gap_is_the_shown_exponents_gap():
    """0.06 and −0.37 show as 10^0.1 and 10^−0.4: the sentence says 0.5 orders apart, as a reader subtracts."""
    from charts.gates import _ranked

    text = _ranked({"RNN": 0.06, "LSTM": -0.37}, "change")
    assert "$10^{0.1}$" in text and "$10^{-0.4}$" in text
    assert "0.5 orders of magnitude above the LSTM's" in text
