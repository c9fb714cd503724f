"""Presenting a benchmark: paper-style rich tables and the JSON record (shape documented in docs/bench.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

import seemup
from seemup.atomicfile import atomic_write_text

from .bench import BenchReport, ClipScore, ModelResult
from .spacetime_run import PartScore, SpaceTimeReport, SpaceTimeResult

PSNR_DIGITS, SSIM_DIGITS = 4, 5  # as the SEEM paper prints its tables


def _num(x: float | None) -> float | None:
    """JSON has no inf/nan: an identical pair (PSNR inf) or a missing value is written as null."""
    return None if x is None or not math.isfinite(x) else float(x)


def _mb(b: int | None) -> float | None:
    return None if b is None else round(b / 2**20, 1)


def _fmt(x: float, digits: int, signed: bool = False) -> str:
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _mem(b: int | None) -> str:
    return "-" if b is None else f"{b / 2**20:,.0f}"


def _separate_baseline(report: BenchReport) -> bool:
    """True when the baseline is not also one of the benchmarked models (it then gets its own table/row)."""
    return report.baseline is not None and all(report.baseline is not r for r in report.results)


def title(report: BenchReport, result: ModelResult) -> str:
    weights = f" ({result.weights})" if result.weights else ""
    precision = {"fp32": "", "int8": " · int8 residual blocks"}.get(report.precision, f" · {report.precision} autocast")
    front = f"{result.interpolator} → " if isinstance(result, SpaceTimeResult) and result.interpolator else ""
    time_x = f" · x{report.fps_factor} time" if isinstance(report, SpaceTimeReport) else ""
    return (f"{front}{result.model}{weights} on {report.dataset.name}{time_x} · {report.space.upper()} · "
            f"crop {report.crop_border} · {report.dataset.lr_note}{precision}")


def _split_cells(score: ClipScore | ModelResult) -> list[str]:
    """Known and new frames' PSNR/SSIM of a space-time score ("-" where a clip has none of a kind)."""
    if isinstance(score, SpaceTimeResult):
        parts: tuple[PartScore | None, ...] = (score.part("known"), score.part("new"))
    else:
        parts = (getattr(score, "known", None), getattr(score, "new", None))
    return [_pair(p.psnr, p.ssim) if p is not None else "-" for p in parts]


def _pair(psnr: float, ssim: float, signed: bool = False) -> str:
    """PSNR/SSIM in one cell, as the papers print them (27.2383/0.82505)."""
    return f"{_fmt(psnr, PSNR_DIGITS, signed)}/{_fmt(ssim, SSIM_DIGITS, signed)}"


def _memory_caption(kind: str) -> str:
    return ("Peak: GPU memory allocated by torch" if kind == "cuda"
            else "Peak: resident memory of the whole process (CPU)")


def _caption(base: ModelResult | None, memory_kind: str, backbone: ModelResult | None = None) -> str:
    parts = [f"Δ: vs {base.label}"] if base is not None else []
    if backbone is not None:
        parts.append(f"Δ backbone: vs {backbone.label}")
    return " · ".join([*parts, "ms/frame: model time per scored frame", _memory_caption(memory_kind)])


def backbone_result(report: BenchReport, result: ModelResult) -> ModelResult | None:
    """The plain backbone's result in the same run, when ``result`` is a SEEM model's: what SEEM adds or costs."""
    if not result.model.endswith("-seem"):
        return None
    plain = result.model.removesuffix("-seem")
    return next((r for r in [*report.results, report.baseline] if r is not None and r.model == plain), None)


def model_table(report: BenchReport, result: ModelResult) -> Table:
    """One row per clip, then Average: PSNR/SSIM, delta vs the baseline, ms per frame, peak memory."""
    base = report.baseline if report.baseline is not None and report.baseline is not result else None
    plain = backbone_result(report, result)
    table = Table(title=escape(title(report, result)), title_justify="left", box=box.SIMPLE_HEAD,
                  caption=escape(_caption(base, result.memory_kind, plain)), caption_justify="left")
    table.add_column("Clip", no_wrap=True)
    deltas = (*(("Δ PSNR/SSIM",) if base is not None else ()), *(("Δ backbone",) if plain is not None else ()))
    split = ("Known", "New") if isinstance(result, SpaceTimeResult) else ()
    for col in ("Frames", "PSNR/SSIM", *split, *deltas, "ms/frame", "Peak MiB"):
        table.add_column(col, justify="right", no_wrap=True)

    def delta(score: ClipScore | ModelResult, ref: ClipScore | ModelResult | None) -> str:
        return _pair(score.psnr - ref.psnr, score.ssim - ref.ssim, True) if ref is not None else "-"

    def row(name: str, score: ClipScore | ModelResult, ref: ClipScore | ModelResult | None,
            ref_plain: ClipScore | ModelResult | None, **style: Any) -> None:
        cells = [escape(name), str(score.frames), _pair(score.psnr, score.ssim)]
        cells += _split_cells(score) if split else []
        if base is not None:
            cells.append(delta(score, ref))
        if plain is not None:
            cells.append(delta(score, ref_plain))
        cells += [_fmt(score.ms_per_frame, 1), _mem(score.peak_memory_bytes)]
        table.add_row(*cells, **style)

    for name, clip in result.clips.items():
        row(name, clip, base.clips.get(name) if base is not None else None,
            plain.clips.get(name) if plain is not None else None)
    table.add_section()
    row("Average", result, base, plain, style="bold")
    return table


