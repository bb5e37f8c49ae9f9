"""Argument validation of the public core: every bad argument raises ValueError
(never another exception) whose message names the argument, says what was
expected and what was given. And overflow is reported, never raised."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bptt_core import (ACTIVATIONS, RNN, Full, Randomized, Truncated, bptt, forward,
                       log10_power_norms, matrix_from_eigenvalues, scalar_terms)

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def assert_names(exc_info, name: str):
    """The ValueError's message mentions ``name`` as a word."""
    msg = str(exc_info.value)
    assert re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", msg), (name, msg)


def raises_naming(name, fn, *args, **kwargs):
    with pytest.raises(ValueError) as exc_info:
        fn(*args, **kwargs)
    assert_names(exc_info, name)
    return str(exc_info.value)


# --- strategies for bad values ----------------------------------------------------------------

def object_array():
    a = np.empty(2, dtype=object)
    a[0], a[1] = 1.0, "x"
    return a


RAGGED = [[1.0, 2.0], [3.0]]


def junk(ragged=True, none=True):
    """Things that are not numeric arrays at all (None only where it is not the default)."""
    options = [st.text(max_size=4), st.binary(max_size=3), st.just({}), st.builds(object),
               st.builds(object_array), st.just(np.array(["a", "b"])), st.just([None, 1.0]),
               st.just(np.array([1 + 2j, 3.0])), st.just([1.0, "2"]), st.just(np.array(["2020-01-01"], dtype="datetime64[D]"))]
    if ragged:
        options.append(st.just(RAGGED))
    if none:
        options.append(st.none())
    return st.one_of(*options)


FINITE = st.floats(-10, 10, allow_nan=False)


@st.composite
def nonfinite(draw, shape):
    """An array of ``shape`` with one NaN or ±inf entry."""
    a = draw(hnp.arrays(np.float64, shape, elements=FINITE))
    idx = tuple(draw(st.integers(0, n - 1)) for n in shape)
    a[idx] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return a


@st.composite
def wrong_ndim(draw, allowed):
    ndim = draw(st.sampled_from([n for n in range(5) if n not in allowed]))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    return np.ones(shape) if ndim else np.float64(draw(FINITE))


@st.composite
def empty(draw, ndim):
    shape = [draw(st.integers(0, 3)) for _ in range(ndim)]
    shape[draw(st.integers(0, ndim - 1))] = 0
    return np.zeros(tuple(shape))


def bad_array(shape, allowed_ndim, ragged=True, none=True):
    return st.one_of(junk(ragged, none), nonfinite(shape), wrong_ndim(allowed_ndim), empty(len(shape)))


NOT_INT = st.one_of(st.floats(allow_nan=True).filter(lambda x: not float(x).is_integer()),
                    st.floats(-5, 5).filter(lambda x: float(x).is_integer()),  # 3.0 is not an int
                    st.text(max_size=3), st.none(), st.booleans(), st.just([1]), st.just(np.array([2])))


def bad_int(minimum, maximum=None, none=True):
    out = [NOT_INT if none else NOT_INT.filter(lambda v: v is not None), st.integers(-10**6, minimum - 1)]
    if maximum is not None:
        out.append(st.integers(maximum + 1, maximum + 10**6))
    return st.one_of(*out)


BAD_CHOICE = st.one_of(st.text(max_size=8), st.none(), st.integers(), st.just(["tanh"]), st.just(b"tanh"))


def sizes():
    return st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 6))


def valid_rnn(d, h, q, act="tanh"):
    rng = np.random.default_rng(0)
    return RNN(rng.standard_normal((h, d)), 0.5 * rng.standard_normal((h, h)),
               rng.standard_normal((q, h)), activation=act)


# --- RNN(...) ---------------------------------------------------------------------------------

@SETTINGS
@given(sizes(), st.data())
def test_rnn_bad_w_hx(dims, data):
    d, h, q, _ = dims
    bad = data.draw(st.one_of(bad_array((h, d), (2,)),
                              st.integers(1, 4).filter(lambda k: k != h).map(lambda k: np.ones((k, d)))))
    raises_naming("W_hx", RNN, bad, np.eye(h), np.ones((q, h)))


