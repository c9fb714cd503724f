"""From command-line names to a network ready to run on frames: the one loading path that `seemup upscale`,
`seemup bench` and `seemup compare` share (model + weights + device + precision + int8 + SEEM masks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from seemup.errors import UserError
from seemup.masks import DEFAULT_MAX_BYTES, CachedMasks, MaskCache, get_mask_source
from seemup.models import ModelSpec, get_spec
from seemup.runtime.device import place_model, resolve_precision
from seemup.runtime.int8 import residual_blocks
from seemup.runtime.runner import ModelRunner

from .build import build_model
from .hashing import file_sha256
from .int8_ranges import apply_int8, prefer_int8
from .locations import search_dirs
from .resolve import WeightsInfo, find_sam_checkpoint

DEFAULT_WEIGHTS_WORD = "default"  # --weights default: the model's default set, as when --weights is not given


@dataclass
class LoadedModel:
    """A built network on its device plus what a caller must know to feed it and to report on it."""

    label: str  # the model's name, or name@weight-set when --weights named one
    spec: ModelSpec
    runner: ModelRunner
    info: WeightsInfo | None  # the weight set loaded (None: an untrained network, or bicubic)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, module: torch.nn.Module, name: str, kind: str = "recurrent", num_frame: int | None = None,
           device: torch.device | str = "cpu", precision: str = "fp32", seem: bool = False) -> LoadedModel:
        """A network built elsewhere (tests, experiments) wrapped to run through the same path; ``seem``: it
        takes SEEM masks."""
        config: dict = {"num_frame": num_frame} if num_frame is not None else {}
        if seem:
            config["seem"] = True
        spec = ModelSpec(name, lambda **_: module, config, kind)
        runner = ModelRunner(module, torch.device(device), precision=precision, multiple=4 if kind == "window" else 1)
        return cls(label=name, spec=spec, runner=runner, info=None)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def model(self) -> torch.nn.Module:
        return self.runner.model

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def uses_masks(self) -> bool:
        return self.spec.uses_masks

    @property
    def precision(self) -> str:
        return self.runner.precision

    @property
    def num_frame(self) -> int | None:
        """A window model's 2N+1 (weights may change it: EDVR-L's REDS set takes 5), else None."""
        return getattr(self.model, "num_frame", self.spec.num_frame) if self.kind == "window" else None

    @property
    def weights(self) -> str | None:
        """The weight set's name."""
        return self.info.name if self.info is not None else None

    @property
    def weights_path(self) -> Path | None:
        return self.info.path if self.info is not None else None

    @property
    def mask_source_id(self) -> str | None:
        return self.info.mask_source_id if self.info is not None else None


def model_spec(name: str) -> ModelSpec:
    """The registered model ``name`` (aliases resolved); an unknown name is a one-line UserError."""
    try:
        return get_spec(name)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def load_for_inference(model: str, weights: str | Path | None, device: torch.device, precision: str = "fp32", *,
                       mask_source_id: str | None = None, auto_int8: bool = False, tile: int | None = None,
                       tile_overlap: int = 16, spacetime: bool = False) -> LoadedModel:
    """Build ``model`` with ``weights`` (None or ``default``: its default set) on ``device``.

    ``precision``: fp32, fp16, bf16, int8 or auto (checked here, once). int8 turns the residual blocks into
    int8 from the weights' calibration; with ``auto_int8`` (upscale) ``auto`` does so where the weights ship
    calibrated ranges and the CPU runs int8 exactly. ``mask_source_id``: the masks a SEEM model will be fed
    (an adapter trained on other masks is refused). Untrained networks (tests' tiny models, zero SEEM) come
    from a fixed seed, so a resumed job continues with the same network and the caller's random state is
    left as it was. ``spacetime``: a one-stage space-time network (SAFA) is welcome too (upscale with
    ``--fps-factor``); otherwise only x4 networks are.
    """
    spec = model_spec(model)
    if spec.kind not in ("recurrent", "window", *(("spacetime",) if spacetime else ())):
        raise UserError(f"{spec.name} is not a x4 super-resolution model ({spec.description})")
    if spec.name == "bicubic" and weights not in (None, DEFAULT_WEIGHTS_WORD):
        raise UserError("the bicubic model has no weights; drop --weights")
    requested = precision
    resolved = resolve_precision(device, requested)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net, info = build_model(spec.name, None if weights in (None, DEFAULT_WEIGHTS_WORD) else weights,
                                mask_source_id=mask_source_id if spec.uses_masks else None)
    net = place_model(net, device)
    path = info.path if info is not None else None
    label = spec.name if weights in (None, DEFAULT_WEIGHTS_WORD) or info is None else f"{spec.name}@{info.name}"
    if auto_int8 and prefer_int8(requested, device, path):
        resolved = "int8"
    if resolved == "int8" and residual_blocks(net):  # a model without blocks (bicubic) runs as it is
        net = apply_int8(net, path, label)
    runner = ModelRunner(net, device, precision=resolved, tile=tile or None, tile_overlap=tile_overlap,
                         multiple=4 if spec.kind == "window" else 1)
    return LoadedModel(label=label, spec=spec, runner=runner, info=info,
                       notes=list(info.notes) if info is not None else [])


def open_masks(kind: str, device: torch.device | str, *, quiet: bool = False, sam_checkpoint: str | Path | None = None,
               cache_dir: str | Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> CachedMasks:
    """The SEEM mask source ``kind`` (auto, sam, classical) through the on-disk cache.

    An explicit ``sam_checkpoint`` is used as given; otherwise auto/sam take the preferred installed SAM
    checkpoint (hash-checked), and the hash cache names it, so a 2.5 GB file is hashed once."""
    path, digest = (Path(sam_checkpoint).expanduser() if sam_checkpoint is not None else None), None
    if path is None and kind != "classical":
        found = find_sam_checkpoint()
        path = found[1] if found is not None else None
    if path is not None and path.is_file():
        digest = file_sha256(path)
    source = get_mask_source(kind, sam_checkpoint=path, device=device, quiet=quiet, sam_sha256=digest,
                             searched=search_dirs())
    return CachedMasks(source, MaskCache(cache_dir, max_bytes=max_bytes))
