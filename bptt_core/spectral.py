"""Backpropagation Through Time in Detail: W_hh from chosen eigenvalues, and the growth of its powers.

The section's identity-activation gradient is a sum of (W_hhᵀ)^k terms, so
whether it vanishes or explodes is decided by the spectrum of W_hh. A matrix
is built in real Schur form and rotated by a random orthogonal Q:

    W_hh = Q (D + s·N) Qᵀ

D is block-diagonal (real eigenvalues, and 2×2 blocks r[[cos θ, −sin θ],
[sin θ, cos θ]] for pairs r·e^{±iθ}); N is strictly block-upper-triangular, so
the eigenvalues are those of D for every non-normality s. s = 0 with real
eigenvalues gives a symmetric matrix, s = 0 with pairs a normal one.
"""

from __future__ import annotations

import numpy as np

from .checks import as_choice, as_float, as_float_array, as_int, describe

KINDS = ("symmetric", "normal", "nonnormal")


def random_orthogonal(h: int, seed: int) -> np.ndarray:
    """Q (h, h) Haar-distributed: QR of a Gaussian with the signs of R's diagonal fixed."""
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((h, h)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def _schur_blocks(eigvals: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Block-diagonal real D (h, h) with the given spectrum, and its blocks' spans."""
    h = eigvals.size
    D = np.zeros((h, h))
    blocks = []
    pending = list(eigvals)
    i = 0
    while pending:
        lam = pending.pop(0)
        if abs(lam.imag) <= 1e-12 * max(1.0, abs(lam)):
            D[i, i] = lam.real
            blocks.append((i, i + 1))
            i += 1
            continue
        # Its conjugate must be present: find and remove it.
        j = int(np.argmin([abs(mu - np.conj(lam)) for mu in pending])) if pending else -1
        if j < 0 or abs(pending[j] - np.conj(lam)) > 1e-9 * max(1.0, abs(lam)):
            raise ValueError(f"eigvals: expected complex eigenvalues in conjugate pairs (W_hh is real), "
                             f"got {lam} without {np.conj(lam)}")
        pending.pop(j)
        a, b = lam.real, abs(lam.imag)
        D[i:i + 2, i:i + 2] = [[a, -b], [b, a]]
        blocks.append((i, i + 2))
        i += 2
    return D, blocks


def _schur_parts(ev: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(D, N, Q) of W = Q (D + s·N) Qᵀ for a validated spectrum ``ev`` (h,)."""
    h = ev.size
    D, blocks = _schur_blocks(ev)
    rng = np.random.default_rng(seed + 1)
    N = rng.standard_normal((h, h)) / np.sqrt(h)
    for lo, hi in blocks:  # zero the diagonal blocks and everything below them
        N[lo:, lo:hi] = 0.0
    return D, N, random_orthogonal(h, seed)


def matrix_from_eigenvalues(eigvals, nonnormality: float = 0.0, seed: int = 0) -> np.ndarray:
    """Real W (h, h) = Q (D + s·N) Qᵀ with eigenvalues exactly ``eigvals``.

    eigvals (h,): real, or complex in conjugate pairs. nonnormality s ≥ 0
    scales N, a fixed strictly block-upper-triangular Gaussian (entries
    N(0, 1/h)); the spectrum does not depend on s, the transient growth of
    ‖W^k‖ does. Real eigenvalues with s = 0 give a symmetric W.
    """
    if isinstance(eigvals, (str, bytes)) or eigvals is None:
        raise ValueError(f"eigvals: expected a 1-D array of numbers, got {describe(eigvals)}")
    try:
        ev = np.asarray(eigvals)
    except (TypeError, ValueError):
        raise ValueError(f"eigvals: expected a 1-D array of numbers, got {describe(eigvals)}") from None
    if ev.dtype == object or not np.issubdtype(ev.dtype, np.number) or ev.ndim != 1 or ev.size == 0:
        raise ValueError(f"eigvals: expected a non-empty 1-D array of numbers, got {describe(ev)}")
    ev = ev.astype(np.complex128)
    if not np.isfinite(ev).all():
        raise ValueError("eigvals: expected finite values, got inf or NaN")
    s = as_float("nonnormality", nonnormality, low=0.0)
    seed = as_int("seed", seed, minimum=0)
    D, N, Q = _schur_parts(ev, seed)
    W = Q @ (D + s * N) @ Q.T
    if s == 0.0 and np.all(ev.imag == 0):
        W = 0.5 * (W + W.T)  # symmetric to the last bit, not only to rounding
    return W


def spectrum(h: int, rho: float, kind: str = "symmetric", spread: float = 0.5) -> np.ndarray:
    """A spectrum (h,) with largest modulus ``rho`` for a matrix ``kind``.

    symmetric: real eigenvalues with moduli from ρ down to ρ(1 − spread),
    alternating in sign (the largest positive).
    normal / nonnormal: conjugate pairs r e^{±iθ}, radii from ρ down to
    ρ(1 − spread), angles spaced over (0, π); an odd h adds the real ρ(1 − spread).
    """
    h = as_int("h", h, minimum=1)
    rho = as_float("rho", rho, low=0.0)
    as_choice("kind", kind, KINDS)
    spread = as_float("spread", spread, low=0.0, high=1.0)
    if kind == "symmetric":
        moduli = rho * np.linspace(1.0, 1.0 - spread, h)
        signs = np.where(np.arange(h) % 2 == 0, 1.0, -1.0)
        return (moduli * signs).astype(np.complex128)
    pairs = h // 2
    radii = rho * np.linspace(1.0, 1.0 - spread, max(pairs, 1))[:pairs]
    angles = np.pi * (np.arange(pairs) + 0.5) / max(pairs, 1)
    lam = radii * np.exp(1j * angles)
    ev = np.empty(h, dtype=np.complex128)
    ev[0:2 * pairs:2], ev[1:2 * pairs:2] = lam, np.conj(lam)
    if h % 2:
        ev[-1] = rho * (1.0 - spread) if pairs else rho
    return ev


def w_hh(h: int, rho: float, kind: str = "symmetric", spread: float = 0.5,
         nonnormality: float = 1.0, seed: int = 0) -> np.ndarray:
    """W_hh (h, h) of a ``kind`` with spectral radius ``rho`` (see ``spectrum``).

    ``nonnormality`` is used by kind ``nonnormal`` only.
    """
    s = nonnormality if as_choice("kind", kind, KINDS) == "nonnormal" else 0.0
    return matrix_from_eigenvalues(spectrum(h, rho, kind, spread), nonnormality=s, seed=seed)


def w_hh_schur(h: int, rho: float, kind: str = "symmetric", spread: float = 0.5,
               nonnormality: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(Q, U) with ``w_hh(h, rho, kind, spread, nonnormality, seed)`` = Q U Qᵀ (to rounding).

    Q (h, h) orthogonal, U = D + s·N (h, h) block upper triangular: D holds the
    spectrum in 1×1 and 2×2 diagonal blocks, s·N the part above them. The
    2-norm is orthogonally invariant, so ‖W^k‖₂ = ‖U^k‖₂; and products of U
    stay exactly block upper triangular in float64, so their diagonal blocks
    are D^k to rounding. Products of a very non-normal W itself do not keep
    its eigenvalues: rounding errors of 1e-16 can move them by 0.1 (h = 256,
    s = 10), and ‖W^k‖ then follows the perturbed spectrum.
    """
    s = nonnormality if as_choice("kind", kind, KINDS) == "nonnormal" else 0.0
    s = as_float("nonnormality", s, low=0.0)
    D, N, Q = _schur_parts(spectrum(h, rho, kind, spread), as_int("seed", seed, minimum=0))
    return Q, D + s * N


def w_hh_affine(h: int, kind: str = "symmetric", spread: float = 0.5, nonnormality: float = 1.0,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(A, B), both (h, h), with ``w_hh(h, ρ, kind, spread, nonnormality, seed)`` = ρ·A + B for every ρ ≥ 0.

    W(ρ) = Q U(ρ) Qᵀ with U(ρ) = ρ·D(1) + s·N (``schur_affine``): A = Q D(1) Qᵀ (symmetrised, as
    ``matrix_from_eigenvalues`` does, for a real spectrum) and B = Q s·N Qᵀ, which does not move with ρ:
    a non-normal matrix's transient growth is not scaled by ρ.
    """
    Q, D, S = schur_affine(h, kind, spread, nonnormality, seed)
    A = Q @ D @ Q.T
    if not S.any() and np.allclose(D, np.triu(np.tril(D))):  # a real spectrum: D diagonal
        A = 0.5 * (A + A.T)
    return A, (Q @ S @ Q.T if S.any() else np.zeros_like(A))


def schur_affine(h: int, kind: str = "symmetric", spread: float = 0.5, nonnormality: float = 1.0,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Q, D, S) with ``w_hh_schur(h, ρ, kind, spread, nonnormality, seed)`` = (Q, ρ·D + S) for every ρ ≥ 0:
    the spectrum scales with ρ, the block structure of D(ρ) (real eigenvalues, conjugate pairs) does not."""
    ev = spectrum(h, 1.0, kind, spread)
    s = nonnormality if kind == "nonnormal" else 0.0
    s = as_float("nonnormality", s, low=0.0)
    D, N, Q = _schur_parts(ev, as_int("seed", seed, minimum=0))
    return Q, D, s * N


def eigenvalues(W) -> np.ndarray:
    """Eigenvalues (h,) of a square W, complex, sorted by decreasing modulus."""
    W = check_square("W", W)
    ev = np.linalg.eigvals(W)
    return ev[np.argsort(-np.abs(ev), kind="stable")]


def second_modulus_ratio(eigvals) -> float:
    """|λ₂| / |λ₁|: how fast M^k x turns towards the top eigenvector (or plane) of M.

    eigvals (h,) complex, real matrix's spectrum (conjugate pairs). λ₁ is one
    eigenvalue of largest modulus; λ₂ the largest in modulus of the rest once
    one copy of λ₁ and, if complex, one copy of its conjugate are removed
    (together they span the real plane that M^k x approaches). With
    M^k x = Σ c_i λ_i^k v_i, the part of M^k x off that plane shrinks like
    (|λ₂|/|λ₁|)^k relative to the part in it. 0 when nothing is left; NaN for
    an all-zero spectrum; 1 when there is no gap (no convergence).
    """
    ev = np.asarray(eigvals, dtype=np.complex128).ravel()
    if ev.size == 0 or not np.isfinite(ev).all():
        raise ValueError(f"eigvals: expected a non-empty array of finite numbers, got {describe(eigvals)}")
    ev = ev[np.argsort(-np.abs(ev), kind="stable")]
    top = ev[0]
    if abs(top) == 0.0:
        return float("nan")
    rest = list(ev[1:])
    tol = 1e-9 * abs(top)
    if abs(top.imag) > tol and rest:  # drop one copy of the conjugate: it lies in the same real plane
        j = int(np.argmin([abs(mu - np.conj(top)) for mu in rest]))
        if abs(rest[j] - np.conj(top)) <= tol:
            rest.pop(j)
    if not rest:
        return 0.0
    return float(min(1.0, max(abs(mu) for mu in rest) / abs(top)))


def eigenvalue_drift(designed, computed) -> float:
    """max_i min_j |λ_i − μ_j|: how far the computed eigenvalues μ (m,) lie from the designed λ (n,).

    Rounding in a strongly non-normal matrix moves its eigenvalues visibly; this says how much.
    """
    designed = np.asarray(designed, dtype=np.complex128).ravel()
    computed = np.asarray(computed, dtype=np.complex128).ravel()
    return float(np.abs(designed[:, None] - computed[None, :]).min(axis=1).max())


def singular_values(W) -> np.ndarray:
    """Singular values (h,) of W, decreasing."""
    return np.linalg.svd(check_square("W", W), compute_uv=False)


def singular_values_stack(W) -> np.ndarray:
    """Singular values (F, h) of every matrix of W (F, h, h), decreasing: one batched SVD."""
    W = as_float_array("W", W, (3,))
    if W.shape[1] != W.shape[2] or W.shape[0] == 0:
        raise ValueError(f"W: expected a stack of square matrices (F, h, h), got shape {W.shape}")
    return np.linalg.svd(W, compute_uv=False)


def spectrum_over_rho(h: int, rhos, kind: str = "symmetric", spread: float = 0.5) -> np.ndarray:
    """``spectrum(h, ρ, kind, spread)`` (F, h) for every ρ of ``rhos`` (F,): the spectrum at ρ = 1 scaled."""
    r = as_float_array("rhos", rhos, (1,))
    if r.size == 0 or (r < 0).any():
        raise ValueError(f"rhos: expected spectral radii ≥ 0, got {r.tolist()}")
    return r[:, None] * spectrum(h, 1.0, kind, spread)[None, :]


def spectral_radius(W) -> float:
    """ρ(W) = max |λ_i|."""
    return float(np.max(np.abs(np.linalg.eigvals(check_square("W", W)))))


def scale_to_spectral_radius(W, rho: float) -> np.ndarray:
    """W · ρ / ρ(W), so that the result's spectral radius is ``rho``."""
    W = check_square("W", W)
    rho = as_float("spectral_radius", rho, low=0.0)
    current = spectral_radius(W)
    if current == 0.0:
        raise ValueError("W: expected a matrix with a non-zero eigenvalue to rescale, got a nilpotent one")
    return W * (rho / current)


def check_square(name: str, W) -> np.ndarray:
    W = as_float_array(name, W, (2,))
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {W.shape}")
    return W


def log10_two_norms(P: np.ndarray) -> np.ndarray:
    """log10 ‖P_i‖₂ for a stack P (n, h, h), through λ_max(PᵀP) (faster than an SVD)."""
    G = np.swapaxes(P, -1, -2) @ P
    lam = np.linalg.eigvalsh(G)[..., -1]
    with np.errstate(divide="ignore"):
        return 0.5 * np.log10(np.maximum(lam, 0.0))


def max_abs_scaled(W: np.ndarray) -> tuple[np.ndarray, float]:
    """(W / m, log10 m) with m = max|W_ij| (m = 1 for a zero matrix): entries in [−1, 1]."""
    m = float(np.max(np.abs(W)))
    return (W, 0.0) if m == 0.0 else (W / m, float(np.log10(m)))


# Certified 2-norms of a slowly changing sequence of matrices (powers W^k, products of
# Jacobians). An eigvalsh per matrix costs ~5 h³ flops; tracking the top singular subspace
# from one matrix to the next and bounding λ_max on both sides costs ~4 h² b.
TRACK_MIN_H = 24        # below this an eigvalsh is as cheap as tracking
TRACK_BLOCK = 8         # columns of the tracked block
CERTIFY_RTOL = 4e-11    # accept when λ_max(PPᵀ) ∈ [θ, θ(1 + rtol)]: log10‖P‖₂ off by ≤ 5e-12


def _ritz_bracket(P: np.ndarray, V: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(θ, u, V') with θ ≤ λ_max(G) ≤ u for G = P Pᵀ, from one Rayleigh–Ritz step on span V.

    V (h, b) orthonormal. θ is the largest Ritz value (a lower bound). For the
    upper bound write G in the basis [X₁, X₂, X⊥] (X = V S the Ritz vectors,
    X₁ the top j of them): the diagonal blocks have norms θ₁, θ_{j+1} and
    ‖C‖ ≤ tr C = ‖P‖_F² − Σθ (C ⪰ 0), the off-diagonal ones ‖R₁‖, ‖R₂‖
    (the Ritz residuals R = G X − X Θ), X₁ᵀ G X₂ = 0. So for a unit z with block
    norms (a, b, c), zᵀGz ≤ (a, b, c) M_j (a, b, c)ᵀ and λ_max(G) ≤ min_j λ_max(M_j),
    M_j = [[θ₁, 0, ‖R₁‖], [0, θ_{j+1}, ‖R₂‖], [‖R₁‖, ‖R₂‖, tr C]].
    V' = orth(G X) is one step of subspace iteration, the start for the next matrix.
    """
    Y = P.T @ V
    Z = P @ Y                                   # G V
    theta, S = np.linalg.eigh(Y.T @ Y)          # Vᵀ G V, exactly symmetric
    theta, S = np.maximum(theta[::-1], 0.0), S[:, ::-1]
    X, GX = V @ S, Z @ S
    R = GX - X * theta
    r2 = np.cumsum(np.einsum("ij,ij->j", R, R))
    trace = float(np.einsum("ij,ij->", P, P))
    tail = max(trace - float(theta.sum()), 0.0) + 1e-13 * trace  # slack for the cancellation
    b = theta.size
    M = np.zeros((b, 3, 3))
    M[:, 0, 0] = theta[0]
    M[:-1, 1, 1] = theta[1:]
    M[:, 2, 2] = tail
    M[:, 0, 2] = M[:, 2, 0] = np.sqrt(r2)
    M[:, 1, 2] = M[:, 2, 1] = np.sqrt(np.maximum(r2[-1] - r2, 0.0))
    upper = float(np.linalg.eigvalsh(M)[:, -1].min()) * (1.0 + 1e-14)
    return float(theta[0]), upper, np.linalg.qr(GX)[0]


class NormTracker:
    """log10‖P‖₂, certified to ``CERTIFY_RTOL``, for a sequence of slowly changing P (h, h).

    Tracks the top left singular subspace (right-growing products P_k = P_{k-1} A_k
    keep theirs) by subspace iteration; ``log10_norm`` returns None when the bracket
    of ``_ritz_bracket`` is not tight after ``iters`` steps, and the caller computes
    that norm exactly instead. After ``patience`` misses in a row (no gap at the top:
    the subspace does not settle) it only tries every ``patience``-th matrix until it
    certifies one again, so hopeless stretches cost little more than the exact norms.
    Deterministic: the first block is seeded.
    """

    def __init__(self, h: int, block: int = TRACK_BLOCK, iters: int = 2, patience: int = 8):
        self.V = np.linalg.qr(np.random.default_rng(0).standard_normal((h, min(block, h))))[0]
        self.iters = iters
        self.patience = patience
        self.misses = 0

    def log10_norm(self, P: np.ndarray) -> float | None:
        self.misses += 1
        if self.misses > self.patience and self.misses % self.patience:
            return None
        for _ in range(self.iters):
            theta, upper, self.V = _ritz_bracket(P, self.V)
            if theta > 0.0 and upper <= theta * (1.0 + CERTIFY_RTOL):
                self.misses = 0
                return 0.25 * (np.log10(theta) + np.log10(upper))
        return None


def _radial_log10_rho(W: np.ndarray, K: int) -> float | None:
    """log10 ρ(W) if ‖W‖₂ = ρ(W) closely enough that ‖W^k‖₂ = ρ^k for every k ≤ K, else None.

    ρ^k ≤ ‖W^k‖₂ ≤ ‖W‖₂^k for any W, so when K·log10(‖W‖₂/ρ) ≤ 1e-10 the
    midpoint k·log10 √(‖W‖₂ ρ) is within 5e-11 of log10‖W^k‖₂. This holds for
    every normal W (symmetric, or rotations), where ‖W‖₂ = ρ. An eigenvalue of
    modulus ‖W‖₂ is perfectly conditioned, so the computed ρ is reliable here.
    """
    if np.array_equal(W, W.T):
        lam = np.abs(np.linalg.eigvalsh(W)).max()
        return float(np.log10(lam)) if lam > 0.0 else None
    sigma = float(np.linalg.svd(W, compute_uv=False)[0])
    rho = float(np.abs(np.linalg.eigvals(W)).max())
    if rho == 0.0 or sigma == 0.0:
        return None
    gap = np.log10(sigma) - np.log10(rho)
    return float(0.5 * (np.log10(sigma) + np.log10(rho))) if K * gap <= 1e-10 else None


def log10_power_norms(W, K: int, chunk: int = 64, max_products: int | None = None) -> np.ndarray:
    """log10 ‖W^k‖₂ for k = 0..K, shape (K+1,), for any finite W; shorter, (M+1,) with
    M = ``max_products`` < K, when the norms need products (see below) and K of them are more than allowed.

    With W = 10^w Ŵ (max|Ŵ_ij| = 1) and renormalised products
    P_k = P_{k-1} Ŵ / c_k, c_k = max|(P_{k-1} Ŵ)_ij|,

        log10‖W^k‖₂ = k·w + Σ_{j≤k} log10 c_j + log10‖P_k‖₂,

    every stored number stays in [−1, 1]·h, so the result is finite for every
    finite W (ρ = 5, K = 2000; entries of 1e±170) and −inf only where W^k is
    exactly zero.

    Exact to ~1e-11 in log10, and fast for large h and K: when ‖W‖₂ = ρ(W)
    (every normal W) the answer is k·log10 ρ, squeezed between ρ^k ≤ ‖W^k‖₂ ≤
    ‖W‖₂^k; otherwise ‖P_k‖₂ comes from a tracked subspace with a two-sided
    bound (``NormTracker``, h ≥ 24), or from an eigvalsh of P_kᵀP_k, batched
    ``chunk`` at a time, where that bound is not tight. For a very non-normal
    W, pass its Schur factor (``w_hh_schur``): same norms, no rounding drift.
    Every power is the previous one times W: a power taken from fewer, larger
    factors (W^s by squaring or in turn) is not exact here, since the rounding
    of the factor W^s perturbs its eigenvalues, and a very non-normal W's are
    sensitive (log10‖W^600‖ off by 0.01 at s = 10, spread 0, h = 40). Hence
    ``max_products`` stops the curve rather than sampling it.
    """
    W = check_square("W", W)
    K = as_int("K", K, minimum=0)
    chunk = as_int("chunk", chunk, minimum=1)
    if max_products is not None:
        max_products = as_int("max_products", max_products, minimum=1)
    W, w = max_abs_scaled(W)
    h = W.shape[0]
    out = np.empty(K + 1)
    out[0] = 0.0
    if K == 0:
        return out
    radial = _radial_log10_rho(W, K) if K > 1 else None
    if radial is not None:
        out[1:] = np.arange(1, K + 1) * (radial + w)
        return out
    if max_products is not None and max_products < K:
        K, out = max_products, out[:max_products + 1]
    tracker = NormTracker(h) if h >= TRACK_MIN_H else None
    buf = np.empty((min(chunk, K), h, h))
    where = np.empty(buf.shape[0], dtype=np.intp)
    offsets = np.empty(buf.shape[0])
    pending = 0

    def flush(n: int) -> None:
        out[where[:n]] = offsets[:n] + log10_two_norms(buf[:n])

    P = np.eye(h)
    scale = 0.0
    for k in range(1, K + 1):
        P, c = max_abs_scaled(P @ W)
        if not P.any():  # W is nilpotent: this and every later power is exactly zero
            out[k:] = -np.inf
            break
        scale += c + w
        value = None if tracker is None else tracker.log10_norm(P)
        if value is not None:
            out[k] = scale + value
            continue
        buf[pending], where[pending], offsets[pending] = P, k, scale
        pending += 1
        if pending == buf.shape[0]:
            flush(pending)
            pending = 0
    if pending:
        flush(pending)
    return out


def alignment_with_top_eigenvector(M, K: int, seed: int = 0) -> np.ndarray:
    """cos∠(M^k x, v₁) for k = 0..K and a random Gaussian x (the section's exercise 1).

    v₁ is the eigenvector of the eigenvalue of largest modulus; for a complex
    pair the angle is to the real plane spanned by Re v₁ and Im v₁. Returns
    |cos| (K+1,), computed on renormalised iterates so it never overflows.
    """
    M = check_square("M", M)
    K = as_int("K", K, minimum=0)
    M, _ = max_abs_scaled(M)  # directions ignore a positive scale; M x stays finite for entries of 1e±300
    vals, vecs = np.linalg.eig(M)
    v = vecs[:, int(np.argmax(np.abs(vals)))]
    basis = np.column_stack([v.real, v.imag]) if np.abs(v.imag).max() > 1e-12 else v.real[:, None]
    basis, _ = np.linalg.qr(basis)
    x = np.random.default_rng(as_int("seed", seed, minimum=0)).standard_normal(M.shape[0])
    out = np.empty(K + 1)
    for k in range(K + 1):
        n = np.linalg.norm(x)
        if n == 0.0:
            out[k:] = np.nan  # M^k x became exactly zero: no direction left
            break
        x = x / n
        out[k] = min(1.0, float(np.linalg.norm(basis.T @ x)))
        x = M @ x
    return out