@SETTINGS
@given(sizes(), st.data())
def test_rnn_bad_w_hh(dims, data):
    d, h, q, _ = dims
    bad = data.draw(st.one_of(bad_array((h, h), (2,)),
                              st.integers(1, 4).filter(lambda k: k != h).map(lambda k: np.ones((h, k)))))
    raises_naming("W_hh", RNN, np.ones((h, d)), bad, np.ones((q, h)))


@SETTINGS
@given(sizes(), st.data())
def test_rnn_bad_w_qh(dims, data):
    d, h, q, _ = dims
    bad = data.draw(st.one_of(bad_array((q, h), (2,)),
                              st.integers(1, 4).filter(lambda k: k != h).map(lambda k: np.ones((q, k)))))
    raises_naming("W_qh", RNN, np.ones((h, d)), np.eye(h), bad)


@SETTINGS
@given(BAD_CHOICE.filter(lambda a: a not in ACTIVATIONS))
def test_rnn_bad_activation(act):
    raises_naming("activation", RNN, np.ones((2, 1)), np.eye(2), np.ones((1, 2)), activation=act)


# --- forward ----------------------------------------------------------------------------------

@SETTINGS
@given(sizes(), st.data())
def test_forward_bad_x(dims, data):
    d, h, q, T = dims
    rnn = valid_rnn(d, h, q)
    bad = data.draw(st.one_of(
        bad_array((T, d), (2, 3)),
        nonfinite((T, 2, d)),
        st.integers(1, 5).filter(lambda k: k != d).map(lambda k: np.ones((T, k))),  # mismatched d
        st.integers(1, 5).filter(lambda k: k != d).map(lambda k: np.ones((T, 2, k))),
        st.just(np.zeros((0, d))),  # T = 0
    ))
    raises_naming("X", forward, rnn, bad)


@SETTINGS
@given(sizes(), st.booleans(), st.data())
def test_forward_bad_h0(dims, batched, data):
    d, h, q, T = dims
    rnn = valid_rnn(d, h, q)
    X = np.ones((T, 3, d)) if batched else np.ones((T, d))
    state = (3, h) if batched else (h,)
    wrong_shapes = st.tuples(st.integers(1, 5), st.integers(1, 5)).map(np.ones).filter(
        lambda a: a.shape != (3, h)) if batched else st.one_of(
        st.integers(1, 6).filter(lambda k: k != h).map(np.ones), st.just(np.ones((2, h))))
    bad = data.draw(st.one_of(junk(none=False), nonfinite(state), wrong_ndim((1, 2)), empty(len(state)),
                              wrong_shapes))
    raises_naming("h0", forward, rnn, X, bad)


@SETTINGS
@given(junk())
def test_forward_bad_rnn(bad):
    raises_naming("rnn", forward, bad, np.ones((3, 2)))


# --- bptt -------------------------------------------------------------------------------------

@SETTINGS
@given(sizes(), st.booleans(), st.data())
def test_bptt_bad_mse_targets(dims, batched, data):
    d, h, q, T = dims
    rnn = valid_rnn(d, h, q)
    X = np.ones((T, 2, d)) if batched else np.ones((T, d))
    shape = X.shape[:-1] + (q,)
    bad = data.draw(st.one_of(
        junk(), nonfinite(shape), wrong_ndim((len(shape),)), empty(len(shape)),
        st.integers(1, 6).filter(lambda k: k != q).map(lambda k: np.ones(shape[:-1] + (k,))),
        st.integers(1, 8).filter(lambda k: k != T).map(lambda k: np.ones((k,) + shape[1:]))))
    raises_naming("Y", bptt, rnn, X, bad, Full(), "mse")


