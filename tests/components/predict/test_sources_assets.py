"""Inputs (folder scan, video frames with a stride, where outputs may go) and the assets join."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pyarrow as pa
import pytest

from components.predict import PredictError
from components.predict.assets import join_assets, load_assets
from components.predict.sources import (
    FolderSource,
    VideoSource,
    check_output_location,
    open_source,
)


def test_folder_scan_lists_non_images_and_mirrors_paths(tmp_path):
    (tmp_path / "in/sub").mkdir(parents=True)
    for name in ("b.png", "a.jpg", "sub/c.JPEG"):
        cv2.imwrite(str(tmp_path / "in" / name), np.zeros((40, 40, 3), np.uint8))
    (tmp_path / "in/notes.txt").write_text("x")
    (tmp_path / "in/sub/clip.mp4").write_bytes(b"")
    src = open_source(tmp_path / "in")
    assert isinstance(src, FolderSource) and src.files == ["a.jpg", "b.png", "sub/c.JPEG"]
    assert [p for p, _ in src.skipped] == ["notes.txt", "sub/clip.mp4"] and "video" in src.skipped[1][1]
    items = list(src.items(done={"b.png"}))
    assert [(i.key, i.overlay) for i in items] == [("a.jpg", "a.jpg.png"), ("sub/c.JPEG", "sub/c.JPEG.png")]
    assert items[0].load().shape == (40, 40, 3)


def test_outputs_never_inside_the_input(tmp_path):
    (tmp_path / "in/deep").mkdir(parents=True)
    for bad in ("in", "in/out", "in/deep/out"):
        with pytest.raises(PredictError, match="input folder"):
            check_output_location(tmp_path / "in", tmp_path / bad)
    (tmp_path / "link").symlink_to(tmp_path / "in")
    with pytest.raises(PredictError, match="inside the input folder"):
        check_output_location(tmp_path / "in", tmp_path / "link/out")  # symlinks resolved
    check_output_location(tmp_path / "in", tmp_path / "out")
    video = tmp_path / "in/clip.mp4"
    video.write_bytes(b"")
    with pytest.raises(PredictError, match="folder holding the input"):
        check_output_location(video, tmp_path / "in")
    check_output_location(video, tmp_path / "in/out")


def test_video_frames_with_stride(tmp_path):
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    writer.release()
    src = open_source(path, stride=3)
    assert isinstance(src, VideoSource) and src.frame_count == 10
    keys = [i.key for i in src.items(done={"clip.mp4#frame=3"})]
    assert keys == ["clip.mp4#frame=0", "clip.mp4#frame=6", "clip.mp4#frame=9"]
    with pytest.raises(PredictError, match="cannot be opened as a video"):
        (tmp_path / "bad.mp4").write_bytes(b"not a video")
        open_source(tmp_path / "bad.mp4")


def test_assets_left_join_by_stem(tmp_path):
    path = tmp_path / "assets.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "a",
                    "latitude": 45.1,
                    "longitude": 7.6,
                    "timestamp": "2026-05-01T10:00:00Z",
                    "status": "ok",
                    "gps": {"fix": 3},
                },
                {"name": "clip", "latitude": 45.2, "longitude": 7.7},
                {"name": "ghost", "latitude": 0.0},
            ]
        )
    )
    assets = load_assets(path)
    table = pa.table({"image": ["a.jpg", "sub/b.png", "clip.mp4#frame=4"], "status": ["ok", "ok", "error"]})
    out = join_assets(table, assets).to_pandas()
    assert len(out) == 3 and list(out.latitude.iloc[[0, 2]]) == [45.1, 45.2] and np.isnan(out.latitude.iloc[1])
    assert out.timestamp.iloc[0] == "2026-05-01T10:00:00Z" and out["gps.fix"].iloc[0] == 3
    assert list(out.asset_status.iloc[:1]) == ["ok"] and list(out.status) == ["ok", "ok", "error"]  # no clobbering
    assert "ghost" not in set(out.name.dropna())


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{not json", "not valid JSON"),
        ('{"name": "a"}', "JSON list of objects"),
        ('[{"name": "a"}, 3]', "asset 1 is a JSON int"),
        ('[{"latitude": 1}]', "asset 0 has no 'name'"),
        ('[{"name": "a"}, {"name": "a"}]', "repeated: a"),
    ],
)
def test_malformed_assets_name_the_file(tmp_path, text, reason):
    path = tmp_path / "assets.json"
    path.write_text(text)
    with pytest.raises(PredictError, match=reason) as err:
        load_assets(path)
    assert str(path) in str(err.value)


def _mjpeg_with_a_corrupt_frame(path, n=60, bad=50, truncate_after=None):
    """An MJPEG AVI of ``n`` frames (grey level 4*i) whose frame ``bad`` has its JPEG bytes zeroed."""
    import struct

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(n):
        writer.write(np.full((48, 64, 3), 4 * i, np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    starts, p = [], 0
    while (p := data.find(b"00dc", p)) >= 0:
        if data[p + 8 : p + 10] == b"\xff\xd8":
            starts.append(p)
        p += 4
    assert len(starts) == n
    if bad is not None:
        s = starts[bad]
        size = struct.unpack("<I", data[s + 4 : s + 8])[0]
        data[s + 8 : s + 8 + size] = bytes(size)
    if truncate_after is not None:
        data = data[: starts[truncate_after]]
    path.write_bytes(bytes(data))


def test_video_skips_a_corrupt_frame_records_it_and_goes_on(tmp_path):
    video = tmp_path / "clip.avi"
    _mjpeg_with_a_corrupt_frame(video)
    src = open_source(video)
    items = list(src.items(done=set()))
    assert [i.key for i in items] == [f"clip.avi#frame={i}" for i in range(60)]
    with pytest.raises(PredictError, match=r"clip.avi#frame=50: frame cannot be decoded"):
        items[50].load()
    assert src.bad_frames == [50]
    for i in (49, 51, 59):  # the frames after the bad one are read, and are the right ones
        assert abs(float(items[i].load().mean()) - 4 * i) < 3


def test_truncated_video_ends_without_error_rows_for_the_missing_tail(tmp_path):
    video = tmp_path / "cut.avi"
    _mjpeg_with_a_corrupt_frame(video, bad=None, truncate_after=30)
    src = open_source(video)
    keys = [i.key for i in src.items(done=set())]
    assert len(keys) <= 30 and src.bad_frames == []
