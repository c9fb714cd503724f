"""The CPU notice: how long a slow model will take on this machine, said before the work starts.

Each model's cost is data (``cpu_costs.toml``: reference convolutions per 320x180 frame, measured by
benchmarks/bench_network.py); one convolution timed now on this CPU turns it into seconds."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from pathlib import Path

import torch

from seemup.errors import UserError
from seemup.runtime.device import autocast_dtype, cpu_conv_seconds, cpu_estimate_seconds

CPU_FAST_MODEL = "basicvsr-lite"  # what the notice suggests instead of a model at least twice as slow
COSTS_FILE = Path(__file__).with_name("cpu_costs.toml")

Costs = Mapping[str, float]  # precision -> reference convolutions per 320x180 frame


@functools.cache
def cpu_costs() -> dict[str, dict[str, float]]:
    """Model name -> its measured :data:`Costs` (models not in the table have no known cost)."""
    with open(COSTS_FILE, "rb") as f:
        return {name: {p: float(v) for p, v in costs.items()} for name, costs in tomllib.load(f).items()}


def human_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def cpu_estimate_note(name: str, costs: Costs, fast_costs: Costs, size: tuple[int, int], num_frames: int,
                      precision: str, fast_precision: str, uses_masks: bool = False) -> str | None:
    """How long model ``name`` (``costs``) takes on this CPU for ``num_frames`` frames of ``size``, and what the
    fast model (``fast_costs`` at ``fast_precision``, which auto may make int8 for it) would take; None when
    ``name`` is not at least twice as slow as that one or a cost is unknown."""
    cost, fast = costs.get(precision), fast_costs.get(fast_precision, fast_costs.get(precision))
    if cost is None or fast is None or cost < 2 * fast:
        return None
    width, height = size
    conv = cpu_conv_seconds(precision)
    same_dtype = autocast_dtype(fast_precision) == autocast_dtype(precision)
    fast_conv = conv if same_dtype else cpu_conv_seconds(fast_precision)
    est = cpu_estimate_seconds(cost, width, height, num_frames, conv)
    lite = cpu_estimate_seconds(fast, width, height, num_frames, fast_conv)
    where = "no CUDA device: " if not torch.cuda.is_available() else ""
    masks = " plus the masks" if uses_masks else ""
    return (f"{where}{name} on CPU needs about {est / num_frames:.1f} s per frame here{masks} "
            f"(~{human_seconds(est)} for {num_frames} frames of {width}x{height}); --model {CPU_FAST_MODEL} "
            f"would need about {lite / num_frames:.2f} s per frame (~{human_seconds(lite)})")


def fast_model_precision(requested: str, precision: str) -> str:
    """The precision the fast CPU model would run at under the same ``--precision``: auto makes it int8
    where its default weights ship int8 ranges."""
    from seemup.weights import resolve_weights
    from seemup.weights.int8_ranges import prefer_int8

    if precision == "int8":
        return precision
    try:
        info = resolve_weights(CPU_FAST_MODEL, None)
    except UserError:
        return precision
    return "int8" if prefer_int8(requested, torch.device("cpu"), info.path if info else None) else precision


def notice_for(name: str, uses_masks: bool, size: tuple[int, int], num_frames: int, requested: str,
               precision: str) -> str | None:
    """The CPU notice for registered model ``name`` from the cost table (None for the fast model itself)."""
    table = cpu_costs()
    if name == CPU_FAST_MODEL or not table.get(name, {}).get(precision):
        return None
    return cpu_estimate_note(name, table[name], table.get(CPU_FAST_MODEL, {}), size, num_frames, precision,
                             fast_model_precision(requested, precision), uses_masks)
