"""Benchmark scripts (``python bench/run_all.py``); see docs/benchmarks.md.

Imports ``components`` first, so its process-wide switches (tf-keras, the TensorFlow/triton guard)
are set before a script imports TensorFlow or torch.
"""

import components  # noqa: F401
