"""agent-console benchmarks: `python -m bench` (see `python -m bench --help`).

Measured here, never with timed assertions in tests. Each benchmark module registers in
`bench.common.BENCHMARKS` and returns `Result`s; `__main__` prints one table and writes
`bench/results.json`.
"""