@SETTINGS
@given(sizes(), st.booleans(), st.data())
def test_bptt_bad_xent_labels(dims, batched, data):
    d, h, q, T = dims
    rnn = valid_rnn(d, h, q)
    X = np.ones((T, 2, d)) if batched else np.ones((T, d))
    shape = X.shape[:-1]
    idx = data.draw(st.tuples(*[st.integers(0, n - 1) for n in shape]))
    bad_value = data.draw(st.one_of(
        st.integers(q, q + 100),  # out of range
        st.integers(-100, -1),  # negative
        st.floats(-5, q + 5).filter(lambda x: not float(x).is_integer()),  # fractional
        st.sampled_from([np.nan, np.inf])))
    Y = np.zeros(shape)
    Y[idx] = bad_value
    bad = data.draw(st.one_of(st.just(Y), junk(), wrong_ndim((len(shape),)), empty(len(shape)),
                              st.just(np.zeros(shape + (q,)))))  # mse-shaped targets for xent
    raises_naming("Y", bptt, rnn, X, bad, Full(), "xent")


@SETTINGS
@given(sizes(), st.data())
def test_bptt_bad_x_and_h0(dims, data):
    d, h, q, T = dims
    rnn = valid_rnn(d, h, q)
    bad = data.draw(st.one_of(bad_array((T, d), (2, 3)),
                              st.integers(1, 5).filter(lambda k: k != d).map(lambda k: np.ones((T, k)))))
    raises_naming("X", bptt, rnn, bad, np.ones((T, q)))
    bad_h0 = data.draw(st.one_of(nonfinite((h,)), st.integers(1, 6).filter(lambda k: k != h).map(np.ones)))
    raises_naming("h0", bptt, rnn, np.ones((T, d)), np.ones((T, q)), h0=bad_h0)
    raises_naming("rnn", bptt, data.draw(junk()), np.ones((T, d)), np.ones((T, q)))


@SETTINGS
@given(BAD_CHOICE.filter(lambda a: a not in ("mse", "xent")))
def test_bptt_bad_loss(loss):
    raises_naming("loss", bptt, valid_rnn(1, 2, 1), np.ones((3, 1)), np.ones((3, 1)), Full(), loss)


@SETTINGS
@given(st.one_of(junk(), st.integers(), st.just(Full), st.just("full")))
def test_bptt_bad_strategy(strategy):
    raises_naming("strategy", bptt, valid_rnn(1, 2, 1), np.ones((3, 1)), np.ones((3, 1)), strategy)


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 10))
def test_bptt_xi_wrong_length(T, n):
    if n == T:
        n = T + 1
    rnn = valid_rnn(2, 3, 1)
    raises_naming("xi", bptt, rnn, np.ones((T, 2)), np.ones((T, 1)), Randomized(0.5, xi=np.ones(n)))


# --- Truncated, Randomized --------------------------------------------------------------------

@SETTINGS
@given(bad_int(1))
def test_truncated_bad_tau(tau):
    raises_naming("tau", Truncated, tau)


@SETTINGS
@given(BAD_CHOICE.filter(lambda m: m not in ("chunked", "sliding")))
def test_truncated_bad_mode(mode):
    raises_naming("mode", Truncated, 3, mode)


BAD_PI = st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True),
                   st.sampled_from([np.nan, np.inf, -np.inf]), st.text(max_size=3), st.none(),
                   st.booleans(), st.just([0.5]), st.just(np.array([0.5])), st.just(0.5j))


@SETTINGS
@given(BAD_PI)
def test_randomized_bad_pi(pi):
    raises_naming("pi", Randomized, pi)


@SETTINGS
@given(bad_int(0))
def test_randomized_bad_seed(seed):
    raises_naming("seed", Randomized, 0.5, seed=seed)


@SETTINGS
@given(st.integers(1, 6).flatmap(lambda T: bad_array((T,), (1,), none=False)))  # None: draw ξ
def test_randomized_bad_xi(xi):
    raises_naming("xi", Randomized, 0.5, xi=xi)


def test_randomized_none_xi_is_valid():
    assert Randomized(0.5, xi=None).xi is None


# --- matrix_from_eigenvalues, log10_power_norms, scalar_terms ---------------------------------

@st.composite
def unpaired(draw):
    re_, im = draw(FINITE), draw(st.floats(0.1, 5))
    others = draw(st.lists(FINITE, max_size=3))
    return np.array([complex(re_, im)] + others, dtype=np.complex128)


@SETTINGS
@given(st.integers(1, 5).flatmap(lambda h: st.one_of(bad_array((h,), (1,), ragged=False), unpaired(),
                                                     st.just(np.array([True, False])))))
