"""W_hh from chosen eigenvalues, and the growth of its powers.

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
    h = ev.size
    D, blocks = _schur_blocks(ev)
    rng = np.random.default_rng(seed + 1)
    N = rng.standard_normal((h, h)) / np.sqrt(h)
    for lo, hi in blocks:  # zero the diagonal blocks and everything below them
        N[lo:, lo:hi] = 0.0
    Q = random_orthogonal(h, seed)
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


def eigenvalues(W) -> np.ndarray:
    """Eigenvalues (h,) of a square W, complex, sorted by decreasing modulus."""
    W = check_square("W", W)
    ev = np.linalg.eigvals(W)
    return ev[np.argsort(-np.abs(ev), kind="stable")]


def singular_values(W) -> np.ndarray:
    """Singular values (h,) of W, decreasing."""
    return np.linalg.svd(check_square("W", W), compute_uv=False)


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


def log10_power_norms(W, K: int, chunk: int = 64) -> np.ndarray:
    """log10 ‖W^k‖₂ for k = 0..K, shape (K+1,), for any finite W.

    With W = 10^w Ŵ (max|Ŵ_ij| = 1) and renormalised products
    P_k = P_{k-1} Ŵ / c_k, c_k = max|(P_{k-1} Ŵ)_ij|,

        log10‖W^k‖₂ = k·w + Σ_{j≤k} log10 c_j + log10‖P_k‖₂,

    every stored number stays in [−1, 1]·h, so the result is finite for every
    finite W (ρ = 5, K = 2000; entries of 1e±170) and −inf only where W^k is
    exactly zero.
    """
    W = check_square("W", W)
    K = as_int("K", K, minimum=0)
    W, w = max_abs_scaled(W)
    h = W.shape[0]
    out = np.empty(K + 1)
    out[0] = 0.0
    P = np.eye(h)
    scale = 0.0
    buf = np.empty((min(chunk, max(K, 1)), h, h))
    offsets = np.empty(buf.shape[0])
    k = 1
    while k <= K:
        n = min(buf.shape[0], K - k + 1)
        filled = n
        for i in range(n):
            P, c = max_abs_scaled(P @ W)
            if not P.any():  # W is nilpotent: this and every later power is exactly zero
                filled = i
                break
            scale += c + w
            buf[i] = P
            offsets[i] = scale
        out[k:k + filled] = offsets[:filled] + log10_two_norms(buf[:filled])
        if filled < n:
            out[k + filled:] = -np.inf
            break
        k += n
    return out


def alignment_with_top_eigenvector(M, K: int, seed: int = 0) -> np.ndarray:
    """cos∠(M^k x, v₁) for k = 0..K and a random Gaussian x (the section's exercise 1).

    v₁ is the eigenvector of the eigenvalue of largest modulus; for a complex
    pair the angle is to the real plane spanned by Re v₁ and Im v₁. Returns
    |cos| (K+1,), computed on renormalised iterates so it never overflows.
    """
    M = check_square("M", M)
    K = as_int("K", K, minimum=0)
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
