"""Benchmarking models on the papers' evaluation sets with the papers' protocol (docs/bench.md)."""

from seemup.data.frame_indices import window_indices
from seemup.weights.load import LoadedModel

from .bench import BenchReport, ClipScore, ModelResult, run_bench
from .build import build_mask_fn, build_run, build_runs, needs_masks
from .inference import super_resolve
from .report import model_table, report_json, summary_table, tables, write_json

__all__ = [
    "BenchReport", "ClipScore", "LoadedModel", "ModelResult", "build_mask_fn", "build_run", "build_runs",
    "model_table", "needs_masks", "report_json", "run_bench", "summary_table", "super_resolve", "tables",
    "window_indices", "write_json",
]
