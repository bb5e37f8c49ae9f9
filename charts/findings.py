"""A helper of every view (no subsection of its own). Sentences read off the data a chart draws: every
number, "rises", "below its bound" or "agrees" a view says under a chart comes from one of these
functions, computed from the same arrays the chart is built from (tests/test_findings.py checks them
against the data).

Pure functions, no Streamlit: arrays in, one markdown sentence out. Values are log10 sizes where
the charts draw log10 sizes (finite past float64); −inf is an exact zero.
"""

from __future__ import annotations

import math

import numpy as np

from .style import STRATEGIES

FLAT = 1.0           # orders of magnitude: a change below this counts as "about the same size"
AGREE = math.log10(1.02)  # two log10 norms within this (2 %) count as agreeing


def power_of_ten(log10_value: float) -> str:
    """A size for a sentence from its log10: the number itself between 10⁻³ and 10³ ("250", "0.034"), else
    the nearest whole power of ten ("10¹²"); "0" for log10 0 = −∞, "∞" for +∞."""
    if not math.isfinite(log10_value):
        return "∞" if log10_value > 0 else "0"
    if abs(log10_value) < 3:
        return f"{10.0 ** log10_value:.3g}"
    k = int(round(log10_value))
    return "10" + str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _orders(change: float) -> str:
    """'3.2 orders of magnitude' for a change of log10 sizes."""
    return f"{abs(change):.1f} order{'s' if abs(change) >= 1.05 or abs(change) < 0.95 else ''} of magnitude"


def _log10_sum(v: np.ndarray) -> float:
    """log10 Σ 10^v over the finite entries (−inf for none)."""
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -math.inf
    top = float(v.max())
    return top + math.log10(float(np.sum(10.0 ** (v - top))))


def gradient_over_time_sentence(log10_dL_dh, *, rho: float | None = None) -> str:
    """How ‖∂L/∂h_t‖ changes from t = T back to t = 1 (log10_dL_dh (T,), row t − 1 is step t)."""
    V = np.asarray(log10_dL_dh, dtype=float)
    T = V.size
    finite = np.isfinite(V)
    if T < 2 or not finite[0] or not finite[-1]:
        return "‖∂L/∂hₜ‖ is not finite at both ends of the sequence, so there is no change to read off."
    change = float(V[0] - V[-1])
    peak = int(np.argmax(np.where(finite, V, -np.inf))) + 1
    if abs(change) < FLAT:
        how = f"within a factor of 10 of its size at t = T ({power_of_ten(V[0])} against {power_of_ten(V[-1])})"
    else:
        how = (f"{_orders(change)} {'larger' if change > 0 else 'smaller'} than at t = T "
               f"({power_of_ten(V[0])} against {power_of_ten(V[-1])})")
    sentence = f"At t = 1, {T - 1} steps back from t = T = {T}, ‖∂L/∂hₜ‖ is {how}; it is largest at t = {peak}."
    if rho is not None and rho > 0:
        slope = change / (T - 1)
        sentence += (f" On average it changes by {slope:+.3f} orders of magnitude per step back; ρᵀ⁻ᵗ changes by "
                     f"log₁₀ρ = {math.log10(rho):+.3f}.")
    return sentence


def sum_terms_sentence(first_terms_log10, first: int) -> str:
    """Which loss adds the most to ∂L/∂h_first, and how the farthest compares with the nearest
    (first_terms_log10 (n,): log10‖term i‖ for i = first … first + n − 1)."""
    V = np.asarray(first_terms_log10, dtype=float)
    finite = np.isfinite(V)
    if not finite.any():
        return f"Every term of the sum for ∂L/∂h_{first} is exactly zero."
    top = int(np.argmax(np.where(finite, V, -np.inf)))
    last = first + V.size - 1
    sentence = (f"The largest of the {V.size} terms comes from the loss at i = {first + top}, {top} step"
                f"{'s' if top != 1 else ''} ahead ({power_of_ten(V[top])})")
    if V.size > 1 and finite[0] and finite[-1]:
        change = float(V[-1] - V[0])
        sentence += (f"; the farthest, from i = {last}, is {_orders(change)} "
                     f"{'above' if change > 0 else 'below'} the nearest, from i = {first}")
    return sentence + "."


