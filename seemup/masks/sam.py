"""Segment Anything masks: ``SamAutomaticMaskGenerator(points_per_side=8)`` on the LR frame (docs/masks.md).

On CUDA the image encoder (nearly all of SAM's cost) runs under autocast (bf16 where supported, else fp16)
and frames of one size are encoded together; mask decoding then runs per frame through segment_anything's
own generator, so the masks are exactly what the reference code path produces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch
from segment_anything import SamAutomaticMaskGenerator, SamPredictor, sam_model_registry
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

from seemup.errors import UserError

from .base import MaskSource, stack_ordered
from .checkpoints import _ENCODER_WIDTH_TO_TYPE, file_sha256, sam_type_from_name, sam_type_from_state_dict

POINTS_PER_SIDE = 8
# segment_anything's own defaults; they enter the source id only when changed
DEFAULT_PRED_IOU_THRESH = 0.88
DEFAULT_STABILITY_SCORE_THRESH = 0.95
DEFAULT_BOX_NMS_THRESH = 0.7


def load_sam(checkpoint: str | Path, device: str = "cpu") -> tuple[Sam, str]:
    """Build the SAM of a checkpoint file (type from the file name, else from weight shapes), in eval mode."""
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise UserError(f"SAM checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated download, wrong file...
        raise UserError(f"cannot read SAM checkpoint {path}: {exc}") from exc
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise UserError(f"not a SAM checkpoint (no state dict): {path}")
    model_type = sam_type_from_state_dict(state)
    named = sam_type_from_name(path)
    if named is not None and named != model_type:
        raise UserError(f"{path.name} is named {named} but its weights are {model_type}")
    model = sam_model_registry[model_type]()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UserError(f"SAM checkpoint {path} does not match the {model_type} model: {exc}") from exc
    return model.to(device).eval(), model_type


def build_sam_tiny(seed: int = 0, img_size: int = 128, width: int = 32, depth: int = 2) -> Sam:
    """A tiny randomly initialised SAM made of segment_anything's own modules — for tests and benchmarks only.

    Its masks are meaningless, but every call goes through the real encoder / prompt encoder / decoder /
    automatic-generator code, so shapes, ordering and caching can be tested without a real checkpoint.
    """
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        embed = img_size // 16
        model = Sam(
            image_encoder=ImageEncoderViT(
                img_size=img_size,
                patch_size=16,
                embed_dim=width,
                depth=depth,
                num_heads=2,
                mlp_ratio=2.0,
                out_chans=width,
                qkv_bias=True,
                norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                use_rel_pos=True,
                window_size=max(1, embed // 2),
                global_attn_indexes=(depth - 1,),
            ),
            prompt_encoder=PromptEncoder(
                embed_dim=width,
                image_embedding_size=(embed, embed),
                input_image_size=(img_size, img_size),
                mask_in_chans=8,
            ),
            mask_decoder=MaskDecoder(
                num_multimask_outputs=3,
                transformer=TwoWayTransformer(depth=1, embedding_dim=width, mlp_dim=2 * width, num_heads=2),
                transformer_dim=width,
                iou_head_depth=2,
                iou_head_hidden_dim=width,
            ),
        )
    finally:
        torch.random.set_rng_state(generator_state)
    return model.eval()


def model_digest(model: torch.nn.Module) -> str:
    """sha256 of a model's weights (names, shapes, dtypes, bytes): the id of a SAM given as an object."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _model_type(model: Sam) -> str:
    width = int(model.image_encoder.patch_embed.proj.out_channels)
    standard = _ENCODER_WIDTH_TO_TYPE.get(width)
    if standard is not None and model.image_encoder.img_size == 1024:
        return standard
    return f"custom{width}"


class _BatchedPredictor(SamPredictor):
    """A SamPredictor whose image embedding may come from a batched encoder pass, and which autocasts on CUDA."""

    def __init__(self, model: Sam, autocast_dtype: torch.dtype | None) -> None:
        super().__init__(model)
        self.autocast_dtype = autocast_dtype
        self._queued: tuple[torch.Tensor, tuple[int, int], tuple[int, int]] | None = None

    def encode(self, transformed: torch.Tensor) -> torch.Tensor:
        """Image embeddings of already-resized images ``[N,3,h,w]`` (float32, whatever ran inside)."""
        x = self.model.preprocess(transformed)
        if self.autocast_dtype is not None and x.device.type == "cuda":
            with torch.autocast("cuda", dtype=self.autocast_dtype):
                return self.model.image_encoder(x).float()
        return self.model.image_encoder(x)

    def queue(self, features: torch.Tensor, original_size: tuple[int, int], input_size: tuple[int, int]) -> None:
        """Use ``features`` for the next ``set_image`` of an image of ``original_size``."""
        self._queued = (features, original_size, input_size)

    @torch.no_grad()
    def set_torch_image(self, transformed_image: torch.Tensor, original_image_size: tuple[int, ...]) -> None:
        queued, self._queued = self._queued, None
        self.reset_image()
        self.original_size = tuple(original_image_size)
        self.input_size = tuple(transformed_image.shape[-2:])
        if queued is not None and queued[1] == self.original_size and queued[2] == self.input_size:
            self.features = queued[0]
        else:
            self.features = self.encode(transformed_image)
        self.is_image_set = True


