"""Benchmarks for issue 7: sync throughput, API economy and page latency, side by side.

``python -m bench --scale full|small|tiny`` (``make bench``). See bench/RESULTS.md.
"""
