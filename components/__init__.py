"""The pipeline's framework-free building blocks (flows/ wires them to Prefect, MLflow and DVC).

Importing this package, which every module under ``components/``, ``flows/``, ``dashboard/`` and
``bench/`` does first, sets the process-wide switches the third-party imports depend on, in this one
place, before any of them is imported:

* ``TF_USE_LEGACY_KERAS=1``: ``tf.keras`` is tf-keras (Keras 2), which tensorflow-model-optimization's
  quantization-aware training needs; TensorFlow reads it when it is first imported.
* ``GX_ANALYTICS_ENABLED=false``: no Great Expectations telemetry.
* A guard that makes TensorFlow and torch safe to import in either order (:class:`_TritonAfterTensorFlow`).

Both use ``setdefault``: a value set in the environment wins.
"""

from __future__ import annotations

import importlib.abc
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


class _TritonAfterTensorFlow(importlib.abc.MetaPathFinder):
    """Marks ``triton`` absent in a process that imports TensorFlow before it.

    ``libtriton.so`` (pulled in by ``torch._dynamo``, e.g. through ``torchvision.ops``) and TensorFlow
    each carry their own copy of LLVM. The dynamic linker binds LLVM's process-wide singletons (GNU
    unique symbols such as ``llvm::DebugCounter::instance()``) to the copy loaded first, so when
    TensorFlow came first, libtriton's static initialisers run on TensorFlow's LLVM objects and the
    process segfaults (``free()`` in ``DenseMap`` under ``_GLOBAL__sub_I_PassBuilder.cpp``). The other
    order is fine. Nothing here uses triton (it only backs ``torch.compile`` on GPUs) and torch treats
    a missing triton as "no triton", so when TensorFlow is imported first this finder sets
    ``sys.modules["triton"] = None``: ``import triton`` then raises ``ModuleNotFoundError`` and
    ``importlib.util.find_spec("triton")`` returns None. It finds nothing itself (always None).
    """

    def find_spec(self, name, path=None, target=None):  # noqa: D102 - importlib protocol
        if name == "tensorflow":
            _hide_triton()
        return None


def _hide_triton() -> None:
    if "triton" not in sys.modules:
        sys.modules["triton"] = None


if "tensorflow" in sys.modules:  # imported before this package: the finder would not see it
    _hide_triton()
if not any(isinstance(f, _TritonAfterTensorFlow) for f in sys.meta_path):
    sys.meta_path.insert(0, _TritonAfterTensorFlow())
