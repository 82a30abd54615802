"""Potok's benchmarks: each scenario measured side by side with its raw floor in one run.

    python -m bench run [--only NAME ...] [--size 10k|100k|1m] [--db sqlite|postgresql]

Results go to ``bench/results/<date>-<db>.json`` and a Markdown table beside it. Timings are
never asserted in tests: machines are noisy; ratios against the floor are what we track.
"""
