"""What the dashboard tests' MLflow store and results folders hold (tests/dashboard/conftest.py writes
them), so a test can check the page shows exactly that."""

EXPERIMENT = "inspection-pipeline"
OCR_METRICS = {
    "roi_ap50": 0.9995,
    "char_map50": 0.6029,
    "string_accuracy": 0.4906,
    "cer": 0.2279,
    "latency_ms_p50": 14.43,
    "model_bytes": 1604585.0,
    "fps_2t": 68.5,
}
CRACK_METRICS = {"dice": 0.6857, "iou": 0.5861, "latency_ms_p50": 9.96, "model_bytes": 544568.0}
CRACK_REASON = "dice quantized 0.6857 vs float 0.7090: drop 0.0233 > tolerance 0.01"
OCR_V2_REASON = "string_accuracy 0.4100 < champion v1 0.4906 on the same test split"
N_CRACK = 12