def test_matrix_from_eigenvalues_bad_eigvals(ev):
    raises_naming("eigvals", matrix_from_eigenvalues, ev)


@SETTINGS
@given(st.one_of(st.floats(max_value=0.0, exclude_max=True), st.sampled_from([np.nan, np.inf]),
                 st.text(max_size=2), st.none(), st.just([1.0])))
def test_matrix_from_eigenvalues_bad_nonnormality(s):
    raises_naming("nonnormality", matrix_from_eigenvalues, [0.5, -0.5], nonnormality=s)


@SETTINGS
@given(bad_int(0))
def test_matrix_from_eigenvalues_bad_seed(seed):
    raises_naming("seed", matrix_from_eigenvalues, [0.5, -0.5], seed=seed)


def test_matrix_from_eigenvalues_ragged_names_eigvals():
    raises_naming("eigvals", matrix_from_eigenvalues, RAGGED)


@SETTINGS
@given(st.integers(1, 4), st.data())
def test_log10_power_norms_bad_w(h, data):
    bad = data.draw(st.one_of(bad_array((h, h), (2,)),
                              st.integers(1, 5).filter(lambda k: k != h).map(lambda k: np.ones((h, k)))))
    raises_naming("W", log10_power_norms, bad, 5)


@SETTINGS
@given(bad_int(0))
def test_log10_power_norms_bad_k(K):
    raises_naming("K", log10_power_norms, np.eye(2), K)


@SETTINGS
@given(st.integers(1, 6), st.data())
def test_scalar_terms_bad_b(T, data):
    bad = data.draw(bad_array((T,), (1,)))
    raises_naming("b", scalar_terms, bad, np.ones(T))


@SETTINGS
@given(st.integers(1, 6), st.data())
def test_scalar_terms_bad_c(T, data):
    bad = data.draw(st.one_of(bad_array((T,), (1,)),
                              st.integers(1, 8).filter(lambda k: k != T).map(np.ones)))  # length ≠ len(b)
    raises_naming("c", scalar_terms, np.ones(T), bad)


@SETTINGS
@given(st.integers(1, 6).flatmap(lambda T: st.tuples(st.just(T), bad_int(1, T, none=False))))
def test_scalar_terms_bad_t(T_t):
    T, t = T_t  # (t = None means t = T: valid)
    raises_naming("t", scalar_terms, np.ones(T), np.ones(T), t)


# --- explicit message wording: argument, expectation, given value -----------------------------

def words(msg, *parts):
    for p in parts:
        assert p in msg, (p, msg)


def test_message_bad_tau():
    words(raises_naming("tau", Truncated, 0), "tau", "expected", ">= 1", "got 0")
    words(raises_naming("tau", Truncated, 2.5), "tau", "expected an integer", "2.5")
    words(raises_naming("tau", Truncated, "3"), "tau", "expected an integer", "'3'")


def test_message_bad_pi():
    words(raises_naming("pi", Randomized, 1.5), "pi", "expected", "(0, 1]", "1.5")
    words(raises_naming("pi", Randomized, 0.0), "pi", "(0, 1]", "got 0")
    words(raises_naming("pi", Randomized, float("nan")), "pi", "finite", "nan")


def test_message_bad_mode_and_activation_and_loss():
    words(raises_naming("mode", Truncated, 4, "window"), "expected one of", "chunked", "sliding", "'window'")
    words(raises_naming("activation", RNN, np.ones((2, 1)), np.eye(2), np.ones((1, 2)), "softsign"),
          "expected one of", "tanh", "'softsign'")
    words(raises_naming("loss", bptt, valid_rnn(1, 2, 1), np.ones((3, 1)), np.ones((3, 1)), Full(), "l1"),
          "expected one of", "mse", "xent", "'l1'")