def w_hh_sources_sentence(log10_terms) -> str:
    """Where ∂L/∂W_hh comes from: the step with the largest share ‖δ_t h_{t−1}ᵀ‖_F, and how the shares
    divide between the first and the second half of the sequence (log10_terms (T,))."""
    V = np.asarray(log10_terms, dtype=float)
    T = V.size
    if not np.isfinite(V).any():
        return "Every step's share of ∂L/∂Wₕₕ is exactly zero."
    top = int(np.argmax(np.where(np.isfinite(V), V, -np.inf))) + 1
    half = T // 2
    total = _log10_sum(V)
    early = 10 ** (_log10_sum(V[:half]) - total) if half else 0.0
    return (f"The largest share, {power_of_ten(V[top - 1])}, comes from step t = {top}; the first {half} steps "
            f"carry {early:.0%} of Σₜ ‖δₜ hₜ₋₁ᵀ‖ and the last {T - half} steps {1 - early:.0%}.")


def singular_values_sentence(moduli, singular_values) -> str:
    """σ_i against |λ_i| (both sorted from the largest): equal for a normal W_hh, σ₁ > ρ otherwise."""
    m = np.sort(np.asarray(moduli, dtype=float))[::-1]
    s = np.sort(np.asarray(singular_values, dtype=float))[::-1]
    if s[0] == 0:
        return "Every singular value is zero: Wₕₕ is the zero matrix."
    gap = float(np.max(np.abs(s - m)) / s[0])
    if gap < 1e-9:
        return (f"σᵢ = |λᵢ| for every i (to {max(gap, 1e-16):.0e} of σ₁): this Wₕₕ is normal, so ‖Wₕₕ‖₂ = σ₁ = "
                f"ρ = {s[0]:.3g} and ‖Wₕₕᵏ‖₂ = ρᵏ.")
    ratio = s[0] / m[0] if m[0] > 0 else math.inf
    times = f"{ratio:.3g} times ρ = {m[0]:.3g}" if math.isfinite(ratio) else "while ρ = 0"
    return (f"σ₁ = ‖Wₕₕ‖₂ = {s[0]:.3g}, {times}: this Wₕₕ is not normal, and its singular values differ from "
            f"the moduli of its eigenvalues by up to {gap:.2g} σ₁.")


def lag_sentence(lags: dict, bounds: dict, *, sigma1: float, gammas: dict) -> str:
    """Each activation's ‖∂h_T/∂h_0‖ at the largest lag against its bound (σ₁γ)^T (arrays (T+1,))."""
    parts, above = [], []
    T = None
    for act, lv in lags.items():
        lv = np.asarray(lv, dtype=float)
        bound = np.asarray(bounds[act], dtype=float)
        T = lv.size - 1
        if not np.isfinite(lv[-1]):
            parts.append(f"{act}: not finite")
            continue
        word = "grows to" if lv[-1] > 0 else "shrinks to"
        parts.append(f"{act} {word} {power_of_ten(lv[-1])} (bound {power_of_ten(bound[-1])}, σ₁γ = "
                     f"{sigma1 * gammas[act]:.3g})")
        ok = np.isfinite(lv) & np.isfinite(bound)
        if np.any(lv[ok] > bound[ok] + 1e-9):
            above.append(act)
    tail = ("every curve stays at or below its bound" if not above
            else f"above its bound: {', '.join(above)}")
    return f"At the largest lag k = T = {T}: " + "; ".join(parts) + f"; {tail}."


def saturation_sentence(dphi, *, gamma: float, activation: str) -> str:
    """How far below γ the factors φ'(a_t) sit (dphi: every step and unit)."""
    d = np.asarray(dphi, dtype=float).ravel()
    if d.size == 0:
        return "There is no step to read φ'(aₜ) from."
    if np.all(d == d[0]):
        return f"φ'(aₜ) = {d[0]:g} for every step and unit: the {activation} never saturates here."
    low = float(np.mean(d < 0.5 * gamma))
    off = float(np.mean(d == 0.0))
    sentence = (f"The median φ'(aₜ) is {np.median(d):.3g} against γ = {gamma:g}; {low:.0%} of the {d.size} values "
                f"are below γ/2")
    if off > 0:
        sentence += f", {off:.0%} exactly 0"
    return sentence + "."


