"""The comparison picture's layout: panels side by side, each labelled, with the crop outlined on the frame and
shown magnified below it. Pure image composition (numpy and PIL), so the same picture serves `seemup compare`
and `seemup bench --save-images`, and its geometry can be tested without a model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)
OUTLINE = (255, 196, 0)  # amber: easy to see on most footage
GAP = 8  # pixels between panels and around the picture
BORDER = 2  # width of the crop's outline on the frame and around the inset
MAX_COLUMNS = 4
MAX_PANEL_WIDTH = 960  # frames wider than this are shown shrunk (the inset always shows full-resolution pixels)
MAX_FONT = 22
MIN_FONT = 6


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def scaled(self, factor: int) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def text(self) -> str:
        return f"{self.x},{self.y},{self.w},{self.h}"


@dataclass(frozen=True)
class Panel:
    """One image of the comparison (all panels of a picture have one size) and its label (one or more lines)."""

    image: np.ndarray  # [H, W, 3] uint8 RGB
    label: str


@dataclass(frozen=True)
class Layout:
    """Where everything goes, in picture pixels."""

    width: int
    height: int
    columns: int
    title_h: int  # the title strip across the top (0 without a title)
    label_h: int  # each panel's label strip, above its frame
    frame_w: int  # the size frames are shown at
    frame_h: int
    zoom: int  # the inset's magnification
    crop: Box  # in full-resolution frame pixels

    @property
    def panel_h(self) -> int:
        return self.label_h + self.frame_h + GAP + self.crop.h * self.zoom + 2 * BORDER

    def panel_origin(self, i: int) -> tuple[int, int]:
        """Top-left corner of panel ``i`` (its label strip)."""
        row, col = divmod(i, self.columns)
        return GAP + col * (self.frame_w + GAP), self.title_h + GAP + row * (self.panel_h + GAP)

    def frame_origin(self, i: int) -> tuple[int, int]:
        x, y = self.panel_origin(i)
        return x, y + self.label_h

    def inset_box(self, i: int) -> Box:
        """The magnified crop of panel ``i`` (inside its outline), centred below the frame."""
        x, y = self.frame_origin(i)
        w, h = self.crop.w * self.zoom, self.crop.h * self.zoom
        return Box(x + (self.frame_w - w) // 2, y + self.frame_h + GAP + BORDER, w, h)


def panel_label(name: str, psnr_db: float | None = None, space: str = "y") -> str:
    """A panel's label: the model's name, and on a second line its PSNR against the ground truth when known."""
    if psnr_db is None:
        return name
    value = "inf" if math.isinf(psnr_db) else f"{psnr_db:.2f}"
    return f"{name}\n{space.upper()}-PSNR {value} dB"


def inset_zoom(frame_w: int, frame_h: int, crop: Box) -> int:
    """The largest whole magnification (at least 1) at which the outlined crop fits the frame's width and
    height: whole factors repeat pixels exactly, so the inset shows the model's own pixels, unsmoothed."""
    return max(1, min((frame_w - 2 * BORDER) // crop.w, (frame_h - 2 * BORDER) // crop.h))


def grid_columns(count: int) -> int:
    """Panels per row: all in one row up to MAX_COLUMNS, else rows of (nearly) equal length."""
    rows = math.ceil(count / MAX_COLUMNS)
    return math.ceil(count / rows)


def _font(size: int):  # noqa: ANN202 - PIL's font class depends on whether FreeType is there
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def fit_font_size(texts: Sequence[str], width: int) -> int:
    """The largest font size (MIN_FONT..MAX_FONT) at which every line of ``texts`` fits ``width`` pixels."""
    lines = [line for t in texts for line in t.splitlines()]
    for size in range(MAX_FONT, MIN_FONT - 1, -1):
        font = _font(size)
        if all(font.getlength(line) <= width for line in lines):
            return size
    return MIN_FONT


def _text_height(texts: Sequence[str], size: int) -> int:
    """Height of the tallest of ``texts`` drawn at ``size``, with a margin above and below."""
    from PIL import Image, ImageDraw

    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    font = _font(size)
    tallest = max(draw.multiline_textbbox((0, 0), t, font=font, spacing=size // 3)[3] for t in texts)
    return tallest + 2 * _pad(size)


def _pad(size: int) -> int:
    return max(2, size // 3)


def display_size(frame_w: int, frame_h: int, panel_width: int | None = None) -> tuple[int, int]:
    """The size a frame is shown at: ``panel_width`` wide (default: its own width, at most MAX_PANEL_WIDTH;
    never wider than the frame itself), its height following."""
    width = min(frame_w, panel_width or MAX_PANEL_WIDTH)
    return width, max(1, round(frame_h * width / frame_w))


def largest_crop(frame_w: int, frame_h: int, panel_width: int | None = None) -> tuple[int, int]:
    """The largest crop (frame pixels) whose 1:1 inset, with its outline, fits under a shown frame."""
    w, h = display_size(frame_w, frame_h, panel_width)
    return w - 2 * BORDER, h - 2 * BORDER


def plan_layout(labels: Sequence[str], frame_w: int, frame_h: int, crop: Box, title: str | None = None,
                panel_width: int | None = None) -> Layout:
    """The picture's geometry for frames of ``frame_w`` x ``frame_h`` labelled ``labels``; ``crop`` is in
    frame pixels and must fit a panel at 1:1 (:func:`largest_crop`)."""
    if not (0 <= crop.x and 0 <= crop.y and crop.w >= 1 and crop.h >= 1
            and crop.x + crop.w <= frame_w and crop.y + crop.h <= frame_h):
        raise ValueError(f"crop {crop.text()} is not inside a {frame_w}x{frame_h} frame")
    shown_w, shown_h = display_size(frame_w, frame_h, panel_width)
    max_w, max_h = largest_crop(frame_w, frame_h, panel_width)
    if crop.w > max_w or crop.h > max_h:
        raise ValueError(f"crop {crop.w}x{crop.h} does not fit a {shown_w}x{shown_h} panel at 1:1")
    columns = grid_columns(len(labels))
    rows = math.ceil(len(labels) / columns)
    width = columns * shown_w + (columns + 1) * GAP
    label_size = fit_font_size(labels, shown_w - 2 * _pad(MAX_FONT))
    title_h = _text_height([title], fit_font_size([title], width - 2 * GAP)) if title else 0
    zoom = inset_zoom(shown_w, shown_h, crop)
    layout = Layout(width, 0, columns, title_h, _text_height(labels, label_size), shown_w, shown_h, zoom, crop)
    height = title_h + rows * layout.panel_h + (rows + 1) * GAP
    return Layout(width, height, columns, title_h, layout.label_h, shown_w, shown_h, zoom, crop)


def _outline(canvas: np.ndarray, box: Box, clip: Box) -> None:
    """Draw a BORDER-wide frame just outside ``box`` (so the pixels inside stay untouched), within ``clip``."""
    x0, y0, x1, y1 = box.x - BORDER, box.y - BORDER, box.x + box.w + BORDER, box.y + box.h + BORDER
    inner = canvas[box.y:box.y + box.h, box.x:box.x + box.w].copy()
    cx0, cy0 = max(x0, clip.x), max(y0, clip.y)
    cx1, cy1 = min(x1, clip.x + clip.w), min(y1, clip.y + clip.h)
    canvas[cy0:cy1, cx0:cx1] = OUTLINE
    canvas[box.y:box.y + box.h, box.x:box.x + box.w] = inner


def _shown(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` at the size it is shown: as it is, or shrunk with an area filter."""
    if image.shape[1] == width:
        return image
    import cv2

    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def compose(panels: Sequence[Panel], crop: Box, title: str | None = None, panel_width: int | None = None
            ) -> np.ndarray:
    """The comparison picture ([H, W, 3] uint8 RGB): each panel's label, its frame (shrunk to ``panel_width``
    if wider) with ``crop`` (frame pixels) outlined, and the crop magnified below it from the full-resolution
    frame; panels in one row, or in even rows beyond MAX_COLUMNS."""
    from PIL import Image, ImageDraw

    if not panels:
        raise ValueError("no panels to compose")
    shapes = {p.image.shape for p in panels}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 3:
        raise ValueError(f"panels must be RGB images of one size, got {sorted(shapes)}")
    frame_h, frame_w = panels[0].image.shape[:2]
    layout = plan_layout([p.label for p in panels], frame_w, frame_h, crop, title, panel_width)
    canvas = np.empty((layout.height, layout.width, 3), np.uint8)
    canvas[:] = BACKGROUND
    s = layout.frame_w / frame_w
    shown_crop = Box(round(crop.x * s), round(crop.y * s), max(1, round(crop.w * s)), max(1, round(crop.h * s)))
    for i, panel in enumerate(panels):
        fx, fy = layout.frame_origin(i)
        canvas[fy:fy + layout.frame_h, fx:fx + layout.frame_w] = _shown(panel.image, layout.frame_w, layout.frame_h)
        _outline(canvas, Box(fx + shown_crop.x, fy + shown_crop.y, shown_crop.w, shown_crop.h),
                 Box(fx, fy, layout.frame_w, layout.frame_h))
        inset = layout.inset_box(i)
        region = panel.image[crop.y:crop.y + crop.h, crop.x:crop.x + crop.w]
        canvas[inset.y:inset.y + inset.h, inset.x:inset.x + inset.w] = region.repeat(layout.zoom, 0).repeat(
            layout.zoom, 1)
        _outline(canvas, inset, Box(0, 0, layout.width, layout.height))
    image = Image.fromarray(canvas)
    _draw_labels(ImageDraw.Draw(image), layout, [p.label for p in panels], title)
    return np.asarray(image)


def _draw_labels(draw, layout: Layout, labels: Sequence[str], title: str | None) -> None:  # noqa: ANN001 - PIL
    size = fit_font_size(labels, layout.frame_w - 2 * _pad(MAX_FONT))
    for i, label in enumerate(labels):
        x, y = layout.panel_origin(i)
        draw.multiline_text((x + _pad(size), y + _pad(size)), label, font=_font(size), fill=TEXT, spacing=size // 3)
    if title:
        tsize = fit_font_size([title], layout.width - 2 * GAP)
        draw.text((GAP, _pad(tsize)), title, font=_font(tsize), fill=TEXT)
