"""Randomized Truncation: figures of randomized truncation (``bptt_core.randomized``): the Monte-Carlo draws
against the exact truth, and the exact variance against the keep probability π.

A title names what is drawn; what the data say goes into a sentence computed from them
(``monte_carlo_findings``, ``variance_findings``), so that no title claims what the data may
contradict (at π = 0.2, ρ = 0.9 the running mean does not approach the exact gradient in 1000
draws, and it is not inside the band the draws' own σ draws).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .style import LINE_WIDTH, PALETTE, STRATEGIES, finite_xy, hline, house_layout, new_figure, note, scatter
from .findings import power_of_ten

BAND_ALPHA = 0.18      # fill of the exact band
VIEW_CAP = 1e6         # a band wider than this (relative) is drawn to the edge of the view


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _label(pi: float | None) -> str:
    style = STRATEGIES["randomized"]
    return style["name"].replace("π", f"π = {pi:g}") if pi is not None else style["name"]


def mc_error_figure(n, relative_error, expected_error, *, running_cosine=None, pi: float | None = None,
                    exact_expected_error=None,
                    title: str = "Relative error of the mean of n randomized draws") -> go.Figure:
    """‖ḡ_n − g‖/‖g‖ against the number of samples n (log–log), with root-mean-square errors
    √(tr Cov(g) / n)/‖g‖ (slope −½): ``exact_expected_error`` (S,) from the exact total variance
    (drawn dashed, black), and ``expected_error`` (S,) from the draws' sample covariance (drawn
    dotted, grey: where ρ²/π > 1 it falls far below the exact one). Non-positive or non-finite
    points are left out (a log axis cannot show them), with a note."""
    n = np.asarray(n, dtype=float)
    traces = []
    if exact_expected_error is not None:
        e = np.asarray(exact_expected_error, dtype=float)
        x, y, _ = finite_xy(n, np.where(e > 0, e, np.nan))
        traces.append(scatter(x=x, y=y, mode="lines", name="Exact RMS error",
                              line=dict(color=PALETTE["black"], dash="dash", width=LINE_WIDTH),
                              hovertemplate="n = %{x}<br>exact RMS error = %{y:.3g}<extra></extra>"))
    e = np.asarray(expected_error, dtype=float)
    x, y, _ = finite_xy(n, np.where(e > 0, e, np.nan))
    sample_name = ("RMS error predicted by the draws' own variance" if exact_expected_error is not None
                   else "Predicted √(tr Σ / n) / ‖g‖ (Σ: the draws' sample covariance)")
    traces.append(scatter(x=x, y=y, mode="lines", name=sample_name,
                          line=dict(color=PALETTE["grey"], dash="dot", width=LINE_WIDTH),
                          hovertemplate="n = %{x}<br>predicted from the draws = %{y:.3g}<extra></extra>"))
    r = np.asarray(relative_error, dtype=float)
    keep = np.isfinite(r) & (r > 0) & np.isfinite(n)
    dropped = int((~keep).sum())
    style = STRATEGIES["randomized"]
    custom = None
    hover = "n = %{x}<br>relative error = %{y:.3g}"
    if running_cosine is not None:
        c = np.asarray(running_cosine, dtype=float)[keep]
        custom = np.where(np.isfinite(c), c, 0.0)
        hover += "<br>cos∠(ḡₙ, g) = %{customdata:.4f}"
    traces.append(scatter(x=n[keep], y=r[keep], mode="lines", name=_label(pi) + ": error of the running mean ḡₙ",
                          customdata=custom, hovertemplate=hover + "<extra></extra>",
                          line=dict(color=style["color"], dash=style["dash"], width=LINE_WIDTH)))
    fig = new_figure(*traces, layout=house_layout(title=title, x="Number of samples n", y="‖ḡₙ − g‖ / ‖g‖",
                                                  log_x=True, log_y=True))
    if dropped:
        note(fig, f"{dropped} point{'s' if dropped > 1 else ''} left out: the error is 0 "
                  "(identical to the exact gradient) or not finite, which a log axis cannot show.")
    return fig


def mc_coordinate_figure(n, ratio, band, *, exact_band=None, label: str = "largest entry of ∂L/∂W<sub>hh</sub>",
                         pi: float | None = None,
                         title: str = "One coordinate: running mean ḡₙ[j] / gⱼ against n") -> go.Figure:
    """The running mean of one gradient coordinate divided by its exact value, ḡ_n[j] / g_j, against n
    (log x), and the exact value 1 (full BPTT).

    ``exact_band`` (S,): 2σ_j/(√n |g_j|) from the exact σ_j of one draw, drawn as the filled band
    1 ± exact_band (a ratio inside it about 95 % of the time, if the sample mean behaves like a
    normal one); a band wider than the view is drawn to its edges. ``band`` (S,): the same from
    the σ_j the draws estimate, drawn as two dotted lines (filled, as the only band, when no
    exact band is given)."""
    n = np.asarray(n, dtype=float)
    ratio = np.asarray(ratio, dtype=float)
    band = np.asarray(band, dtype=float)
    x, y, dropped = finite_xy(n, ratio)
    xs, bs, _ = finite_xy(n, band)
    # The view: the running mean after the first few draws, and the sample band near n = 10.
    ref = [abs(v - 1) for v in y[x >= min(10, x.max())]] if x.size else []
    ref += [float(bs[min(9, bs.size - 1)])] if bs.size else []
    if exact_band is not None and not ref:
        eb = np.asarray(exact_band, dtype=float)
        ref += [float(np.nanmin(eb))] if np.isfinite(eb).any() else []
    span = min(max(ref + [0.05]) * 1.3, VIEW_CAP)
    traces = []
    randomized = STRATEGIES["randomized"]
    if exact_band is not None:
        eb = np.asarray(exact_band, dtype=float)
        eb = np.where(np.isnan(eb), np.nan, np.minimum(eb, 2 * span))  # +inf (past float64): to the edge too
        xe, be, _ = finite_xy(n, eb)
        if xe.size:
            traces.append(scatter(x=np.concatenate([xe, xe[::-1]]), y=np.concatenate([1 + be, (1 - be)[::-1]]),
                                  fill="toself", fillcolor=_rgba(randomized["color"], BAND_ALPHA),
                                  line=dict(width=0), name="±2σ/√n, σ exact", hoverinfo="skip"))
    if xs.size:
        if exact_band is None:
            traces.append(scatter(x=np.concatenate([xs, xs[::-1]]), y=np.concatenate([1 + bs, (1 - bs)[::-1]]),
                                  fill="toself", fillcolor=_rgba(randomized["color"], BAND_ALPHA),
                                  line=dict(width=0), name="±2σ̂/√n, σ̂ estimated from the draws",
                                  hoverinfo="skip"))
        else:
            for sign, shown in ((1, True), (-1, False)):  # two edges, one legend entry
                traces.append(scatter(x=xs, y=1 + sign * bs, mode="lines", showlegend=shown,
                                      legendgroup="sample band", name="±2σ̂/√n, σ̂ estimated from the draws",
                                      line=dict(color=PALETTE["grey"], dash="dot", width=1.5),
                                      hovertemplate="n = %{x}<br>sample band edge = %{y:.4f}<extra></extra>"))
    full = STRATEGIES["full"]
    traces.append(scatter(x=[float(n.min()), float(n.max())] if n.size else [], y=[1.0, 1.0] if n.size else [],
                          mode="lines", name=full["name"] + " (exact)",
                          line=dict(color=full["color"], dash=full["dash"], width=1.5)))
    traces.append(scatter(x=x, y=y, mode="lines", name=_label(pi) + ": running mean",
                          line=dict(color=randomized["color"], dash=randomized["dash"], width=LINE_WIDTH),
                          hovertemplate="n = %{x}<br>ḡₙ[j] / gⱼ = %{y:.4f}<extra></extra>"))
    fig = new_figure(*traces, layout=house_layout(title=title, x="Number of samples n", y=f"ḡₙ[j] / gⱼ ({label})",
                                                  log_x=True, yaxis=dict(range=[1 - span, 1 + span])))
    if dropped:
        note(fig, f"{dropped} point{'s' if dropped > 1 else ''} left out: a draw overflowed float64, "
                  "so the running mean is not finite from there on.")
    return fig


def blow_up_pi(pi, log10_relative_variance) -> float:
    """The π below which the variance of one draw passes the squared gradient (log10 relative
    variance crosses 0), interpolated linearly in log10 between grid points; NaN if it never does
    on the grid, or if it does at every point."""
    pi = np.asarray(pi, dtype=float)
    v = np.asarray(log10_relative_variance, dtype=float)
    order = np.argsort(pi)
    pi, v = pi[order], v[order]
    for k in range(pi.size - 1):
        a, b = v[k], v[k + 1]
        if np.isfinite(a) and a >= 0 and (b < 0 or b == -np.inf):
            if not np.isfinite(b):
                return float(pi[k + 1])
            return float(pi[k] + (pi[k + 1] - pi[k]) * a / (a - b))
    return float("nan")


def variance_figure(pi, log10_relative_variance, *, current_pi: float | None = None,
                    current_value: float | None = None, samples: int | None = None, rho_eff: float | None = None,
                    sampled=None, what: str = "tr Cov(g) / ‖g‖²",
                    title: str = "Variance of one randomized gradient against π") -> go.Figure:
    """log10 of the variance of one randomized gradient relative to the exact gradient's square,
    ``what`` (by default tr Cov(g)/‖g‖²), against the keep probability π.

    ``samples``: 0 or None for the exact curve, else the draws per π of a sampled estimate.
    ``sampled`` (K,): a sampled estimate at the same π, drawn faintly for contrast. The current π
    is starred at ``current_value`` (or read off the curve when that is None). Where the variance
    passes the squared gradient (log10 = 0, drawn as a line) is marked, and so is π = ρ̄² (rho_eff²),
    below which the second moment grows along an unbroken run (ρ̄²/π > 1 per step).
    π = 1 is full BPTT (variance 0, −inf in log10): left out with a note."""
    pi = np.asarray(pi, dtype=float)
    v = np.asarray(log10_relative_variance, dtype=float)
    style = STRATEGIES["randomized"]
    x, y, dropped = finite_xy(pi, v)
    exact = not samples
    name = style["name"] + (": exact" if exact else f" ({samples} draws per π)")
    traces = []
    if sampled is not None:
        xs, ys, _ = finite_xy(pi, sampled)
        traces.append(scatter(x=xs, y=ys, mode="lines+markers", name="Estimated from draws (for contrast)",
                              line=dict(color=PALETTE["grey"], dash="dot", width=1.5),
                              marker=dict(size=6, symbol="x"),
                              hovertemplate="π = %{x:.2f}<br>estimate: log₁₀ = %{y:.3f}<extra></extra>"))
    traces.append(scatter(x=x, y=y, mode="lines+markers", name=name,
                          line=dict(color=style["color"], dash=style["dash"], width=LINE_WIDTH),
                          marker=dict(size=8, symbol="circle"),
                          hovertemplate="π = %{x:.2f}<br>log₁₀ (" + what + ") = %{y:.3f}<extra></extra>"))
    if current_pi is not None and current_value is None and x.size >= 2 and x.min() <= current_pi <= x.max():
        current_value = float(np.interp(current_pi, x, y))
    if current_pi is not None and current_value is not None and np.isfinite(current_value):
        traces.append(scatter(x=[current_pi], y=[current_value], mode="markers",
                              name=f"π = {current_pi:g} (the slider)",
                              marker=dict(size=14, symbol="star", color=PALETTE["vermillion"],
                                          line=dict(color=PALETTE["black"], width=1)),
                              hovertemplate="π = %{x:.2f}<br>log₁₀ = %{y:.3f}<extra></extra>"))
    shapes = [hline(0.0, color=PALETTE["grey"], width=1.5, dash="dash")]
    annotations = [dict(text="variance = ‖g‖²", xref="paper", x=1.0, xanchor="right", y=0.0, yref="y",
                        yanchor="bottom", showarrow=False, font=dict(color=PALETTE["grey"]))]
    cross = blow_up_pi(x, y) if x.size else float("nan")
    if np.isfinite(cross):
        traces.append(scatter(x=[cross], y=[0.0], mode="markers", name=f"passes ‖g‖² at π ≈ {cross:.2f}",
                              marker=dict(size=12, symbol="diamond", color=PALETTE["black"]),
                              hovertemplate="π ≈ %{x:.3f}: one draw's variance equals ‖g‖²<extra></extra>"))
    if rho_eff is not None and np.isfinite(rho_eff) and 0 < rho_eff ** 2 <= 1.0:
        c = rho_eff ** 2
        shapes.append(dict(type="line", xref="x", x0=c, x1=c, yref="paper", y0=0, y1=1,
                           line=dict(color=PALETTE["blue"], width=1.5, dash="dot")))
        annotations.append(dict(text=f"π = ρ̄² = {c:.2f}", xref="x", x=c, xanchor="right", yref="paper", y=1.0,
                                yanchor="top", showarrow=False, font=dict(color=PALETTE["blue"])))
    lo = float(np.min(y)) if y.size else -1.0
    hi = float(np.max(y)) if y.size else 1.0
    pad = 0.08 * max(hi - lo, 1.0)
    fig = new_figure(*traces, layout=house_layout(
        title=title, x="Keep probability π", y=f"log₁₀ ({what})", xaxis=dict(range=[0, 1.05]),
        yaxis=dict(range=[min(lo, 0.0) - pad, max(hi, 0.0) + pad]), shapes=shapes, annotations=annotations))
    if dropped:
        at_one = bool(np.any((pi == 1.0) & np.isneginf(v)))
        why = ("π = 1 is full BPTT: every draw is the exact gradient and the variance is 0, "
               "which has no logarithm" if at_one and dropped == 1 else
               f"{dropped} value{'s' if dropped > 1 else ''} left out: a variance of 0 (π = 1, full BPTT) "
               "or one not computed")
        note(fig, why + ".")
    return fig


# --- what the charts show, in words --------------------------------------------------------------

def _percent(fraction: float) -> str:
    return f"{100 * fraction:.0f} %"


def monte_carlo_findings(stats) -> list[str]:
    """Sentences saying what the Monte-Carlo charts show, computed from ``stats``
    (``bptt_core.randomized.MonteCarloStats``): whether S draws can show the mean at all (the exact σ
    of one draw against |g_j| and against √S), how far the draws' own σ is from the exact one, and
    how often the running mean lies inside each band."""
    S, pi = stats.samples, stats.pi
    if not stats.exact_finite:
        return ["The exact gradient does not fit float64 here, so the draws have nothing finite to be compared with."]
    inside_s = stats.inside_sample_band
    if not stats.exact_available:
        out = ["The exact σ was not computed at these settings (it would take too long), so the band is the one "
               "the draws estimate themselves"]
        if np.isfinite(inside_s):
            out[0] += f", and the running mean is inside it for {_percent(inside_s)} of n"
        out[0] += ". Where ρ²/π > 1 that estimate can fall far short of the truth."
        return out
    rel = stats.log10_exact_relative_sigma            # log10 σ_j / |g_j|
    ratio = stats.log10_sigma_ratio                    # log10 exact σ / sample σ
    inside = stats.inside_exact_band
    out = []
    # 2σ/√S ≥ |g_j|: even the last running mean's 95 % band is wider than the coordinate itself.
    hopeless = np.isfinite(rel) and rel + math.log10(2.0) - 0.5 * math.log10(S) >= 0.0
    if hopeless:
        need = 2 * (rel + math.log10(2.0 / 0.1))      # draws for a band of ±10 % of g_j
        out.append(f"The exact σ of one draw is {power_of_ten(rel)} times the gradient coordinate itself "
                   f"(π = {pi:g}): "
                   f"{S} draws cannot show the mean; a band of ±10 % would take about {power_of_ten(need)} draws.")
        if np.isfinite(ratio) and ratio >= 1.0:
            out.append(f"The σ estimated from the draws is {power_of_ten(ratio)} times too small: its band holds the "
                       f"running mean for {_percent(inside_s)} of n and means nothing; rare long runs, weighted by "
                       f"(1/π)ᵏ, carry the variance and {S} draws seldom contain one.")
        elif np.isfinite(ratio):
            out.append(f"The σ estimated from the draws is close to the exact one (log₁₀ ratio {ratio:.2f}).")
        return out
    out.append(f"The running mean is inside the exact ±2σ/√n band for {_percent(inside)} of n "
               f"(π = {pi:g}; the exact σ of one draw is {power_of_ten(rel)} × |gⱼ|).")
    if np.isfinite(ratio) and abs(ratio) >= math.log10(1.5):
        direction = "too small" if ratio > 0 else "too large"
        out.append(f"The σ estimated from the draws is {power_of_ten(abs(ratio))} times {direction}, so its band "
                   f"holds the running mean for {_percent(inside_s)} of n.")
    elif np.isfinite(inside_s):
        out.append(f"The draws' own σ agrees with the exact one to within a factor of {10 ** abs(ratio):.2g}; its "
                   f"band holds the running mean for {_percent(inside_s)} of n.")
    return out


def variance_findings(sweep, current_pi: float | None = None) -> list[str]:
    """Sentences saying what the variance-against-π chart shows, from a ``VarianceSweep``: the
    variance at the current π against ‖g‖², the π below which it passes ‖g‖², and ρ̄²."""
    total = getattr(sweep, "total_computed", True) and np.isfinite(sweep.log10_relative_variance).any()
    v = (np.asarray(sweep.log10_relative_variance, dtype=float) if total
         else np.asarray(sweep.log10_coordinate_relative_variance, dtype=float))
    what = "‖g‖²" if total else "gⱼ²"
    out = []
    if current_pi is not None:
        x, y, _ = finite_xy(sweep.pi, v)
        if x.size >= 2 and x.min() <= current_pi <= x.max():
            at = float(np.interp(current_pi, x, y))
            out.append(f"At π = {current_pi:g} the variance of one draw is {power_of_ten(at)} × {what}.")
        elif current_pi == 1.0:
            out.append("At π = 1 every draw is the exact gradient: the variance is 0.")
    cross = blow_up_pi(sweep.pi, v)
    if np.isfinite(cross):
        out.append(f"It passes {what} below π ≈ {cross:.2f}, and grows by orders of magnitude as π falls.")
    elif np.all(v[np.isfinite(v)] < 0) if np.isfinite(v).any() else False:
        out.append(f"It stays below {what} for every π drawn.")
    rho = getattr(sweep, "rho_eff", float("nan"))
    if np.isfinite(rho):
        c = rho ** 2
        out.append(f"The Jacobians shrink a gradient by ρ̄ = {rho:.3g} per step on average, so below "
                   f"π = ρ̄² = {c:.2f} the second moment grows along an unbroken run (ρ̄²/π > 1 per step)."
                   if c <= 1 else
                   f"The Jacobians grow a gradient by ρ̄ = {rho:.3g} per step on average: ρ̄²/π > 1 "
                   "for every π, so the second moment grows along an unbroken run whatever π is.")
    if not total:
        out.append("The whole gradient's variance would take too long here: this is the variance of its largest "
                   "∂L/∂Wₕₕ entry.")
    return out
