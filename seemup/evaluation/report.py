"""Presenting a benchmark: paper-style rich tables and the JSON record (shape documented in docs/bench.md)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

import seemup

from .runner import BenchReport, ClipScore, ModelResult

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
    return (f"{result.model}{weights} on {report.dataset.name} · {report.space.upper()} · "
            f"crop {report.crop_border} · {report.dataset.lr_note}{precision}")


def _pair(psnr: float, ssim: float, signed: bool = False) -> str:
    """PSNR/SSIM in one cell, as the papers print them (27.2383/0.82505)."""
    return f"{_fmt(psnr, PSNR_DIGITS, signed)}/{_fmt(ssim, SSIM_DIGITS, signed)}"


def _memory_caption(kind: str) -> str:
    return ("Peak: GPU memory allocated by torch" if kind == "cuda"
            else "Peak: resident memory of the whole process (CPU)")


def _caption(base: ModelResult | None, memory_kind: str) -> str:
    parts = [f"Δ: vs {base.label}"] if base is not None else []
    return " · ".join([*parts, "ms/frame: model time per scored frame", _memory_caption(memory_kind)])


def model_table(report: BenchReport, result: ModelResult) -> Table:
    """One row per clip, then Average: PSNR/SSIM, delta vs the baseline, ms per frame, peak memory."""
    base = report.baseline if report.baseline is not None and report.baseline is not result else None
    table = Table(title=title(report, result), title_justify="left", caption=_caption(base, result.memory_kind),
                  caption_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Clip", no_wrap=True)
    for col in ("Frames", "PSNR/SSIM", *(("Δ PSNR/SSIM",) if base is not None else ()), "ms/frame", "Peak MiB"):
        table.add_column(col, justify="right", no_wrap=True)

    def row(name: str, score: ClipScore | ModelResult, ref: ClipScore | ModelResult | None, **style: Any) -> None:
        cells = [name, str(score.frames), _pair(score.psnr, score.ssim)]
        if base is not None:
            cells.append(_pair(score.psnr - ref.psnr, score.ssim - ref.ssim, True) if ref is not None else "-")
        cells += [_fmt(score.ms_per_frame, 1), _mem(score.peak_memory_bytes)]
        table.add_row(*cells, **style)

    for name, clip in result.clips.items():
        row(name, clip, base.clips.get(name) if base is not None else None)
    table.add_section()
    row("Average", result, base, style="bold")
    return table


def summary_table(report: BenchReport) -> Table:
    """One row per model (baseline first): for several models side by side."""
    base = report.baseline
    table = Table(title=f"{report.dataset.name} · {report.space.upper()} · average over clips", title_justify="left",
                  caption=_caption(base, report.results[0].memory_kind), caption_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Model (weights)")
    for col in ("PSNR/SSIM", "Δ PSNR/SSIM", "ms/frame", "Peak MiB"):
        table.add_column(col, justify="right", no_wrap=True)
    rows = [base] if _separate_baseline(report) else []
    for r in rows + report.results:
        name = f"{r.model} ({r.weights})" if r.weights else r.model
        delta = _pair(r.psnr - base.psnr, r.ssim - base.ssim, True) if base is not None and r is not base else ""
        table.add_row(name, _pair(r.psnr, r.ssim), delta, _fmt(r.ms_per_frame, 1), _mem(r.peak_memory_bytes))
    return table


def tables(report: BenchReport) -> list[Table]:
    """What `seemup bench` prints: the baseline's table, each model's, and a summary when several."""
    out = []
    if _separate_baseline(report):
        out.append(model_table(report, report.baseline))
    out += [model_table(report, r) for r in report.results]
    if len(report.results) > 1:
        out.append(summary_table(report))
    return out


def _scores(result: ModelResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "weights": result.weights,
        "clips": {name: {"psnr": _num(c.psnr), "ssim": _num(c.ssim), "frames": c.frames,
                         "ms_per_frame": _num(c.ms_per_frame), "peak_memory_mb": _mb(c.peak_memory_bytes)}
                  for name, c in result.clips.items()},
        "average": {"psnr": _num(result.psnr), "ssim": _num(result.ssim), "frames": result.frames,
                    "ms_per_frame": _num(result.ms_per_frame), "peak_memory_mb": _mb(result.peak_memory_bytes)},
        "memory_kind": result.memory_kind,
    }


def _with_delta(result: ModelResult, base: ModelResult | None) -> dict[str, Any]:
    d = {"label": result.label, **_scores(result)}
    if base is not None:
        d["delta"] = {"psnr": _num(result.psnr - base.psnr), "ssim": _num(result.ssim - base.ssim),
                      "clips": {n: {"psnr": _num(c.psnr - base.clips[n].psnr),
                                    "ssim": _num(c.ssim - base.clips[n].ssim)}
                                for n, c in result.clips.items() if n in base.clips}}
    else:
        d["delta"] = None
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
    per_model = [_with_delta(r, report.baseline) for r in report.results]
    if len(per_model) == 1:
        return {**head, **per_model[0]}
    return {**head, "models": per_model}


def write_json(report: BenchReport, path: str | Path) -> Path:
    """Write the JSON record atomically (temp file beside the target, then rename)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(report_json(report), f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
