"""Prefect flows, one per DVC stage; each runs through the lifecycle in ``flows.stage``.

Imports ``components`` first, so its process-wide switches (tf-keras, the TensorFlow/triton guard)
are set before a flow module imports TensorFlow or torch.

``python -m flows.<stage>`` imports this package before the flow module and its heavy imports
(Prefect, MLflow, PyTorch, TensorFlow, which take seconds to load and a temporary Prefect server,
which takes more to start). So params.yaml is checked here first: a bad file stops the command in
about a second with the same lines as ``python -m components.config check`` and exit code 2.
"""

import sys

import components  # noqa: F401

if sys.argv[:1] == ["-m"]:  # run as `python -m flows.<module>`: the module is still being located
    from flows.preflight import check_params

    check_params(sys.orig_argv)
