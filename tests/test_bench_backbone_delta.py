"""`seemup bench` shows a SEEM model's per-clip change against its backbone, not only against bicubic."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from seemup.data.eval_datasets import EvalDataset
from seemup.evaluation import report_json, tables
from seemup.evaluation.bench import BenchReport, ClipScore, ModelResult


def _result(label: str, model: str, scores: dict[str, float]) -> ModelResult:
    res = ModelResult(label, model, None, memory_kind="rss")
    res.clips = {k: ClipScore(v, 0.9, 4, 1.0) for k, v in scores.items()}
    return res


def _report() -> BenchReport:
    bicubic = _result("bicubic", "bicubic", {"room": 25.0, "dog": 22.0})
    plain = _result("basicvsr", "basicvsr", {"room": 29.70, "dog": 27.22})
    seem = _result("basicvsr-seem", "basicvsr-seem", {"room": 27.33, "dog": 26.97})
    return BenchReport(EvalDataset("mine", Path("."), []), "y", 0, "cpu", [plain, seem], bicubic)


def test_seem_table_and_json_show_the_delta_against_the_backbone():
    report = _report()
    console = Console(width=200, record=True)
    for t in tables(report):
        console.print(t)
    text = console.export_text()
    assert "Δ backbone" in text and "Δ backbone: vs basicvsr" in text
    assert "-2.3700/+0.00000" in text and "-0.2500/+0.00000" in text  # the per-clip harm is visible
    seem = report_json(report)["models"][1]
    assert seem["delta_backbone"]["backbone"] == "basicvsr"
    assert round(seem["delta_backbone"]["clips"]["room"]["psnr"], 4) == -2.37
    assert "delta_backbone" not in report_json(report)["models"][0]  # the backbone itself has none
