"""Plain words for what the numbers did: overflow in the exploding regime."""

from __future__ import annotations

FLOAT64_MAX = "1.8 × 10³⁰⁸"


def overflow_message(forward_step: int | None, backward_step: int | None, T: int) -> str | None:
    """A sentence for a page's ``st.warning`` when float64 ran out of range, else None."""
    parts = []
    if forward_step is not None:
        parts.append(f"the hidden state hₜ grew past the largest double-precision number "
                     f"({FLOAT64_MAX}) at step t = {forward_step} of {T}")
    if backward_step is not None:
        parts.append(f"the gradient ∂L/∂hₜ went past it at step t = {backward_step}, "
                     f"{T - backward_step} steps back from the end")
    if not parts:
        return None
    return ("Float64 overflowed: " + "; ".join(parts) + ". This is the exploding-gradient regime of the section. "
            "Curves that would be infinite are drawn from log-space computations instead, "
            "and values that do not exist in float64 are left out and marked.")
