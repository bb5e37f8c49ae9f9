"""Development tools shared by the browser tests and the benchmarks (not part of the app)."""