def _autocast_dtype(device: torch.device) -> torch.dtype | None:
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


class SamMaskSource(MaskSource):
    """Masks from a SAM model via segment_anything's automatic mask generator, largest first, 64 channels."""

    def __init__(
        self,
        model: Sam,
        *,
        weights_id: str,
        model_type: str | None = None,
        points_per_side: int = POINTS_PER_SIDE,
        pred_iou_thresh: float = DEFAULT_PRED_IOU_THRESH,
        stability_score_thresh: float = DEFAULT_STABILITY_SCORE_THRESH,
        box_nms_thresh: float = DEFAULT_BOX_NMS_THRESH,
        batch_size: int | None = None,
    ) -> None:
        """``weights_id``: a short hash naming the weights (checkpoint sha256 prefix), part of ``id``."""
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.model_type = model_type or _model_type(model)
        self.predictor = _BatchedPredictor(self.model, _autocast_dtype(self.device))
        # points_per_batch only bounds memory (CPU: the 64x3x1024x1024 upsampled logits are ~0.8 GB); the masks
        # do not depend on it
        per_batch = 64 if self.device.type == "cuda" else 16
        self.generator = SamAutomaticMaskGenerator(
            self.model,
            points_per_side=points_per_side,
            points_per_batch=per_batch,
            pred_iou_thresh=pred_iou_thresh,
            stability_score_thresh=stability_score_thresh,
            box_nms_thresh=box_nms_thresh,
            output_mode="binary_mask",
        )
        self.generator.predictor = self.predictor
        self.preferred_batch = batch_size or (4 if self.device.type == "cuda" else 1)
        extra = ""
        if pred_iou_thresh != DEFAULT_PRED_IOU_THRESH:
            extra += f"-iou{pred_iou_thresh:g}"
        if stability_score_thresh != DEFAULT_STABILITY_SCORE_THRESH:
            extra += f"-stab{stability_score_thresh:g}"
        if box_nms_thresh != DEFAULT_BOX_NMS_THRESH:
            extra += f"-nms{box_nms_thresh:g}"
        self.id = f"sam-{self.model_type}-{weights_id}-pps{points_per_side}{extra}"

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, device: str = "cpu", sha256: str | None = None,
                        **kwargs) -> SamMaskSource:
        """Load a checkpoint file; the source id carries the first 16 hex digits of its sha256 (``sha256``
        when the caller knows it, else hashed here)."""
        model, model_type = load_sam(checkpoint, device)
        digest = sha256 or file_sha256(checkpoint)
        return cls(model, weights_id=digest[:16], model_type=model_type, **kwargs)

    @classmethod
    def from_model(cls, model: Sam, **kwargs) -> SamMaskSource:
        """Wrap a ready SAM object; its id carries a hash of its weights (prefixed ``m``)."""
        return cls(model, weights_id="m" + model_digest(model)[:16], **kwargs)

    def _generate(self, frame: np.ndarray) -> np.ndarray:
        records = self.generator.generate(frame)
        h, w = frame.shape[:2]
        return stack_ordered(
            [r["segmentation"] for r in records],
            h,
            w,
            areas=[r["area"] for r in records],
            tie_keys=[(r["predicted_iou"], r["stability_score"]) for r in records],
        )

    @torch.no_grad()
    def _masks(self, frame: np.ndarray) -> np.ndarray:
        return self._generate(frame)

    @torch.no_grad()
    def _masks_batch(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        if len(frames) == 1:
            return self._generate(frames[0])[None]
        out = []
        for start in range(0, len(frames), self.preferred_batch):
            chunk = frames[start : start + self.preferred_batch]
            flip = self.model.image_format != "RGB"  # what SamPredictor.set_image does for BGR models
            resized = [self.predictor.transform.apply_image(f[..., ::-1] if flip else f) for f in chunk]
            x = torch.as_tensor(np.stack(resized), device=self.device).permute(0, 3, 1, 2).contiguous()
            features = self.predictor.encode(x)
            for i, frame in enumerate(chunk):
                self.predictor.queue(features[i : i + 1], frame.shape[:2], tuple(x.shape[-2:]))
                out.append(self._generate(frame))
        return np.stack(out)
