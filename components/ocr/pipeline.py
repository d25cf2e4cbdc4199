"""The framework-free half of the two-stage path: results, and the glue between the detectors.

frame (full resolution, RGB uint8) -> /4 -> stage 1 -> ROI boxes -> margin, crop and letterbox
from the full-resolution frame (``crop: square``), or turned by the text's angle into an upright
strip (``crop: upright``) -> stage 2 on all crops of the frame in one batch (small print once more,
from a closer strip around its text: ``zoom_maps``; a ROI with no valid marking once more, its
strip turned a quarter: ``read_turned``) -> reading order per ROI
in the crop's coordinates -> characters mapped back to frame pixels -> the marking decoded under the
grammar of resistor codes (``components.ocr.grammar``) from each character's top-k classes.

The detectors are plain callables, so the PyTorch path (``components.ocr.predict.TwoStageOcr``) and
the ONNX Runtime path (``components.export.ocr_runtime.OnnxTwoStageOcr``) run the same glue code and
return the same ``FrameResult``. This module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from components.data.ocr_format import ROI_LABEL, OcrAnnotation, Shape
from components.ocr.grammar import Decoded, decode
from components.ocr.preprocess import (
    crop_window,
    downsample,
    letterbox,
    map_boxes,
    square_map,
    upright_strip,
    warp,
)
from components.ocr.reading import Reading, read_string

CLASS_TOPK = 3  # classes per character box handed to the grammar decoding
GRAMMAR_MIN_PROB = 0.2  # a decoded marking needs this geometric-mean probability per character
CROP_MODES = ("square", "upright")
# what became of an ROI's reading, so "nothing legible" is a value rather than a placeholder text:
# read: a valid marking under the grammar (``text`` is it); invalid: characters were found but no
# marking was probable enough (``text`` is the raw string); unreadable: stage 2 found no character
# above its threshold (``text`` is "")
READ, INVALID, UNREADABLE = "read", "invalid", "unreadable"
ROI_STATUSES = (READ, INVALID, UNREADABLE)

# (boxes (N, 4) in input pixels, labels (N,) 1-based, scores (N,)) of one image, after NMS; the
# character detector adds (topk_labels (N, k) 1-based, topk_scores (N, k)): each box's k most
# probable classes (background excluded) and their probabilities
Detections = tuple[np.ndarray, ...]
# stage 1: one downsampled frame (H x W x 3 uint8) -> its detections
RoiDetector = Callable[[np.ndarray], Detections]
# stage 2: the crops of one frame (each at the detector's input size, uint8) -> detections per crop
CharDetector = Callable[[list[np.ndarray]], list[Detections]]


@dataclass
class RoiResult:
    box: tuple[float, float, float, float]  # frame pixels
    score: float
    text: str
    confidence: float
    char_boxes: np.ndarray  # (N, 4) frame pixels, in reading order
    char_labels: list[str]  # each box's best class: they spell raw_text
    char_scores: np.ndarray
    # ``text`` is the marking decoded under the grammar when ``valid``; otherwise the raw string
    raw_text: str = ""  # the unconstrained best string (best class per box)
    valid: bool = False  # text is a resistor marking (components.ocr.grammar)
    value_ohm: float | None = None  # its value; None when not valid
    code_kind: str | None = None  # 3digit | 4digit | r_notation | eia96 | jumper; None when not valid
    status: str = UNREADABLE  # one of ROI_STATUSES


@dataclass
class FrameResult:
    rois: list[RoiResult] = field(default_factory=list)
    # every character detection of every crop (model threshold, before reading): for mAP
    all_char_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    all_char_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # 1-based
    all_char_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def to_annotation(self, image_path: str, width: int, height: int) -> OcrAnnotation:
        """Canonical LabelMe annotation of the predictions (``group_id`` ties characters to ROIs).

        Boxes are clipped to the image and characters left with no area are dropped: a detector may
        predict past the border, and the importer refuses boxes outside the image they annotate."""

        def clipped(box) -> tuple[float, float, float, float]:
            x1, y1, x2, y2 = (float(v) for v in box)
            return (
                min(max(x1, 0.0), width),
                min(max(y1, 0.0), height),
                min(max(x2, 0.0), width),
                min(max(y2, 0.0), height),
            )

        shapes = []
        for g, r in enumerate(self.rois):
            shapes.append(Shape(ROI_LABEL, *clipped(r.box), group_id=g, text=r.text))
            for b, lab in zip(r.char_boxes, r.char_labels):
                x1, y1, x2, y2 = clipped(b)
                if x2 > x1 and y2 > y1:
                    shapes.append(Shape(lab, x1, y1, x2, y2, group_id=g))
        return OcrAnnotation(image_path, width, height, shapes)


def nested(boxes: np.ndarray, cover: float = 0.8) -> np.ndarray:
    """Mask of boxes lying mostly (``cover`` of their area) inside a higher-scoring box (boxes come
    sorted by score): a resistor body inside another body's box is the same body seen twice, which
    NMS at IoU 0.45 keeps when the outer box is much larger."""
    out = np.zeros(len(boxes), bool)
    for i in range(1, len(boxes)):
        b = boxes[i]
        area = max((b[2] - b[0]) * (b[3] - b[1]), 1e-6)
        for j in range(i):
            if out[j]:
                continue
            o = boxes[j]
            iw = min(b[2], o[2]) - max(b[0], o[0])
            ih = min(b[3], o[3]) - max(b[1], o[1])
            if iw > 0 and ih > 0 and iw * ih / area >= cover:
                out[i] = True
                break
    return out


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the glue needs besides the detectors (all plain values: export writes them to
    ``ocr_meta.json``)."""

    roi_size: tuple[int, int]  # stage-1 input [w, h]
    crop_size: int  # stage-2 input side
    margin: float  # ROI grown by this share of its size on each side before cropping
    names: tuple[str, ...]  # character classes, label i -> names[i - 1]
    roi_score_threshold: float = 0.3
    char_score_threshold: float = 0.3
    dedupe_iou: float = 0.35
    grammar_min_prob: float = GRAMMAR_MIN_PROB  # below it a reading is not valid (raw text kept)
    crop: str = "square"  # square: letterboxed crop_size^2 | upright: strip turned by the text's angle
    strip_size: tuple[int, int] = (0, 0)  # [w, h] of the upright strip (crop: upright)
    # a ROI where stage 2 finds no character is reported only from this stage-1 score on (0 = always)
    unreadable_roi_threshold: float = 0.0
    # a ROI whose characters form no valid marking, likewise: marked parts and labels that are not resistors
    invalid_roi_threshold: float = 0.0
    # upright strips: a ROI whose glyphs fill less of the strip's height than this is read a second time
    # from a closer strip centred on its text (zoomed by up to zoom_max); 0 = one pass (``zoom_maps``)
    zoom_glyph_height: float = 0.0
    zoom_max: float = 2.5
    # upright strips: a reported ROI that reads no valid marking is read again with its strip turned a
    # quarter (the angle estimate took the body's short axis); kept when that reads one (``read_turned``)
    turned_read: bool = False

    def __post_init__(self):
        if self.crop not in CROP_MODES:
            raise ValueError(f"crop {self.crop!r}: expected one of {CROP_MODES}")
        if self.crop == "upright" and min(self.strip_size) < 8:
            raise ValueError(f"crop upright needs a strip_size [w, h] of at least 8 px, not {list(self.strip_size)}")


