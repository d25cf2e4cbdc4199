"""Batch inference with the deployable (quantized) models over a folder of images or a video.

``flows.predict`` wires these together; each module holds one concept:

* ``sources``    what to read: a folder (recursively, non-images listed as skipped) or a video
                 (every Nth frame), and where outputs may not go (never inside the input);
* ``models``     which model: ``models:/<name>@<alias>``, ``models:/<name>/<version>`` or a local
                 export folder, resolved to an export folder plus the label recorded in every row;
* ``predictors`` the ONNX / TFLite runtimes behind one call: image in, result rows + overlay out;
* ``rows``       the results table's columns, types and the rows of one image (also error rows);
* ``overlays``   where the pictures go: PNGs mirroring the input tree, or an annotated video;
* ``store``      the results on disk: chunked part files, merged into parquet + CSV atomically,
                 so an interrupted run leaves consistent tables and ``--resume`` can continue;
* ``assets``     the optional asset register (GPS, timestamps, ...) joined by file stem;
* ``runner``     the loop: progress with ETA, one error row per bad image, flush on Ctrl-C.

Nothing here imports torch or TensorFlow (a test checks): the runtimes need only ONNX Runtime or
LiteRT, numpy and OpenCV, like the serving container.
"""

from __future__ import annotations


class PredictError(ValueError):
    """A request that cannot run (bad input path, output inside the input, unknown model, malformed
    assets file); the message names the path and the reason. The CLI prints it and exits 2."""
