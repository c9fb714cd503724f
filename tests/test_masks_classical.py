"""Classical (Felzenszwalb) fallback masks: format, channel order, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from seemup.masks import NUM_MASKS, ClassicalMaskSource, get_mask_source, stack_ordered


def _scene(h: int = 36, w: int = 64, seed: int = 0) -> np.ndarray:
    """A few flat coloured shapes plus mild noise: regions of clearly different sizes."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), (30, 30, 30), np.uint8)
    img[: h // 2, : w // 2] = (220, 40, 40)
    img[h // 2 :, w // 2 :] = (40, 220, 40)
    img[4:10, 40:52] = (40, 40, 220)
    noise = rng.integers(0, 6, img.shape, dtype=np.uint8)
    return img + noise


def test_shape_dtype_binary_and_disjoint() -> None:
    masks = ClassicalMaskSource()(_scene())
    assert masks.shape == (NUM_MASKS, 36, 64) and masks.dtype == np.uint8
    assert set(np.unique(masks)) <= {0, 1}
    assert masks.sum(0).max() == 1  # regions of one segmentation never overlap
    assert masks[0].any()


def test_largest_first_and_zero_padding() -> None:
    areas = ClassicalMaskSource()(_scene()).reshape(NUM_MASKS, -1).sum(1, dtype=np.int64)
    assert np.all(np.diff(areas) <= 0), areas
    used = int((areas > 0).sum())
    assert 3 <= used < NUM_MASKS  # a handful of regions, the rest zero channels at the end
    assert np.all(areas[used:] == 0)


def test_uniform_frame_is_one_mask() -> None:
    masks = ClassicalMaskSource()(np.full((20, 30, 3), 128, np.uint8))
    assert masks[0].all() and not masks[1:].any()


def test_many_regions_keep_the_64_largest() -> None:
    # tiles of random colours: far more than 64 regions
    rng = np.random.default_rng(1)
    tiles = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    img = np.ascontiguousarray(np.repeat(np.repeat(tiles, 8, axis=0), 8, axis=1)[:70, :100])
    src = ClassicalMaskSource()
    labels = src.labels(img)
    all_areas = np.sort(np.bincount(labels.ravel()))[::-1]
    assert (all_areas > 0).sum() > NUM_MASKS
    masks = src(img)
    areas = masks.reshape(NUM_MASKS, -1).sum(1, dtype=np.int64)
    assert np.array_equal(areas, all_areas[:NUM_MASKS])  # exactly the 64 largest, largest first
    for k in (0, 17, 63):  # each channel is one whole region of the segmentation
        assert len(np.unique(labels[masks[k] == 1])) == 1


def test_deterministic_and_stable_id() -> None:
    a, b = ClassicalMaskSource(), ClassicalMaskSource()
    frame = _scene(seed=3)
    assert np.array_equal(a(frame), b(frame))
    assert a.id == b.id == "classical-felzenszwalb-v1-s100-sig0.5-min16-ws160"
    assert ClassicalMaskSource(scale=50).id != a.id


def test_batch_matches_single_frames() -> None:
    src = get_mask_source("classical")
    frames = [_scene(seed=s) for s in range(3)]
    batch = src.batch(frames)
    assert batch.shape == (3, NUM_MASKS, 36, 64)
    for frame, masks in zip(frames, batch, strict=True):
        assert np.array_equal(src(frame), masks)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10, 3), np.float32)],
)
def test_rejects_non_rgb_uint8(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        ClassicalMaskSource()(bad)


def test_stack_ordered_tie_break() -> None:
    """Equal areas: higher first tie key wins, then the second, then input order."""
    m = [np.eye(4, dtype=bool), np.eye(4, dtype=bool)[::-1], np.ones((4, 4), bool), np.eye(4, dtype=bool)]
    out = stack_ordered(m, 4, 4, tie_keys=[(0.5, 0.1), (0.9, 0.1), (0.1, 0.1), (0.5, 0.2)])
    assert out[0].all()  # largest area
    assert np.array_equal(out[1], m[1])  # iou 0.9
    assert np.array_equal(out[2], m[3]) and np.array_equal(out[3], m[0])  # same iou: stability 0.2 before 0.1
    assert not out[4:].any()


def test_small_frames_are_segmented_at_their_own_size() -> None:
    """A frame under work_size is never enlarged: masks of a 104x60 LR frame are its own pixels' regions."""
    from skimage.segmentation import felzenszwalb

    rng = np.random.default_rng(3)
    frame = np.repeat(np.repeat(rng.integers(0, 256, (6, 13, 3), dtype=np.uint8), 10, 0), 8, 1)  # 60x104
    source = ClassicalMaskSource()
    direct = felzenszwalb(frame, scale=source.scale, sigma=source.sigma, min_size=source.min_size)
    assert np.array_equal(source.labels(frame), direct)
    big = np.repeat(np.repeat(frame, 3, 0), 3, 1)  # 180x312: shrunk to 160 on its long side, labels scaled back
    assert source.labels(big).shape == big.shape[:2]
