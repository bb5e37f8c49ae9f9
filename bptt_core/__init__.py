"""bptt_core: backpropagation through time in pure NumPy.

The section's RNN with column vectors (a_t = W_hx x_t + W_hh h_{t-1},
h_t = φ(a_t), o_t = W_qh h_t), its exact and truncated gradients, and the
analysis behind vanishing and exploding gradients. No Streamlit, no Plotly.

The modules by the subsection of the book's section (Dive into Deep Learning,
"Backpropagation Through Time") they implement:

- Analysis of Gradients in RNNs: ``scalar``, ``jacobians``.
- Full Computation, Truncating Time Steps, Randomized Truncation: ``bptt`` (start
  with ``bptt_reference``, the backward pass to read), ``randomized``.
- Comparing Strategies: ``truncation``, ``comparison``, ``sweeps``, ``train``.
- Backpropagation Through Time in Detail: ``model``, ``activations``, ``losses``,
  ``bptt``, ``expanded_sum``, ``spectral``, ``logspace``.
- Helpers: ``checks``, ``clipping``, ``corpus``, ``problems``, ``text``, ``uploads``.
"""

from .activations import ACTIVATIONS, GAMMA
from .bptt import (STRATEGY_KEYS, Full, Gradients, Randomized, Truncated, bptt, bptt_reference, chunked_xi,
                   multipliers, randomized_xi)
from .clipping import clip_by_global_norm, global_norm
from .comparison import StrategyComparison, compare_strategies, log10_row_norms
from .corpus import (UNK, Batches, Corpus, TokenVocab, Vocab, WindowBatch, WindowedText, d2l_time_machine,
                     fit_batch_size, make_corpus, minibatches, random_batches, sequential_batches)
from .expanded_sum import (Edge, Expansion, ScaledRows, UnrolledGradients, expanded_dL_dh, product_form_dL_dh,
                            product_form_steps, recursion_dL_dh, scaled_rows, unrolled_gradients,
                            unrolled_gradients_over_w_hh, w_hh_contributions)
from .randomized import (MonteCarlo, MonteCarloStats, VarianceSweep, randomized_expectation,
                        randomized_monte_carlo, randomized_statistics, randomized_variance_sweep,
                        sampled_gradients, xi_patterns)
from .jacobians import (FactoredJacobians, factored_step_jacobians, grid_stride, log10_jacobian_norms,
                        log10_jacobian_norms_on_grid, log10_lag_norms, log10_norm_bound, step_jacobians)
from .logspace import FLOAT64_LOG10_MAX, LogNorms, log10_gradient_norms
from .losses import LOSSES
from .model import RNN, Trace, forward, init_rnn
from .problems import MATRIX_KINDS, MAX_H, TOY_D, TOY_Q, lab_problem, lab_w_hh, lab_w_hh_over_rho, toy_problem
from .gated import (CELLS, GATES, GatedGradients, GatedJacobians, GatedRNN, GatedTrace, gated_bptt, gated_forward,
                    gated_like_rnn, gated_log10_dL_dh, gated_step_jacobians, init_gated, init_with_biases,
                    lstm_lag_norms_over_forget_bias, lstm_log10_dL_dh_over_forget_bias, parameter_names)
from .scalar import (ScalarCheck, ScalarTerms, butterfly, compare_recursion_and_terms, log10_growth,
                     scalar_checks_over_c, scalar_recursion, scalar_sequences, scalar_terms, scalar_terms_over_c)
from .spectral import (KINDS, alignment_with_top_eigenvector, eigenvalue_drift, eigenvalues, log10_power_norms,
                       matrix_from_eigenvalues, random_orthogonal, scale_to_spectral_radius,
                       second_modulus_ratio, singular_values, singular_values_stack, spectral_radius, spectrum,
                       spectrum_over_rho, w_hh,
                       schur_affine, w_hh_affine, w_hh_schur)
from .sweeps import (chunked_xi_sweep, log10_dL_dh_over_rho, log10_dL_dh_sweep, log10_power_norms_scaled,
                     log10_lag_norms_over_rho, log10_power_norms_stack, log10_sliding_dL_dh_sweep, randomized_xi_sweep, rescaled_power_norms,
                     scaled_backward_norms)
from .text import FALLBACK_TEXT, LoadedText, load_time_machine, preprocess
from .uploads import MAX_MATRIX_BYTES, MAX_TEXT_BYTES, InputError, UserText, parse_matrix, read_text
from .train import (BOOK_VALID_PERPLEXITY, D2L_1_0, DTYPES, OPTIMIZERS, PIPELINES, CharRNN, History, ParamGrads,
                    TrainConfig, Trainer, Update, d2l_1_0_config, generate, init_char_rnn, matched_pi, perplexity,
                    strategy_from_name, train, window_gradients, windowed_perplexity)
from .truncation import (BOOK_FIGURE_PI, BOOK_FIGURE_SEGMENTS, BOOK_FIGURE_TAU, BOOK_FIGURE_TEXT,
                         boundaries_from_xi, full_boundaries, randomized_boundaries,
                         regular_boundaries, segments, xi_from_segments)

__all__ = [name for name in dir() if not name.startswith("_")]
