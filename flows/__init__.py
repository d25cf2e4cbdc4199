"""Prefect flows, one per DVC stage (``python -m flows.<stage>``), plus the pipeline and batch prediction.

Imports ``components`` first, so its process-wide switches (tf-keras, the TensorFlow/triton guard)
are set before a flow module imports TensorFlow or torch.
"""

import components  # noqa: F401
