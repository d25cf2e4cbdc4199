"""The page logic of the results dashboard (``dashboard/app.py``), as plain functions.

Streamlit only draws; everything it shows is computed here, so it can be tested without a browser
and reused from a notebook. Each module holds one concept:

* ``settings``  where to look: tracking URI, experiment, results folder (environment, params.yaml);
* ``registry``  the MLflow model registry: champions, their metrics, version history, gate results;
* ``results``   a batch-prediction output folder: the table, summaries, overlays, OCR reads, map points;
* ``status``    the pipeline: the last MLflow run of every stage and of the pipeline itself.

Nothing here imports torch or TensorFlow (the dashboard needs neither, and each takes seconds to import),
nor mlflow: the caller hands in an ``MlflowClient``, so showing a
results folder does not wait seconds for mlflow to import.
"""

from __future__ import annotations