# the settings of PipelineConfig that decide how ROIs are read and reported (not given by the models):
# ``ocr.eval`` sets them, the export writes them to ``ocr_meta.json`` and the ONNX runtime reads them back
READING_SETTINGS = (
    "roi_score_threshold",
    "char_score_threshold",
    "dedupe_iou",
    "grammar_min_prob",
    "unreadable_roi_threshold",
    "invalid_roi_threshold",
    "zoom_glyph_height",
    "zoom_max",
    "turned_read",
)


def reading_settings(cfg: PipelineConfig) -> dict:
    """``cfg``'s READING_SETTINGS as plain JSON values (numbers, the one switch a bool)."""
    return {k: (bool if isinstance(getattr(cfg, k), bool) else float)(getattr(cfg, k)) for k in READING_SETTINGS}


def find_rois(image: np.ndarray, detect_rois: RoiDetector, cfg: PipelineConfig) -> tuple[np.ndarray, np.ndarray]:
    """Stage 1 on a full frame: ROI boxes in frame pixels and their scores, above the threshold,
    nested duplicates removed."""
    h, w = image.shape[:2]
    return rois_from_detections(detect_rois(downsample(image, cfg.roi_size)), w, h, cfg)


def rois_from_detections(
    dets: Detections, width: int, height: int, cfg: PipelineConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Stage-1 detections on the downsampled frame -> ROI boxes in the pixels of the ``width`` x
    ``height`` frame and their scores, above the threshold, nested duplicates removed."""
    size = cfg.roi_size
    boxes, scores = dets[0], dets[2]
    keep = scores >= cfg.roi_score_threshold
    rboxes = boxes[keep] * np.array([width / size[0], height / size[1]] * 2, np.float32)
    rscores = scores[keep]
    inner = nested(rboxes)
    return rboxes[~inner], rscores[~inner]


def roi_crops(image: np.ndarray, rboxes: np.ndarray, cfg: PipelineConfig) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The stage-2 inputs of a frame: (maps, crops), one per ROI; each map is the 2x3 affine frame
    -> crop pixels. ``square``: the window (ROI + margin) letterboxed into crop_size^2; ``upright``:
    the strip ``preprocess.upright_strip`` turns out of the frame."""
    h, w = image.shape[:2]
    maps, crops = [], []
    for b in rboxes:
        if cfg.crop == "upright":
            crop, m = upright_strip(image, b, cfg.margin, cfg.strip_size)
        else:
            win = crop_window(b, cfg.margin, w, h)
            crop, scale = letterbox(image, win, cfg.crop_size)
            m = square_map(win, scale)
        maps.append(m)
        crops.append(crop)
    return maps, crops


# one strip's reading (``read_marking``): characters in reading order, the decoded marking, kept-box mask
Marked = tuple[Reading, Decoded, np.ndarray]


ZOOM_MIN_SCORE = 0.1  # character boxes from this score on locate the text for the closer strip
ZOOM_MIN = 1.25  # a closer strip must magnify at least this much, or the first reading stands
ZOOM_FILL = 0.9  # the text may fill at most this share of the closer strip's width


def zoom_maps(dets: list[Detections], maps: list[np.ndarray], cfg: PipelineConfig) -> dict[int, np.ndarray]:
    """ROIs to read again from a closer strip, each with the map frame -> closer strip.

    A strip covers the whole body, so a marking printed small reaches stage 2 with glyphs of 10-15
    px, half the height it mostly trained on, and it misses or confuses them. Where the median
    height of the character boxes (from ``ZOOM_MIN_SCORE`` on, faint ones included: they show where
    the text is) is under ``zoom_glyph_height`` of the strip, the strip is cut again around the text,
    magnified to bring the glyphs to that height (at most ``zoom_max``, and the text no wider than
    ``ZOOM_FILL`` of the strip)."""
    if cfg.crop != "upright" or cfg.zoom_glyph_height <= 0:
        return {}
    w, h = (float(v) for v in cfg.strip_size)
    target = cfg.zoom_glyph_height * h
    out = {}
    for i, (det, m) in enumerate(zip(dets, maps)):
        boxes = det[0][det[2] >= ZOOM_MIN_SCORE]
        if not len(boxes):
            continue
        glyph = float(np.median(boxes[:, 3] - boxes[:, 1]))
        x1, y1 = boxes[:, :2].min(0)
        x2, y2 = boxes[:, 2:].max(0)
        z = min(target / max(glyph, 1.0), cfg.zoom_max, ZOOM_FILL * w / max(float(x2 - x1), 1.0))
        if z < ZOOM_MIN:
            continue
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        closer = np.array([[z, 0, w / 2 - z * cx], [0, z, h / 2 - z * cy], [0, 0, 1]], np.float64)
        out[i] = (closer @ np.vstack([np.asarray(m, np.float64), [0, 0, 1]]))[:2]
    return out


def read_closer(
    image: np.ndarray, dets: list[Detections], maps: list[np.ndarray], detect_chars: CharDetector, cfg: PipelineConfig
) -> tuple[list[Detections], list[np.ndarray]]:
    """``dets`` and ``maps`` with the ROIs ``zoom_maps`` picks read again from their closer strips
    (one more stage-2 call for all of them)."""
    closer = zoom_maps(dets, maps, cfg)
    if not closer:
        return dets, maps
    idx = list(closer)
    again = detect_chars([warp(image, closer[i], cfg.strip_size) for i in idx])
    dets, maps = list(dets), list(maps)
    for i, d in zip(idx, again):
        dets[i], maps[i] = d, closer[i]
    return dets, maps


def quarter_turn(m: np.ndarray, cfg: PipelineConfig) -> np.ndarray:
    """The map frame -> strip of ``m`` followed by a quarter turn about the strip's centre: the same
    scale and centre, the other axis of the body along the strip. ``upright_map``'s scale depends on
    the angle only through ``|cos| + |sin|``, which a quarter turn keeps, so this is exactly the strip
    the other angle candidate would have cut."""
    w, h = (float(v) for v in cfg.strip_size)
    turn = np.array([[0.0, -1.0, (w + h) / 2], [1.0, 0.0, (h - w) / 2], [0.0, 0.0, 1.0]])
    return (turn @ np.vstack([np.asarray(m, np.float64), [0, 0, 1]]))[:2]


def read_turned(
    image: np.ndarray,
    rscores: np.ndarray,
    dets: list[Detections],
    maps: list[np.ndarray],
    readings: list[Marked],
    first_maps: list[np.ndarray],
    detect_chars: CharDetector,
    cfg: PipelineConfig,
) -> tuple[list[Detections], list[np.ndarray], list[Marked]]:
    """``dets``, ``maps`` and their ``readings`` (``read_marking`` of each) with every ROI that would
    be reported without a valid marking read again from its strip turned a quarter each way
    (``quarter_turn`` of its first map, ``first_maps``; which way is up is unknown, and stage 2 reads
    upside-down glyphs poorly), and the more confident turned reading kept where it is a valid marking
    (one more stage-2 call for all of them). The readings come in and go out so that ``assemble``
    decodes no strip a second time.

    ``estimate_angle`` picks the body's long axis from two perpendicular candidates; on a small,
    nearly square or low-contrast body it sometimes picks the short one, and the strip then holds a
    few glyphs standing on their side, which read as nothing or as no marking (7 of the 48 misread
    test ROIs of 2026-12-06). Only ROIs reported anyway are retried (``unreadable_roi_threshold`` and
    ``invalid_roi_threshold`` decide that first), so the set of reported ROIs, and ROI precision, stay
    as they are."""
    if cfg.crop != "upright" or not cfg.turned_read:
        return dets, maps, readings
    idx = []
    for i, ((_, d, keep), rs) in enumerate(zip(readings, rscores)):
        status = roi_status(d.valid, int(keep.sum()))
        if status != READ and reported(status, float(rs), cfg):
            idx.append(i)
    if not idx:
        return dets, maps, readings
    turned = []
    for i in idx:  # a quarter each way: which way is up is not known
        once = quarter_turn(first_maps[i], cfg)
        turned += [once, quarter_turn(quarter_turn(once, cfg), cfg)]
    again = detect_chars([warp(image, t, cfg.strip_size) for t in turned])
    dets, maps, readings = list(dets), list(maps), list(readings)
    for k, i in enumerate(idx):
        best = 0.0
        for t, d in zip(turned[2 * k : 2 * k + 2], again[2 * k : 2 * k + 2]):
            marked = read_marking(d, float(rscores[i]), cfg)
            if marked[1].valid and marked[1].confidence > best:
                dets[i], maps[i], readings[i], best = d, t, marked, marked[1].confidence
    return dets, maps, readings


def read_strips(
    image: np.ndarray,
    rboxes: np.ndarray,
    rscores: np.ndarray,
    maps: list[np.ndarray],
    dets: list[Detections],
    detect_chars: CharDetector,
    cfg: PipelineConfig,
) -> FrameResult:
    """One frame's result from stage 2's first detections on its strips (``roi_crops``' ``maps``):
    the closer read of small print, the turned read of ROIs with no valid marking, the reading."""
    closer_dets, closer_maps = read_closer(image, dets, maps, detect_chars, cfg)
    readings = [read_marking(d, float(rs), cfg) for d, rs in zip(closer_dets, rscores)]
    dets, maps, readings = read_turned(image, rscores, closer_dets, closer_maps, readings, maps, detect_chars, cfg)
    return assemble(rboxes, rscores, maps, dets, cfg, readings)


def read_rois(
    image: np.ndarray, rboxes: np.ndarray, rscores: np.ndarray, detect_chars: CharDetector, cfg: PipelineConfig
) -> FrameResult:
    """Stage 2 and the reading on given ROIs of a frame (stage 1's, or labelled ones in a bench):
    crops, stage 2, the closer read of small print, the turned read, the reading."""
    if not len(rboxes):
        return FrameResult()
    maps, crops = roi_crops(image, rboxes, cfg)
    return read_strips(image, rboxes, rscores, maps, detect_chars(crops), detect_chars, cfg)


def run_two_stage(
    image: np.ndarray, detect_rois: RoiDetector, detect_chars: CharDetector, cfg: PipelineConfig
) -> FrameResult:
    """The whole two-stage path on one frame (RGB uint8, full resolution)."""
    rboxes, rscores = find_rois(image, detect_rois, cfg)
    return read_rois(image, rboxes, rscores, detect_chars, cfg)


def run_two_stage_batch(
    images: list[np.ndarray],
    detect_rois_batch: Callable[[list[np.ndarray]], list[Detections]],
    detect_chars: CharDetector,
    cfg: PipelineConfig,
) -> list[FrameResult]:
    """The same path on several frames at once: stage 1 on all downsampled frames in one call,
    stage 2 on the crops of all frames in one call, the closer and turned strips (``read_strips``) in
    more calls per frame that has any (throughput at batch > 1; same results per frame as
    ``run_two_stage``)."""
    roi_dets = detect_rois_batch([downsample(im, cfg.roi_size) for im in images])
    per_frame, all_crops = [], []
    for image, dets in zip(images, roi_dets):
        h, w = image.shape[:2]
        rboxes, rscores = rois_from_detections(dets, w, h, cfg)
        maps, crops = roi_crops(image, rboxes, cfg)
        per_frame.append((rboxes, rscores, maps, len(crops)))
        all_crops += crops
    char_dets = detect_chars(all_crops) if all_crops else []
    out, k = [], 0
    for image, (rboxes, rscores, maps, n) in zip(images, per_frame):
        if n:
            out.append(read_strips(image, rboxes, rscores, maps, char_dets[k : k + n], detect_chars, cfg))
        else:
            out.append(FrameResult())
        k += n
    return out


def assemble(
    rboxes: np.ndarray,
    rscores: np.ndarray,
    maps: list[np.ndarray],
    dets: list[Detections],
    cfg: PipelineConfig,
    readings: list[Marked] | None = None,
) -> FrameResult:
    """One frame's result from its ROIs, their maps frame -> crop (``roi_crops``) and stage 2's
    detections per crop: characters thresholded and read in order in the crop (where upright text
    runs along x), mapped back to frame pixels, and the marking decoded from their top-k classes
    (``read_marking``; ``readings`` when the caller already has them). A ROI with no character under
    ``unreadable_roi_threshold``, or with no valid marking under ``invalid_roi_threshold``, is left
    out (docs/ocr.md#roi-read-status)."""
    result = FrameResult()
    names = list(cfg.names)
    if readings is None:
        readings = [read_marking(det, float(rs), cfg) for det, rs in zip(dets, rscores)]
    all_b, all_l, all_s = [], [], []
    for rb, rs, m, det, (r, d, keep) in zip(rboxes, rscores, maps, dets, readings):
        boxes, labels, scores = det[:3]
        ab = map_boxes(boxes, cv2.invertAffineTransform(np.asarray(m, np.float64)))
        all_b.append(ab)
        all_l.append(labels)
        all_s.append(scores)
        cl, cs = labels[keep], scores[keep]
        text, conf = (d.text, d.confidence) if d.valid else (r.text, r.confidence)
        status = roi_status(d.valid, int(keep.sum()))
        if not reported(status, float(rs), cfg):
            continue
        result.rois.append(
            RoiResult(
                tuple(float(v) for v in rb),
                float(rs),
                text,
                conf,
                ab[keep][r.order],
                [names[int(i) - 1] for i in cl[r.order]],
                cs[r.order],
                raw_text=r.text,
                valid=d.valid,
                value_ohm=d.value_ohm,
                code_kind=d.code_kind,
                status=status,
            )
        )
    result.all_char_boxes = np.concatenate(all_b).astype(np.float32).reshape(-1, 4)
    result.all_char_labels = np.concatenate(all_l).astype(np.int64)
    result.all_char_scores = np.concatenate(all_s).astype(np.float32)
    return result


def read_marking(det: Detections, roi_score: float, cfg: PipelineConfig) -> Marked:
    """Stage 2's detections on one strip -> (the characters above ``char_score_threshold`` in reading
    order, the marking decoded from their top-k classes, the mask of the kept boxes)."""
    boxes, labels, scores = det[:3]
    keep = scores >= cfg.char_score_threshold
    cl, cs = labels[keep], scores[keep]
    names = list(cfg.names)
    r = read_string(boxes[keep], cl, cs, names, roi_score=roi_score, dedupe_iou=cfg.dedupe_iou)
    topk = (det[3][keep], det[4][keep]) if len(det) >= 5 else None
    d = decode(char_candidates(r.order, cl, cs, topk, names), min_prob=cfg.grammar_min_prob, roi_score=roi_score)
    return r, d, keep


def reported(status: str, roi_score: float, cfg: PipelineConfig) -> bool:
    """Whether a ROI of this read status is reported: with nothing legible only from
    ``unreadable_roi_threshold`` (a tape hole or a blank pad is no part), with text that is no marking
    only from ``invalid_roi_threshold`` (an IC package or a sticker is no resistor)."""
    if status == UNREADABLE:
        return roi_score >= cfg.unreadable_roi_threshold
    if status == INVALID:
        return roi_score >= cfg.invalid_roi_threshold
    return True


def roi_status(valid: bool, characters: int) -> str:
    """The ROI_STATUSES value of a reading: valid marking, characters without one, or no character."""
    if valid:
        return READ
    return INVALID if characters else UNREADABLE


def char_candidates(
    order, labels: np.ndarray, scores: np.ndarray, topk: tuple[np.ndarray, np.ndarray] | None, names: list[str]
) -> list[list[tuple[str, float]]]:
    """Per character in reading order (``order`` indexes ``labels``/``scores``): its candidate
    characters and probabilities, best first: the detected class and, when the detector gave them,
    the box's top-k classes (one entry per character, its highest probability)."""
    out = []
    for i in order:
        cand = {names[int(labels[i]) - 1]: float(scores[i])}
        if topk is not None:
            for lab, p in zip(topk[0][i], topk[1][i]):
                c = names[int(lab) - 1]
                cand[c] = max(cand.get(c, 0.0), float(p))
        out.append(sorted(cand.items(), key=lambda x: -x[1]))
    return out
