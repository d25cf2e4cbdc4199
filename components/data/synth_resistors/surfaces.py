"""The other surfaces (ESD mat, carrier tape) and the dispatcher that draws a frame's surface at
half resolution (its features are large) before the parts go on top.
"""

from __future__ import annotations

import cv2
import numpy as np

from components.data.synth_resistors.looks import TAPE
from components.data.synth_resistors.parts import ResistorSpec, _halved
from components.data.synth_resistors.pcb import _pcb_background
from components.data.synth_resistors.raster import (
    _c3,
    _fbm,
    _free,
    _grain,
    _rot,
    _rotated_bbox,
    _shift,
    _smooth,
    _stamp,
    _tint,
)
from components.data.synth_resistors.scene import Scene, _silk_text, _stroke_text_mask
from components.data.synth_resistors.styles import _count, _pick


def _mat_background(rng: np.random.Generator, sc: Scene, h: int, w: int) -> np.ndarray:
    col = np.array(_pick(rng, sc.style.mat_colours), np.float32) * rng.uniform(0.85, 1.1)
    img = np.empty((h, w, 3), np.float32)
    img[:] = col
    low = cv2.resize(_fbm(rng, h // 4, w // 4, (80, 20, 5), (1.0, 0.5, 0.5)), (w, h), interpolation=cv2.INTER_LINEAR)
    speck = _grain(rng, h, w)
    img *= _c3(1 + 0.03 * low + 0.07 * speck)
    if rng.random() < 0.5:  # printed grid / ruler lines
        lines = np.zeros((h, w), np.float32)
        step = rng.uniform(1.5, 4.0) * sc.scale
        step = max(step, 120.0 * sc.res)
        a = _rot(sc.board_angle)
        c = np.array([w / 2, h / 2])
        for k in range(-8, 9):
            for d in (0, 1):
                off = np.array([k * step, 0]) if d == 0 else np.array([0, k * step])
                along = np.array([0, 2 * w]) if d == 0 else np.array([2 * w, 0])
                p0, p1 = c + a @ (off - along), c + a @ (off + along)
                cv2.line(lines, tuple(np.round(p0).astype(int)), tuple(np.round(p1).astype(int)), 1.0, 2, cv2.LINE_AA)
        lines = cv2.GaussianBlur(lines, (0, 0), 1.0)
        img *= _c3(1 - 0.25 * lines)
    tcol = np.array([240, 240, 235], np.float32) if col.mean() < 140 else np.array([40, 40, 45], np.float32)
    txt = np.zeros((h, w), np.float32)
    for _ in range(_count(rng, sc.style.silk_texts)):
        mask = _stroke_text_mask(rng, _silk_text(rng), float(rng.uniform(25, 90) * sc.res))
        ang = sc.board_angle + float(rng.choice([0, 90]))
        for _try in range(6):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            if _free(_rotated_bbox(ang, mask.shape[1], mask.shape[0], cx, cy), sc.forbidden, 8 * sc.res):
                sc.negatives.append(("mat_text", _stamp(txt, mask, ang, cx, cy)))
                break
    img += (tcol - img) * _c3(cv2.GaussianBlur(txt, (0, 0), 1.0) * 0.85)
    return img


def _tape_background(rng: np.random.Generator, sc: Scene, h: int, w: int, pockets: list) -> np.ndarray:
    """Paper or black embossed carrier tape along the board angle + 90 degrees, with pockets."""
    paper = rng.random() < sc.style.tape_paper_prob
    a = _rot(sc.board_angle + 90)  # the tape runs along the rotated x axis
    img, pocket_col = _tape_material(rng, sc, h, w, paper)
    s, px = sc.scale, sc.res
    centre = pockets[0][0] if pockets else np.array([w / 2, h / 2])
    n_dir = a @ np.array([0.0, 1.0])
    # tape edges: the pocket line off-centre; outside lies a dark machine surface
    tape_w = TAPE.width_mm * s
    off = float(rng.uniform(*TAPE.pocket_line_offset)) * tape_w
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = (xx - centre[0]) * n_dir[0] + (yy - centre[1]) * n_dir[1]
    outside = np.clip(np.abs(dist + off) - tape_w / 2 + 0.5, 0, 1)
    if outside.any():
        surf = rng.uniform(*TAPE.machine_grey)
        img += (_c3(surf * (1 + 0.05 * _smooth(rng, h, w, 30 * px))) - img) * _c3(outside)
    _sprocket_holes(rng, sc, img, centre, a)
    # pockets: recesses with a shadowed wall on the lit side
    pmask = np.zeros((h, w), np.float32)
    for c, (pl, pwid) in pockets:
        _stamp(pmask, np.ones((max(1, int(pwid)), max(1, int(pl))), np.float32), sc.board_angle, *c)
    pm = cv2.GaussianBlur(pmask, (0, 0), 1.0)
    wall = np.clip(pm - _shift(pm, sc.light * 1.5), 0, 1)
    rim = np.clip(_shift(pm, -sc.light) - pm, 0, 1)
    img += (pocket_col - img) * _c3(pm * 0.85)
    img *= _c3(1 - 0.5 * wall + 0.25 * rim)
    if rng.random() < TAPE.cover_tape_prob:
        _cover_tape_seals(rng, sc, img, centre, a)
    return img


def _tape_material(rng: np.random.Generator, sc: Scene, h: int, w: int, paper: bool) -> tuple[np.ndarray, np.ndarray]:
    """The tape's own surface (paper fibres or black plastic) and the colour of its pockets."""
    px = sc.res
    if paper:
        col = np.array([rng.uniform(*TAPE.paper_grey)] * 3, np.float32) * np.array(TAPE.paper_tint, np.float32)
        fib = _smooth(rng, h // 2, w // 2, 3)  # fibres: noise smeared along the tape
        k = 9
        kern = np.zeros((k, k), np.float32)
        kern[k // 2, :] = 1.0
        kern = cv2.warpAffine(kern, cv2.getRotationMatrix2D((k // 2, k // 2), sc.board_angle + 90, 1.0), (k, k))
        fib = cv2.resize(cv2.filter2D(fib, -1, kern / kern.sum()), (w, h), interpolation=cv2.INTER_LINEAR)
        lum = 1 + 0.06 * fib + 0.04 * _grain(rng, h, w) + 0.03 * _smooth(rng, h, w, 40 * px)
        pocket_col = col * rng.uniform(*TAPE.paper_pocket_shade)
    else:
        g = rng.uniform(*TAPE.plastic_grey)
        col = np.array([g, g, g * 1.03], np.float32)
        lum = 1 + 0.05 * _grain(rng, h, w) + 0.05 * _smooth(rng, h, w, 50 * px)
        pocket_col = col * TAPE.plastic_pocket_shade
    return _tint(lum, col), pocket_col


def _sprocket_holes(rng: np.random.Generator, sc: Scene, img: np.ndarray, centre: np.ndarray, a: np.ndarray) -> None:
    """The row of sprocket holes on one side of the pocket line (in place)."""
    h, w = img.shape[:2]
    s = sc.scale
    holes = np.zeros((h, w), np.float32)
    side = 1 if rng.random() < 0.5 else -1
    step = TAPE.hole_pitch_mm * s
    phase = rng.uniform(0, step)
    for k in range(-8, 9):
        c = centre + a @ np.array([k * step + phase, side * TAPE.hole_offset_mm * s])
        cv2.circle(holes, (int(c[0]), int(c[1])), max(1, int(TAPE.hole_radius_mm * s)), 1.0, -1, cv2.LINE_AA)
    holes = cv2.GaussianBlur(holes, (0, 0), 1.0)
    img += (np.float32(25) - img) * _c3(holes)


def _cover_tape_seals(rng: np.random.Generator, sc: Scene, img: np.ndarray, centre: np.ndarray, a: np.ndarray) -> None:
    """The two sealing lines of a transparent cover tape (in place)."""
    h, w = img.shape[:2]
    s = sc.scale
    lm = np.zeros((h, w), np.float32)
    for sgn in (-1, 1):
        c0 = centre + a @ np.array([0, sgn * rng.uniform(*TAPE.seal_offset_mm) * s])
        p0, p1 = c0 - a @ np.array([4 * w, 0]), c0 + a @ np.array([4 * w, 0])
        cv2.line(
            lm,
            tuple(np.round(p0).astype(int)),
            tuple(np.round(p1).astype(int)),
            1.0,
            max(2, int(TAPE.seal_width_mm * s)),
            cv2.LINE_AA,
        )
    img *= _c3(1 - 0.1 * cv2.GaussianBlur(lm, (0, 0), 2.0))


def _background(
    rng: np.random.Generator, sc: Scene, h: int, w: int, specs: list[ResistorSpec], pockets: list
) -> np.ndarray:
    """The surface, drawn at half resolution (its features are large), then upsampled."""
    half = Scene(
        kind=sc.kind,
        scale=sc.scale / 2,
        board_angle=sc.board_angle,
        light=sc.light / 2,
        forbidden=[tuple(v / 2 for v in b) for b in sc.forbidden],
        res=0.5 * sc.res,
        style=sc.style,
    )
    h2, w2 = h // 2, w // 2
    if sc.kind == "pcb":
        img2 = _pcb_background(rng, half, h2, w2, [_halved(sp) for sp in specs])
        sc.pad_rgb = half.pad_rgb
    elif sc.kind == "tape":
        img2 = _tape_background(rng, half, h2, w2, [(c / 2, (pl / 2, pwid / 2)) for c, (pl, pwid) in pockets])
    else:
        img2 = _mat_background(rng, half, h2, w2)
    sc.negatives += [(k, tuple(2 * v for v in b)) for k, b in half.negatives]
    img = cv2.resize(img2, (w, h), interpolation=cv2.INTER_LINEAR)
    img *= _c3(1 + rng.uniform(0.02, 0.05) * _grain(rng, h, w))
    return img
