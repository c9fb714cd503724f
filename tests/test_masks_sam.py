"""SAM masks through the real segment_anything code path, with a tiny randomly initialised SAM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seemup.errors import UserError
from seemup.masks import NUM_MASKS, ClassicalMaskSource, build_sam_tiny, get_mask_source
from seemup.masks.checkpoints import sam_type_from_name, sam_type_from_state_dict
from seemup.masks.sam import SamMaskSource, load_sam

# random weights give low predicted IoU / stability and near-identical boxes: with SAM's default thresholds
# every mask would be filtered, so most tests open the filters (the parameters are part of the source id)
OPEN = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _frame(seed: int = 0, h: int = 32, w: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2] = (200, 30, 30)
    img[h // 4 : 3 * h // 4, w // 2 + 2 : w - 2] = (20, 200, 50)
    return img + rng.integers(0, 20, img.shape, dtype=np.uint8)


def _areas(masks: np.ndarray) -> np.ndarray:
    return masks.reshape(masks.shape[0], -1).sum(1, dtype=np.int64)


def test_shape_dtype_order_64_masks() -> None:
    src = get_mask_source("sam", sam_model=build_sam_tiny(2), **OPEN)
    masks = src(_frame())
    assert masks.shape == (NUM_MASKS, 32, 48) and masks.dtype == np.uint8
    assert set(np.unique(masks)) <= {0, 1}
    areas = _areas(masks)
    assert (areas > 0).all()  # 64 points x 3 outputs, no NMS: more candidates than channels
    assert np.all(np.diff(areas) <= 0), areas


def test_ordering_and_padding_match_generator_records() -> None:
    """Channels are exactly the generator's masks sorted by (area, predicted IoU, stability), zero-padded."""
    src = SamMaskSource.from_model(build_sam_tiny(1), pred_iou_thresh=0.0, stability_score_thresh=0.0)
    frame = _frame(1)
    records = src.generator.generate(frame)
    assert 0 < len(records) < NUM_MASKS  # SAM's own NMS leaves a few
    records.sort(key=lambda r: (-r["area"], -r["predicted_iou"], -r["stability_score"]))
    masks = src(frame)
    for k, r in enumerate(records):
        assert np.array_equal(masks[k], r["segmentation"].astype(np.uint8))
    assert not masks[len(records) :].any()


def test_default_thresholds_filter_random_masks_to_zeros() -> None:
    src = get_mask_source("sam", sam_model=build_sam_tiny(0))
    assert src.id.endswith("-pps8")
    masks = src(_frame())
    assert masks.shape == (NUM_MASKS, 32, 48) and not masks.any()


def test_deterministic_and_id_names_the_weights() -> None:
    a = get_mask_source("sam", sam_model=build_sam_tiny(2), **OPEN)
    b = get_mask_source("sam", sam_model=build_sam_tiny(2), **OPEN)
    c = get_mask_source("sam", sam_model=build_sam_tiny(3), **OPEN)
    frame = _frame(4)
    assert a.id == b.id and a.id != c.id
    assert a.id.startswith("sam-custom32-m") and a.id.endswith("-pps8-iou0-stab0-nms1")
    assert np.array_equal(a(frame), b(frame))
    assert not np.array_equal(a(frame), c(frame))


def test_batch_matches_single_frames() -> None:
    src = get_mask_source("sam", sam_model=build_sam_tiny(2), batch_size=2, **OPEN)
    frames = [_frame(s) for s in range(3)]
    batch = src.batch(frames)
    assert batch.shape == (3, NUM_MASKS, 32, 48)
    for frame, masks in zip(frames, batch, strict=True):
        assert np.array_equal(src(frame), masks)


def test_auto_without_checkpoint_falls_back_with_notice(monkeypatch, tmp_path, capsys) -> None:
    from seemup.weights.load import open_masks

    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr("seemup.weights.load.find_sam_checkpoint", lambda: None)
    assert isinstance(get_mask_source("auto"), ClassicalMaskSource)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "classical" in err
    get_mask_source("auto", quiet=True)
    assert capsys.readouterr().err == ""
    with pytest.raises(UserError, match="no SAM checkpoint"):
        get_mask_source("sam")
    # through the weights layer, which looks in the weights folders and names them
    assert isinstance(open_masks("auto", "cpu", quiet=True, cache_dir=tmp_path / "c").source, ClassicalMaskSource)
    with pytest.raises(UserError, match=f"no SAM checkpoint.*in one of: {tmp_path}"):
        open_masks("sam", "cpu", cache_dir=tmp_path / "c")
    with pytest.raises(UserError, match="unknown mask source"):
        get_mask_source("magic")


