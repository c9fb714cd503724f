"""`seemup compare` and `seemup bench --save-images`: the picture's layout, the frames it shows, its errors."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from footage import DATA
from PIL import Image
from typer.testing import CliRunner

from seemup.cli import app, main
from seemup.compare import (
    Box,
    Panel,
    compose,
    context_needed,
    default_crop,
    image_names,
    panel_label,
    plan_layout,
    probe_input,
    read_window,
    render,
)
from seemup.compare.layout import BACKGROUND, BORDER, GAP, OUTLINE, grid_columns
from seemup.imresize import imresize_uint8
from seemup.metrics import psnr
from seemup.video import read_frames

CLIP = DATA / "dog64x36.mp4"  # 64x36, 10 frames
GT_DOG = DATA / "bench-gt" / "dog"  # 96x64, 3 frames
RNG = np.random.default_rng(24)


def _panels(n: int, w: int = 64, h: int = 36) -> list[Panel]:
    return [Panel(RNG.integers(40, 256, (h, w, 3), dtype=np.uint8), f"model {i}") for i in range(n)]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of True in a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _not_background(pixels: np.ndarray) -> np.ndarray:
    return np.any(pixels != np.asarray(BACKGROUND, np.uint8), axis=-1)


def _read_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _find_row(picture: np.ndarray, x: int, row: np.ndarray) -> int:
    """The picture row where ``row`` starts at column ``x`` (locates a frame without knowing the layout)."""
    hits = [y for y in range(picture.shape[0]) if np.array_equal(picture[y, x:x + len(row)], row)]
    assert len(hits) == 1, hits
    return hits[0]


# -- layout --------------------------------------------------------------------------------------------------------

def test_layout_places_frames_outlines_and_insets() -> None:
    panels, crop = _panels(3), Box(16, 8, 16, 9)
    picture = compose(panels, crop)
    layout = plan_layout([p.label for p in panels], 64, 36, crop)
    assert picture.shape == (layout.height, layout.width, 3)
    assert layout.width == 3 * 64 + 4 * GAP and layout.zoom == 3  # (64 - 4) // 16 and (36 - 4) // 9
    for i, panel in enumerate(panels):
        fx, fy = layout.frame_origin(i)
        shown = picture[fy:fy + 36, fx:fx + 64]
        inside = (slice(crop.y, crop.y + crop.h), slice(crop.x, crop.x + crop.w))
        assert np.array_equal(shown[inside], panel.image[inside])  # the outline never covers the crop
        ring = shown[crop.y - BORDER:crop.y + crop.h + BORDER, crop.x - BORDER:crop.x + crop.w + BORDER]
        assert (ring[0] == OUTLINE).all() and (ring[-1] == OUTLINE).all() and (ring[:, 0] == OUTLINE).all()
        assert np.array_equal(shown[:crop.y - BORDER], panel.image[:crop.y - BORDER])
        inset = layout.inset_box(i)
        assert (inset.w, inset.h) == (16 * 3, 9 * 3)
        magnified = panel.image[inside].repeat(3, 0).repeat(3, 1)
        assert np.array_equal(picture[inset.y:inset.y + inset.h, inset.x:inset.x + inset.w], magnified)
        assert (picture[inset.y - BORDER, inset.x - BORDER:inset.x + inset.w + BORDER] == OUTLINE).all()
        px, py = layout.panel_origin(i)
        assert _not_background(picture[py:fy, px:px + 64]).sum() > 20  # the label strip holds text
    frame_row = picture[layout.frame_origin(0)[1] + 1]
    assert _runs(_not_background(frame_row)) == [(GAP + i * (64 + GAP), 64) for i in range(3)]


def test_layout_labels_title_and_grid() -> None:
    one = plan_layout(["a", "b"], 200, 100, Box(0, 0, 8, 8))
    two = plan_layout(["a", panel_label("b", 27.5)], 200, 100, Box(0, 0, 8, 8))  # wide enough for one font size
    titled = plan_layout(["a", "b"], 200, 100, Box(0, 0, 8, 8), title="clip: frame 3")
    assert two.label_h > one.label_h and titled.title_h > 0 == one.title_h
    assert titled.height - one.height == titled.title_h
    a = compose(_panels(2), Box(0, 0, 8, 8))
    b = compose([Panel(p.image, "x") for p in _panels(2)], Box(0, 0, 8, 8))
    strip = (slice(GAP, GAP + plan_layout(["a", "b"], 64, 36, Box(0, 0, 8, 8)).label_h), slice(GAP, GAP + 64))
    assert not np.array_equal(a[strip], b[strip])  # different text, different pixels
    assert [grid_columns(n) for n in (1, 3, 4, 5, 8, 9)] == [1, 3, 4, 3, 4, 3]
    five = plan_layout([f"m{i}" for i in range(5)], 64, 36, Box(0, 0, 8, 8))
    assert five.columns == 3 and five.height == 2 * five.panel_h + 3 * GAP


def test_panel_label_formats_psnr() -> None:
    assert panel_label("basicvsr") == "basicvsr"
    assert panel_label("basicvsr", 28.126) == "basicvsr\nY-PSNR 28.13 dB"
    assert panel_label("edvr-m", 30.0, "rgb") == "edvr-m\nRGB-PSNR 30.00 dB"
    assert panel_label("same", float("inf")).endswith("PSNR inf dB")


def test_layout_shrinks_wide_frames_but_not_the_inset() -> None:
    panels, crop = _panels(2, 200, 100), Box(80, 40, 40, 20)
    picture = compose(panels, crop, panel_width=100)
    layout = plan_layout([p.label for p in panels], 200, 100, crop, panel_width=100)
    assert (layout.frame_w, layout.frame_h, layout.zoom) == (100, 50, 2) and picture.shape[1] == 2 * 100 + 3 * GAP
    fx, fy = layout.frame_origin(1)
    shrunk = cv2.resize(panels[1].image, (100, 50), interpolation=cv2.INTER_AREA)
    assert np.array_equal(picture[fy:fy + 10, fx:fx + 100], shrunk[:10])
    inset = layout.inset_box(1)
    full = panels[1].image[40:60, 80:120].repeat(2, 0).repeat(2, 1)
    assert np.array_equal(picture[inset.y:inset.y + inset.h, inset.x:inset.x + inset.w], full)
    with pytest.raises(ValueError, match="does not fit"):
        plan_layout(["a"], 200, 100, Box(0, 0, 120, 20), panel_width=100)
    with pytest.raises(ValueError, match="not inside"):
        plan_layout(["a"], 200, 100, Box(190, 0, 20, 20))


def test_default_crop_context_and_names() -> None:
    assert default_crop(160, 90) == Box(60, 34, 40, 22)
    small = default_crop(1920, 1080)  # narrow panels: the crop shrinks so the inset still magnifies 2x
    assert small.w * 4 * 2 <= 960 - 2 * BORDER and small.x + small.w // 2 in (959, 960)
    window = SimpleNamespace(kind="window", num_frame=5)
    recurrent = SimpleNamespace(kind="recurrent", num_frame=None)
    assert context_needed([recurrent], 15) == 15 and context_needed([recurrent, window], 2) == 4
    assert image_names(["calendar", "a/b", "a_b", ".."]) == {"calendar": "calendar.png", "a/b": "a_b.png",
                                                            "a_b": "a_b-2.png", "..": "clip.png"}


# -- the frames shown ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run():
    from seemup.evaluation import build_runs

    torch.manual_seed(0)
    return build_runs(["basicvsr-tiny"], None, torch.device("cpu"))[0]


def test_window_and_render_match_a_whole_clip_run(tiny_run) -> None:
    from seemup.evaluation import super_resolve

    with read_frames(CLIP) as reader:
        clip = np.stack([np.array(f) for f in reader])
    info = probe_input(CLIP)
    window = read_window(info, 3, 2)
    assert (window.first, window.target, window.frame, len(window.frames)) == (1, 2, 3, 5)
    assert np.array_equal(window.frames, clip[1:6])
    whole = read_window(info, 3, 15)  # the context covers the clip: exactly a whole-file run's frame 3
    crop = default_crop(64, 36)
    picture, shown = render([tiny_run], whole, crop)
    expected = super_resolve(tiny_run, clip, [3])[0][0]
    layout = plan_layout([tiny_run.label], 256, 144, crop.scaled(4))
    inset = layout.inset_box(0)
    c = crop.scaled(4)
    assert np.array_equal(picture[inset.y:inset.y + inset.h, inset.x:inset.x + inset.w],
                          expected[c.y:c.y + c.h, c.x:c.x + c.w].repeat(layout.zoom, 0).repeat(layout.zoom, 1))
    assert [s.label for s in shown] == ["basicvsr-tiny"] and shown[0].psnr is None


class _Slots(torch.nn.Module):
    """A stand-in window model whose output depends on which frame sits in which slot of its window."""

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        weights = torch.arange(1, lr.shape[1] + 1, dtype=lr.dtype).view(1, -1, 1, 1, 1)
        out = (lr * weights).sum(1) / weights.sum()
        return out.repeat_interleave(4, -1).repeat_interleave(4, -2)


def test_window_model_sees_what_a_whole_clip_run_shows_it() -> None:
    from seemup.evaluation import LoadedModel, super_resolve

    run = LoadedModel.of(_Slots(), "slots", "window", 5)
    info = probe_input(CLIP)
    with read_frames(CLIP) as reader:
        clip = np.stack([np.array(f) for f in reader])
    differs = []
    for t in (0, 1, 2, 5, 8, 9):
        whole = super_resolve(run, clip, [t])[0][0]
        window = read_window(info, t, context_needed([run], 0))  # widened to 4 frames on each side
        assert np.array_equal(super_resolve(run, window.frames, [window.target])[0][0], whole), t
        short = read_window(info, t, 1)  # too little: the padding at a window's edge is not the clip's
        differs.append(not np.array_equal(super_resolve(run, short.frames, [short.target])[0][0], whole))
    assert differs == [True, True, True, True, True, True]


# -- the command ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lr_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """LR frames (24x16) made by MATLAB bicubic from the committed 96x64 ground truth of clip dog."""
    folder = tmp_path_factory.mktemp("lr")
    gt = np.stack([cv2.imread(str(p))[..., ::-1] for p in sorted(GT_DOG.glob("*.png"))])
    lr = np.stack([imresize_uint8(f, 1 / 4) for f in gt])
    for i, f in enumerate(lr):
        cv2.imwrite(str(folder / f"{i:03d}.png"), f[..., ::-1])
    return folder, lr, gt


@pytest.mark.parametrize("gt_kind", ["folder", "image"])
def test_compare_cli_with_ground_truth(lr_folder, tmp_path: Path, gt_kind: str) -> None:
    folder, lr, gt = lr_folder
    out = tmp_path / "cmp.png"
    gt_arg = GT_DOG if gt_kind == "folder" else GT_DOG / "001.png"
    result = CliRunner().invoke(app, ["compare", str(folder), "-m", "basicvsr-tiny", "--frame", "1", "--gt",
                                      str(gt_arg), "-o", str(out), "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    bicubic = imresize_uint8(lr[1], 4)
    assert f"Y-PSNR {psnr(bicubic, gt[1], 0, 'y'):.2f} dB" in result.output.splitlines()[0]
    assert "basicvsr-tiny" in result.output and "ground truth" in result.output
    picture = _read_png(out)
    assert picture.shape[1] == 3 * 96 + 4 * GAP  # bicubic, the model, the ground truth
    y = _find_row(picture, GAP, bicubic[0])
    assert np.array_equal(picture[y:y + 10, GAP:GAP + 96], bicubic[:10])  # frame 1, above the crop's outline
    x_gt = GAP + 2 * (96 + GAP)
    assert _find_row(picture, x_gt, gt[1][0]) == y
    assert not list(tmp_path.glob(".*"))  # no temporary left beside the output


def test_compare_cli_default_frame_and_force(tmp_path: Path) -> None:
    out = tmp_path / "c.png"
    argv = ["compare", str(CLIP), "-m", "bicubic", "-o", str(out), "--device", "cpu", "--quiet"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    with read_frames(CLIP, start=5) as reader:  # the middle of 10 frames
        middle = imresize_uint8(np.array(next(iter(reader))), 4)
    picture = _read_png(out)
    assert picture.shape[1] == 256 + 2 * GAP  # bicubic named once: one panel
    y = _find_row(picture, GAP, middle[0])
    assert np.array_equal(picture[y:y + 20, GAP:GAP + 256], middle[:20])
    before = out.stat().st_mtime_ns
    again = CliRunner().invoke(app, [*argv, "--frame", "0", "--force"])
    assert again.exit_code == 0, again.output
    assert out.stat().st_mtime_ns != before


def test_compare_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "exists.png"
    existing.write_bytes(b"keep")
    base = ["compare", str(CLIP), "-m", "bicubic", "--device", "cpu", "-o"]
    cases = [
        ([*base, str(existing)], "output exists"),
        ([*base, str(tmp_path / "a.png"), "--crop", "1,2,3"], "X,Y,W,H"),
        ([*base, str(tmp_path / "a.png"), "--crop", "1,2,-3,4"], "W and H >= 1"),
        ([*base, str(tmp_path / "a.png"), "--crop", "60,30,10,10"], "inside the input frame"),
        ([*base, str(tmp_path / "a.png"), "--crop", "0,0,64,36", "--panel-width", "64"], "do not fit"),
        ([*base, str(tmp_path / "a.png"), "--frame", "10"], "0..9"),
        ([*base, str(tmp_path / "a.jpg")], ".png"),
        ([*base, str(tmp_path / "a.png"), "--frame", "1", "--gt", str(GT_DOG)], "96x64"),
        ([*base, str(tmp_path / "a.png"), "--gt", str(GT_DOG)], "has 3 frames"),
        ([*base, str(tmp_path / "a.png"), "--gt", str(tmp_path / "none")], "not found"),
        ([*base, str(tmp_path / "no" / "a.png")], "does not exist"),
        (["compare", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "a.png")], "not found"),
        (["compare", str(CLIP), "-m", "nosuchnet", "-o", str(tmp_path / "a.png")], "unknown model"),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code != 0
        err = capsys.readouterr().err
        assert "error:" in err and message in err and "Traceback" not in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, err
    assert existing.read_bytes() == b"keep" and not (tmp_path / "a.png").exists()


# -- bench --save-images ------------------------------------------------------------------------------------------

def test_bench_save_images_one_picture_per_clip(tmp_path: Path) -> None:
    root = tmp_path / "set"
    for clip in ("dog", "blocks"):
        (root / "GT" / clip).mkdir(parents=True)
        for png in sorted((DATA / "bench-gt" / clip).glob("*.png")):
            (root / "GT" / clip / png.name).write_bytes(png.read_bytes())
    images = tmp_path / "pictures"
    result = CliRunner().invoke(app, ["bench", "--dataset", str(root), "--model", "bicubic", "--model",
                                      "basicvsr-tiny", "--json", str(tmp_path / "s.json"), "--save-images",
                                      str(images), "--device", "cpu", "--quiet"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in images.iterdir()) == ["blocks.png", "dog.png"]
    for clip in ("dog", "blocks"):
        picture = _read_png(images / f"{clip}.png")
        gt = cv2.imread(str(DATA / "bench-gt" / clip / "001.png"))[..., ::-1]  # the middle of 3 frames
        assert picture.shape[1] == 3 * 96 + 4 * GAP  # bicubic, basicvsr-tiny, ground truth
        x_gt = GAP + 2 * (96 + GAP)
        y = _find_row(picture, x_gt, gt[0])
        assert np.array_equal(picture[y:y + 8, x_gt:x_gt + 96], gt[:8])
        bicubic = imresize_uint8(imresize_uint8(gt, 1 / 4), 4)
        assert np.array_equal(picture[y:y + 8, GAP:GAP + 96], bicubic[:8])
