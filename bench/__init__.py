"""Potok's benchmarks: each scenario measured side by side with its raw floor in one run.

    python -m bench run [--only NAME ...] [--size 10k|100k|1m] [--db sqlite|postgresql]
    python -m bench growth --size 10k,100k,1m [--db sqlite|postgresql] | --from FILE ...

Results go to ``bench/results/<date>-<db>-<size>.json`` and a Markdown table beside it; growth
curves (the runtime scenarios at several sizes side by side) to ``<date>-<db>-growth.json``.
Timings are never asserted in tests: machines are noisy; ratios against the floor are what we
track.
"""