def per_step_sentence(log10_dL_dh, keys, *, tau: int) -> str:
    """At how many steps each strategy's ‖∂L/∂h_t‖ agrees with full BPTT's (rows of (k, T), "full" first)."""
    V = np.asarray(log10_dL_dh, dtype=float)
    keys = list(keys)
    full = V[keys.index("full")]
    T = full.size
    parts = []
    for key, row in zip(keys, V):
        if key == "full":
            continue
        ok = np.isfinite(row) & np.isfinite(full)
        agree = int(np.sum(np.abs(row[ok] - full[ok]) <= AGREE))
        parts.append(f"{STRATEGIES[key]['short'].lower()} {agree}")
    return (f"How many of the T = {T} steps have ‖∂L/∂hₜ‖ within 2 % of full BPTT's: " + ", ".join(parts)
            + f" (τ = {tau}).")


def _strategy(key: str) -> str:
    """'regular truncation' for "chunked": a strategy's name inside a sentence."""
    return STRATEGIES[key]["name"].split(" (")[0].lower()


def agreement_sentence(keys, cosine, relative_error) -> str:
    """The strategies closest to and farthest from the exact gradient (full BPTT left out: it is exact)."""
    rows = [(k, c, e) for k, c, e in zip(keys, cosine, relative_error) if k != "full" and np.isfinite(c)]
    if not rows:
        return "No truncated gradient is finite at these settings."
    rows.sort(key=lambda r: -r[1])
    best, worst = rows[0], rows[-1]
    sentence = f"Closest to the exact gradient: {_strategy(best[0])} (cos {best[1]:.4f}, relative error {best[2]:.3g})"
    if worst is not best:
        sentence += f"; farthest: {_strategy(worst[0])} (cos {worst[1]:.4f}, relative error {worst[2]:.3g})"
    return sentence + "."


EDGE = 1e-3  # |mean log10|c_t|| below this counts as "on the edge" (|c| within about 0.2 % of 1)


def regime_sentence(growth: float, T: int, *, expected: float | None = None) -> str:
    """The scalar model's regime from the drawn mean log10|c_t| over t = 2 … T (``growth``): each step back
    multiplies a term by |c_t|, so the oldest term of a_T carries (T − 1)·growth orders of magnitude more
    (or fewer) than the newest. ``expected``: E[log10|c_t|] of the distribution, when c_t is random."""
    if growth == -math.inf:
        return "**A cₜ is 0**: every term older than that step is exactly zero."
    rate = f"{10 ** growth:.3g}" if math.isfinite(growth) else "∞"
    typical = "|c|" if expected is None else "the geometric mean of these |cₜ|"
    of = "" if expected is None else f" (of their distribution: {10 ** expected:.3g})"
    total = (T - 1) * growth
    span = f"over the {T - 1} steps back to the first input that adds up to {_orders(total)}"
    if growth < -EDGE:
        return f"**Vanishing** ({typical} = {rate}{of} < 1): each step back multiplies a term by about that; {span} fewer."
    if growth > EDGE:
        return f"**Exploding** ({typical} = {rate}{of} > 1): each step back multiplies a term by about that; {span} more."
    return (f"**On the edge** ({typical} = {rate}{of} ≈ 1): terms neither shrink nor grow on average; {span}, so "
            "every input counts about the same however old it is.")


def butterfly_sentence(distance, *, log_eps: int) -> str:
    """How far apart the two runs end, against ε (distance (T+1,): ‖h_t − h̃_t‖, t = 0 … T)."""
    d = np.asarray(distance, dtype=float)
    finite = np.isfinite(d) & (d > 0)
    if not finite[1:].any():
        return "The two runs do not differ by a finite, non-zero amount at any step."
    last = int(np.nonzero(finite)[0][-1])
    change = math.log10(d[last]) - log_eps
    return (f"At t = {last} the runs are {power_of_ten(math.log10(d[last]))} apart: {_orders(change)} "
            f"{'more' if change > 0 else 'less'} than the ε = {power_of_ten(log_eps)} they started from.")


def training_sentence(histories: dict, labels: dict) -> str:
    """The final validation perplexities of a comparison, best first, and how far apart they end."""
    finals = [(labels.get(k, k), h.final_valid_perplexity, h.diverged) for k, h in histories.items()]
    done = sorted((p, name) for name, p, diverged in finals if not diverged and math.isfinite(p))
    diverged = [name for name, _, d in finals if d]
    parts = []
    if done:
        parts.append("Final validation perplexity: " + ", ".join(f"{name}: {p:.2f}" for p, name in done))
        if len(done) > 1:
            parts.append(f"the best and the worst end {done[-1][0] - done[0][0]:.2f} apart")
    if diverged:
        parts.append("diverged (loss or gradient overflowed): " + ", ".join(diverged))
    return ("; ".join(parts) + ".") if parts else "No validation perplexity has been measured yet."
