"""Video clips made from still photos by a smooth synthetic camera path.

Real footage reachable here is a handful of clips; photos (wallpaper packages in the Debian
archive) add many more textures. A clip is rendered by warping the photo at its own resolution
along a random path (pan, a little rotation and zoom, sometimes almost still) and then
area-downscaling each frame by an integer factor, so frames are sharp, free of JPEG blocks and
alias-free: the same "HR = larger source / area filter" rule the footage follows.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def camera_path(rng: np.random.Generator, frames: int, max_speed: float) -> np.ndarray:
    """Per-frame (dx, dy, angle_deg, zoom) of a smooth path, starting at the identity.

    Speed in output pixels per frame is drawn up to ``max_speed`` (a quarter of clips nearly still,
    as a tripod shot), with a small random acceleration so motion is not purely linear."""
    still = rng.random() < 0.25
    speed = rng.uniform(0, 0.5 if still else max_speed)
    heading = rng.uniform(0, 2 * math.pi)
    v = np.array([math.cos(heading), math.sin(heading)]) * speed
    acc = rng.normal(0, 0.05 * max(speed, 0.2), size=2)
    rot_rate = 0.0 if still else rng.normal(0, 0.15)
    zoom_rate = 0.0 if still else rng.normal(0, 0.004)
    path, pos = [], np.zeros(2)
    for t in range(frames):
        path.append((pos[0], pos[1], rot_rate * t, (1 + zoom_rate) ** t))
        pos = pos + v + acc * t
    return np.array(path, np.float64)


def render_clip(photo: np.ndarray, rng: np.random.Generator, frames: int, size: tuple[int, int],
                factor: int, max_speed: float = 6.0, path: np.ndarray | None = None) -> np.ndarray:
    """``frames`` HR frames of ``size`` (w, h) seen along a random path over ``photo`` (uint8 HxWx3).

    Each frame is warped from the photo at ``factor`` times the output size, then area-downscaled
    by ``factor``; the path (``camera_path`` unless given) is placed so every frame stays inside
    the photo."""
    w, h = size
    big_w, big_h = w * factor, h * factor
    if path is None:
        path = camera_path(rng, frames, max_speed)
    # extent of the path in photo pixels, so the start can be chosen to keep all frames inside
    reach = np.abs(path[:, :2]).max(axis=0) * factor
    half_diag = 0.5 * math.hypot(big_w, big_h) * max(1.0, path[:, 3].max())
    margin_x, margin_y = reach[0] + half_diag, reach[1] + half_diag
    ph, pw = photo.shape[:2]
    if pw < 2 * margin_x + 2 or ph < 2 * margin_y + 2:
        raise ValueError(f"photo {pw}x{ph} too small for a {big_w}x{big_h} window on this path")
    cx0 = rng.uniform(margin_x, pw - margin_x)
    cy0 = rng.uniform(margin_y, ph - margin_y)
    out = np.empty((frames, h, w, 3), np.uint8)
    for t, (dx, dy, ang, zoom) in enumerate(path):
        # map output (big) pixel coordinates to photo coordinates: rotate/zoom about the window centre
        a = math.radians(ang)
        c, s = math.cos(a) / zoom, math.sin(a) / zoom
        cx, cy = cx0 + dx * factor, cy0 + dy * factor
        m = np.array([[c, -s, cx - c * big_w / 2 + s * big_h / 2],
                      [s, c, cy - s * big_w / 2 - c * big_h / 2]], np.float64)
        big = cv2.warpAffine(photo, m, (big_w, big_h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT101)
        out[t] = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    return out