def summary_table(report: BenchReport) -> Table:
    """One row per model (baseline first): for several models side by side."""
    base = report.baseline
    heading = f"{escape(report.dataset.name)} · {report.space.upper()} · average over clips"
    table = Table(title=heading, title_justify="left",
                  caption=_caption(base, report.results[0].memory_kind), caption_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Model (weights)")
    with_backbone = any(backbone_result(report, r) is not None for r in report.results)
    split = ("Known", "New") if isinstance(report, SpaceTimeReport) else ()
    for col in ("PSNR/SSIM", *split, "Δ PSNR/SSIM", *(("Δ backbone",) if with_backbone else ()), "ms/frame",
                "Peak MiB"):
        table.add_column(col, justify="right", no_wrap=True)
    rows = [base] if _separate_baseline(report) else []
    for r in rows + report.results:
        name = f"{r.model} ({r.weights})" if r.weights else r.model
        if isinstance(r, SpaceTimeResult) and r.interpolator:
            name = f"{r.interpolator} → {name}"
        delta = _pair(r.psnr - base.psnr, r.ssim - base.ssim, True) if base is not None and r is not base else ""
        plain = backbone_result(report, r)
        extra = [_pair(r.psnr - plain.psnr, r.ssim - plain.ssim, True) if plain is not None else ""]
        table.add_row(escape(name), _pair(r.psnr, r.ssim), *(_split_cells(r) if split else []), delta,
                      *(extra if with_backbone else []), _fmt(r.ms_per_frame, 1), _mem(r.peak_memory_bytes))
    _published_rows(report, table, len(split) + (1 if with_backbone else 0))
    return table


def _published_rows(report: BenchReport, table: Table, blanks: int) -> None:
    """The papers' own numbers on this protocol, below ours, for context (not run here)."""
    published = report.published if isinstance(report, SpaceTimeReport) else ()
    if not published:
        return
    table.add_section()
    for p in published:
        table.add_row(escape(f"{p.method} (published)"), f"{p.psnr:.2f}/{p.ssim:.4f}", *([""] * blanks), "", "-",
                      "-", style="dim")


def tables(report: BenchReport) -> list[Table]:
    """What `seemup bench` prints: the baseline's table, each model's, and a summary when several."""
    out = []
    if _separate_baseline(report):
        out.append(model_table(report, report.baseline))
    out += [model_table(report, r) for r in report.results]
    if len(report.results) > 1 or isinstance(report, SpaceTimeReport):  # space-time: with the published rows
        out.append(summary_table(report))
    return out


def _scores(result: ModelResult) -> dict[str, Any]:
    split = isinstance(result, SpaceTimeResult)
    return {
        "model": result.model,
        "weights": result.weights,
        **({"interpolator": result.interpolator} if split else {}),
        "clips": {name: {"psnr": _num(c.psnr), "ssim": _num(c.ssim), "frames": c.frames,
                         "ms_per_frame": _num(c.ms_per_frame), "peak_memory_mb": _mb(c.peak_memory_bytes),
                         **(_split_json(getattr(c, "known", None), getattr(c, "new", None)) if split else {})}
                  for name, c in result.clips.items()},
        "average": {"psnr": _num(result.psnr), "ssim": _num(result.ssim), "frames": result.frames,
                    "ms_per_frame": _num(result.ms_per_frame), "peak_memory_mb": _mb(result.peak_memory_bytes),
                    **(_split_json(result.part("known"), result.part("new")) if split else {})},
        "memory_kind": result.memory_kind,
    }


def _split_json(known: PartScore | None, new: PartScore | None) -> dict[str, Any]:
    """Space-time scores over the known and the new frames apart (null where there are none)."""
    return {kind: None if p is None else {"psnr": _num(p.psnr), "ssim": _num(p.ssim), "frames": p.frames}
            for kind, p in (("known", known), ("new", new))}


def _delta(result: ModelResult, base: ModelResult | None) -> dict[str, Any] | None:
    if base is None:
        return None
    return {"psnr": _num(result.psnr - base.psnr), "ssim": _num(result.ssim - base.ssim),
            "clips": {n: {"psnr": _num(c.psnr - base.clips[n].psnr), "ssim": _num(c.ssim - base.clips[n].ssim)}
                      for n, c in result.clips.items() if n in base.clips}}


def _with_delta(report: BenchReport, result: ModelResult) -> dict[str, Any]:
    d = {"label": result.label, **_scores(result), "delta": _delta(result, report.baseline)}
    plain = backbone_result(report, result)
    if plain is not None:
        d["delta_backbone"] = {"backbone": plain.label, **_delta(result, plain)}  # type: ignore[dict-item]
    return d


def report_json(report: BenchReport) -> dict[str, Any]:
    """One model: the model's keys at the top level. Several: the same per-model dicts under ``models``."""
    head: dict[str, Any] = {
        "dataset": report.dataset.name,
        "dataset_path": str(report.dataset.root),
        "space": report.space,
        "crop_border": report.crop_border,
        "lr": report.dataset.lr_note,
        "device": report.device,
        "precision": report.precision,
        "max_frames": report.max_frames,
        "mask_source": report.mask_source,
        "seemup_version": seemup.__version__,
        "baseline": _scores(report.baseline) if report.baseline is not None else None,
    }
    if isinstance(report, SpaceTimeReport):
        head["fps_factor"] = report.fps_factor
        head["published"] = [{"method": p.method, "psnr": p.psnr, "ssim": p.ssim, "source": p.source}
                             for p in report.published]
    per_model = [_with_delta(report, r) for r in report.results]
    if len(per_model) == 1:
        return {**head, **per_model[0]}
    return {**head, "models": per_model}


def write_json(report: BenchReport, path: str | Path) -> Path:
    """Write the JSON record atomically (temp file beside the target, then rename)."""
    path = Path(path).expanduser()
    atomic_write_text(path, json.dumps(report_json(report), indent=2, allow_nan=False) + "\n")
    return path