def test_message_bad_shapes():
    words(raises_naming("W_hh", RNN, np.ones((3, 2)), np.ones((3, 4)), np.ones((1, 3))),
          "square", "(3, 4)")
    rnn = valid_rnn(3, 4, 2)
    words(raises_naming("X", forward, rnn, np.ones((5, 2))), "d = 3", "(5, 2)")
    words(raises_naming("X", forward, rnn, np.ones(5)), "2-D or 3-D", "(5,)")
    words(raises_naming("X", forward, rnn, np.ones((0, 3))), "non-empty", "(0, 3)")
    words(raises_naming("h0", forward, rnn, np.ones((5, 3)), np.ones(3)), "(4,)", "(3,)")
    words(raises_naming("xi", bptt, rnn, np.ones((5, 3)), np.ones((5, 2)), Randomized(0.5, xi=np.ones(4))),
          "(5,)", "(4,)")


def test_message_bad_values():
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    words(raises_naming("X", forward, valid_rnn(3, 4, 2), X), "finite", "nan", "(2, 1)")
    words(raises_naming("X", forward, valid_rnn(3, 4, 2), "abc"), "numeric", "'abc'")
    words(raises_naming("X", forward, valid_rnn(3, 4, 2), None), "numeric", "None")
    words(raises_naming("X", forward, valid_rnn(3, 4, 2), object_array()), "numeric", "object")


def test_message_bad_labels():
    rnn = valid_rnn(3, 4, 3)
    X = np.ones((4, 3))
    words(raises_naming("Y", bptt, rnn, X, np.array([0, 1, 3, 0]), Full(), "xent"),
          "[0, 2]", "q = 3", "[0, 3]")
    words(raises_naming("Y", bptt, rnn, X, np.array([0, 1.5, 2, 0]), Full(), "xent"), "integer", "fraction")


def test_message_other_functions():
    words(raises_naming("K", log10_power_norms, np.eye(2), -1), ">= 0", "-1")
    words(raises_naming("W", log10_power_norms, np.ones((2, 3)), 3), "square", "(2, 3)")
    words(raises_naming("eigvals", matrix_from_eigenvalues, [1 + 1j, 0.5]), "conjugate", "(1+1j)")
    words(raises_naming("nonnormality", matrix_from_eigenvalues, [1.0], nonnormality=-2.0), "[0, inf)", "-2")
    words(raises_naming("t", scalar_terms, np.ones(5), np.ones(5), 9), "<= 5", "9")
    words(raises_naming("c", scalar_terms, np.ones(5), np.ones(4)), "(5,)", "(4,)")


# --- overflow is reported, never raised -------------------------------------------------------

def exploding_identity_rnn(h=3, rho=5.0):
    rng = np.random.default_rng(0)
    return RNN(rng.standard_normal((h, 2)), rho * np.eye(h), rng.standard_normal((1, h)),
               activation="identity")


def test_overflow_reported_not_raised():
    T = 1000
    rnn = exploding_identity_rnn()
    rng = np.random.default_rng(1)
    X = rng.standard_normal((T, 2))
    Y = rng.standard_normal((T, 1))
    tr = forward(rnn, X)
    finite_rows = np.isfinite(tr.H[1:]).all(axis=1)
    first_bad = int(np.argmin(finite_rows)) + 1
    assert not finite_rows.all()
    assert tr.overflow_step == first_bad
    assert np.isfinite(tr.H[:first_bad]).all()
    assert 400 < tr.overflow_step < 460  # 5^t passes 1.8e308 near t = 441
    for strategy in (Full(), Truncated(10), Truncated(10, "sliding"), Randomized(0.5, seed=3)):
        g = bptt(rnn, X, Y, strategy)
        assert g.forward_overflow_step == tr.overflow_step
        assert g.backward_overflow_step is not None
        assert 1 <= g.backward_overflow_step <= T
        # The largest t whose ∂L/∂h_t is not finite.
        bad_t = np.flatnonzero(~np.isfinite(g.dL_dh).all(axis=1)) + 1
        assert g.backward_overflow_step == bad_t.max()
        assert g.finite is False


def test_no_overflow_reports_none():
    rnn = exploding_identity_rnn(rho=0.5)
    X = np.random.default_rng(1).standard_normal((1000, 2))
    tr = forward(rnn, X)
    assert tr.overflow_step is None
    g = bptt(rnn, X, np.zeros((1000, 1)))
    assert g.forward_overflow_step is None and g.backward_overflow_step is None
    assert g.finite is True
