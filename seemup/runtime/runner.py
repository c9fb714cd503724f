"""Running a x4 network on uint8 frames: tensors, padding, precision, tiles, and CUDA out-of-memory retries."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seemup.errors import UserError

from .device import autocast
from .frames import masks_to_tensor, to_tensor, to_uint8

SCALE = 4
MIN_TILE = 16


@dataclass
class ModelRunner:
    """Calls ``model`` on frames; remembers a tile size that CUDA memory forced on it.

    ``multiple``: the network needs h, w divisible by it (EDVR: 4); inputs are edge-padded, outputs cropped.
    """

    model: nn.Module
    device: torch.device
    precision: str = "fp32"  # fp32, fp16 or bf16 (autocast; see device.resolve_precision)
    tile: int | None = None
    tile_overlap: int = 16
    multiple: int = 1
    notes: list[str] = field(default_factory=list)

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph or pw:
            lead = x.shape[:-3]
            x = F.pad(x.reshape(-1, *x.shape[-3:]), (0, pw, 0, ph), mode="replicate").reshape(*lead, *x.shape[-3:-2],
                                                                                                h + ph, w + pw)
        return x, ph, pw

    def _call(self, lr: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
        with autocast(self.device, self.precision):
            return self.model(lr, masks) if masks is not None else self.model(lr)

    def forward(self, lr: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
        """The network's output for ``lr`` [B,T,3,h,w], padded/tiled as needed, cropped back to 4h x 4w."""
        from .tiling import tiled_forward

        h, w = lr.shape[-2:]
        lr, ph, pw = self._pad(lr)
        if masks is not None:
            masks, _, _ = self._pad(masks)
        while True:
            try:
                with torch.inference_mode():
                    if self.tile:
                        out = tiled_forward(self._call, lr, masks, self.tile, self.tile_overlap, SCALE, self.multiple)
                    else:
                        out = self._call(lr, masks)
                break
            except torch.cuda.OutOfMemoryError:
                if self.device.type != "cuda":
                    raise
                self._shrink_tile(max(lr.shape[-2:]))
        return out[..., : h * SCALE, : w * SCALE]

    def _shrink_tile(self, size: int) -> None:
        """After a CUDA out-of-memory error: halve the tile (the first: half the frame); give up below MIN_TILE."""
        torch.cuda.empty_cache()
        new = (self.tile or size) // 2
        if new < MIN_TILE:
            raise UserError(f"out of GPU memory even with {MIN_TILE}px tiles; try a smaller --chunk "
                            "or --device cpu") from None
        self.notes.append(f"CUDA out of memory: tile size {self.tile or 'off'} -> {new}")
        self.tile = new

    def run(self, frames: np.ndarray, masks: np.ndarray | None = None) -> np.ndarray:
        """``frames`` [B,T,h,w,3] uint8 (``masks`` [B,T,M,h,w]) -> network output as uint8 (…,4h,4w,3)."""
        with torch.inference_mode():
            lr = to_tensor(frames, self.device)
            m = masks_to_tensor(masks, self.device)
            return to_uint8(self.forward(lr, m), in_place=True)

    def stream_recurrent(self, frames: np.ndarray, masks: np.ndarray | None = None, start: int = 0,
                         stop: int | None = None) -> Generator[np.ndarray, None, None]:
        """Output frames ``start`` .. ``stop - 1`` of a clip [T,h,w,3], each [4h,4w,3] uint8, as they are ready
        (a single frame is doubled: the recurrence needs two).

        A network with a ``stream`` method (the BasicVSR family) gives them one by one, so the caller can
        encode each and drop it, and frames outside ``start:stop`` (a chunk's context) cost less; others,
        and tiled runs, compute the clip at once. A CUDA out-of-memory error switches to tiles and goes on
        from the first frame not yet given out.
        """
        stop = frames.shape[0] if stop is None else stop
        frames, masks = _at_least_two(frames, masks)
        done = start
        stream = getattr(self.model, "stream", None)
        if stream is not None and not self.tile:
            with torch.inference_mode():
                lr = to_tensor(frames[None], self.device)
                h, w = lr.shape[-2:]
                lr, _, _ = self._pad(lr)
                m = None if masks is None else self._pad(masks_to_tensor(masks[None], self.device))[0]
                outputs = stream(lr, m, start, stop)
            out_of_memory = False
            try:
                while done < stop:
                    with torch.inference_mode(), autocast(self.device, self.precision):
                        frame = to_uint8(next(outputs)[0, :, : h * SCALE, : w * SCALE])
                    yield frame
                    done += 1
            except torch.cuda.OutOfMemoryError:
                if self.device.type != "cuda":
                    raise
                out_of_memory = True
            finally:
                outputs.close()  # frees the clip's stored features now, also when the caller stops early
            if out_of_memory:
                del outputs, lr, m
                self._shrink_tile(max(h, w))
        if done < stop:
            yield from self.run(frames[None], None if masks is None else masks[None])[0, done:stop]


def _at_least_two(frames: np.ndarray, masks: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """A single frame is doubled: the recurrence needs two."""
    if frames.shape[0] > 1:
        return frames, masks
    return np.concatenate([frames, frames]), None if masks is None else np.concatenate([masks, masks])