def test_checkpoint_found_in_weights_dir(monkeypatch, tmp_path) -> None:
    from seemup.weights import find_sam_checkpoint as find
    from seemup.weights.load import open_masks

    def find_sam_checkpoint():  # noqa: ANN202 - the path of what the weights layer finds
        found = find()
        return found[1] if found is not None else None

    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("SEEMUP_WEIGHTS_VERIFY", "0")  # the files below are stand-ins, not the real checkpoints
    if find_sam_checkpoint() is not None:
        pytest.skip("a SAM checkpoint is installed with seemup: it would shadow the test's files")
    (tmp_path / "sam_vit_b_01ec64.pth").write_bytes(b"x")
    assert find_sam_checkpoint() == tmp_path / "sam_vit_b_01ec64.pth"
    (tmp_path / "sam_vit_l_0b3195.pth").write_bytes(b"x")
    assert find_sam_checkpoint() == tmp_path / "sam_vit_l_0b3195.pth"  # the larger model wins
    monkeypatch.delenv("SEEMUP_WEIGHTS_VERIFY")
    with pytest.raises(UserError):  # a file with the right name but the wrong content is refused
        open_masks("auto", "cpu", cache_dir=tmp_path / "c")


def test_model_type_from_name_and_shapes() -> None:
    assert sam_type_from_name("/x/sam_vit_h_4b8939.pth") == "vit_h"
    assert sam_type_from_name("my-SAM-ViT-B.pt") == "vit_b"
    assert sam_type_from_name("model.pth") is None
    for width, kind in ((768, "vit_b"), (1024, "vit_l"), (1280, "vit_h")):
        assert sam_type_from_state_dict({"image_encoder.pos_embed": torch.empty(1, 64, 64, width)}) == kind
    with pytest.raises(UserError):
        sam_type_from_state_dict({"image_encoder.pos_embed": torch.empty(1, 8, 8, 32)})
    with pytest.raises(UserError):
        sam_type_from_state_dict({"something": torch.empty(1)})


def test_bad_checkpoints_are_user_errors(tmp_path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_sam(tmp_path / "missing.pth")
    junk = tmp_path / "sam_vit_b_junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read"):
        load_sam(junk)
    partial = tmp_path / "sam_vit_h_partial.pth"
    torch.save({"image_encoder.pos_embed": torch.zeros(1, 64, 64, 768)}, partial)
    with pytest.raises(UserError, match="named vit_h but its weights are vit_b"):
        load_sam(partial)
    partial_b = tmp_path / "sam_b.pth"
    torch.save({"image_encoder.pos_embed": torch.zeros(1, 64, 64, 768)}, partial_b)
    with pytest.raises(UserError, match="does not match the vit_b model"):
        load_sam(partial_b)


def test_checkpoint_id_carries_the_file_sha256(monkeypatch, tmp_path) -> None:
    """The id of a checkpoint-backed source is type + first 16 hex of the file's sha256 (loading stubbed:
    no real SAM checkpoint is available to tests)."""
    import hashlib

    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path / "w"))  # the hash cache lives there
    ckpt = tmp_path / "sam_vit_b_01ec64.pth"
    ckpt.write_bytes(b"stand-in checkpoint bytes")
    monkeypatch.setattr("seemup.masks.sam.load_sam", lambda path, device="cpu": (build_sam_tiny(0), "vit_b"))
    src = get_mask_source("auto", sam_checkpoint=ckpt, quiet=True)
    assert src.id == f"sam-vit_b-{hashlib.sha256(ckpt.read_bytes()).hexdigest()[:16]}-pps8"
    assert src(_frame()).shape == (NUM_MASKS, 32, 48)
    from seemup.weights.load import open_masks  # the weights layer passes its cached digest down: same id

    assert open_masks("auto", "cpu", sam_checkpoint=ckpt, quiet=True, cache_dir=tmp_path / "c").id == src.id
