"""benchmarks/gpu_check.py without a GPU: arguments, the no-CUDA exit, the table, and each check's isolation."""

from __future__ import annotations

import importlib.util
import math
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _load():  # noqa: ANN202 - the script as a module
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


gc = _load()


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_no_cuda_is_one_line_and_exit_2(no_cuda, capsys) -> None:
    assert gc.main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and _lines(err) == [gc.NO_CUDA]


def test_dry_run_lists_checks_without_cuda(no_cuda, capsys) -> None:
    assert gc.main(["--dry-run"]) == 0
    names = [line.split(":", 1)[0] for line in _lines(capsys.readouterr().out)]
    assert names == list(gc.CHECKS) and len(names) == 8
    # --only may be repeated and comma-separated; the table's order is kept
    assert gc.main(["--dry-run", "--only", "speed", "--only", "tiled, fp16"]) == 0
    assert [line.split(":", 1)[0] for line in _lines(capsys.readouterr().out)] == ["fp16", "tiled", "speed"]


@pytest.mark.parametrize("argv, says", [
    (["--only", "fp16,warp,zoom"], "error: unknown check 'warp', 'zoom' (choose from fp16, bf16, tiled,"),
    (["--only", ","], "error: --only names no check"),
    (["--bogus"], "error: unrecognized arguments: --bogus"),
    (["--footage", "/nonexistent/clip.mp4", "--dry-run"], "error: footage not found: /nonexistent/clip.mp4"),
    (["--markdown", "/nonexistent/dir/gpu.md"], "error: --markdown: folder does not exist: /nonexistent/dir"),
])
def test_bad_arguments_are_one_line(argv, says, no_cuda, capsys) -> None:
    assert gc.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(_lines(err)) == 1 and err.startswith(says)


def _rows():  # noqa: ANN202
    return [gc.Row("fp16", "57.31 dB vs fp32", ">= 50 dB", True, 12.04),
            gc.Row("oom-retry", "RuntimeError: a|b", "-", False, 3.0)]


def test_plain_table_is_aligned() -> None:
    lines = gc.format_table(_rows()).splitlines()
    assert lines[0].split() == ["check", "value", "threshold", "result", "s"]
    column = lines[0].index("result")
    assert [line[column:column + 4] for line in lines[1:]] == ["PASS", "FAIL"]
    assert lines[1].endswith("12.0") and lines[2].endswith("3.0")


def test_markdown_table() -> None:
    md = gc.format_markdown(_rows(), "on a GPU, today")
    assert md == ("on a GPU, today\n\n"
                  "| check | value | threshold | result | s |\n"
                  "|---|---|---|---|---|\n"
                  "| fp16 | 57.31 dB vs fp32 | >= 50 dB | PASS | 12.0 |\n"
                  "| oom-retry | RuntimeError: a\\|b | - | FAIL | 3.0 |\n")
    assert gc.summary(_rows(), 61.2) == "2 rows, 1 failed: oom-retry, in 61 s"


def test_a_check_that_raises_is_a_fail_row_and_the_next_still_runs() -> None:
    def broken(ctx):  # noqa: ANN001, ANN202
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail")

    def fine(ctx):  # noqa: ANN001, ANN202
        return [gc.Row("b1", "1", "-", True), gc.Row("b2", "2", "-", False)]

    said: list[str] = []
    rows = gc.run_checks(["a", "b"], ctx=None, say=said.append,
                         checks={"a": (broken, ""), "b": (fine, "")})
    assert [(r.check, r.passed) for r in rows] == [("a", False), ("b1", True), ("b2", False)]
    assert rows[0].value == "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    assert len(said) == 3 and said[0].startswith("FAIL a (")


def test_every_check_fails_alone_without_cuda(no_cuda, tmp_path) -> None:
    """Each registered check catches its own failure: without CUDA each is one FAIL row, at once."""
    rows = gc.run_checks(list(gc.CHECKS), gc.Context(tmp_path), say=lambda _line: None)
    assert [r.check for r in rows] == list(gc.CHECKS)
    assert {r.value for r in rows} == {"RuntimeError: CUDA is not available"}
    assert not any(r.passed for r in rows)


def test_main_runs_checks_prints_table_writes_markdown(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gc, "about_machine", lambda: "about this GPU")
    monkeypatch.setattr(gc, "_release", lambda: None)  # nothing on a GPU to release
    monkeypatch.setattr(gc, "CHECKS", {
        "ok": (lambda ctx: gc.Row("ok", "fine", "-", True), ""),
        "bad": (lambda ctx: 1 / 0, ""),
    })
    md = tmp_path / "gpu.md"
    assert gc.main(["--markdown", str(md)]) == 1
    out, err = capsys.readouterr()
    assert "PASS ok" in err and "FAIL bad" in err
    assert out.splitlines()[-1].startswith("2 rows, 1 failed: bad, in ")
    assert md.read_text().splitlines()[0] == "about this GPU"
    assert "| bad | ZeroDivisionError: division by zero | - | FAIL |" in md.read_text()
    assert gc.main(["--only", "ok"]) == 0


def test_psnr_and_memory_fraction() -> None:
    a = np.full((2, 8, 8, 3), 100, np.uint8)
    assert gc.psnr(a, a) == math.inf and gc.db(math.inf) == "identical"
    assert gc.psnr(a, a + 1) == pytest.approx(10 * math.log10(255**2))  # mse 1
    with pytest.raises(ValueError, match="shape"):
        gc.psnr(a, a[:1])
    assert gc.oom_fraction(reserved=100, peak=1000, total=10_000) == pytest.approx(0.06)
    assert gc.oom_fraction(reserved=0, peak=10**9, total=100) == 1.0
    with pytest.raises(ValueError):
        gc.oom_fraction(0, 0, 100)


def test_train_output_is_read() -> None:
    text = ("model basicvsr-seem: 6,902,591 parameters, 611,280 trainable\n"
            "data: 2 clip(s) on this process, 5 frames x 24px LR patches, batch 2 x 1 process(es), device cuda:0, "
            "mixed precision\n"
            "trained basicvsr-seem to iteration 20, loss 0.04211; 6,902,591 parameters, 611,280 trainable\n")
    out = gc.parse_train_output(text)
    assert (out.iteration, out.loss, out.processes, out.amp) == (20, 0.04211, 1, True)
    out = gc.parse_train_output("trained x to iteration 5, validation PSNR 30.00 dB; 1 parameters")
    assert (out.iteration, out.loss, out.processes, out.amp) == (5, None, None, False)
    with pytest.raises(RuntimeError, match="closing"):
        gc.parse_train_output("stopped at iteration 3; state saved")


def test_training_commands_parse(tmp_path) -> None:
    """The options the training checks pass exist: seemup's CLI and torchrun parse them (nothing runs)."""
    import typer
    from torch.distributed.run import get_args_parser

    from seemup.cli.app import app

    cli = typer.main.get_command(app)
    amp = gc.train_amp_command(tmp_path / "a", tmp_path / "c")
    assert amp[1:4] == ["-m", "seemup", "finetune"] and "--freeze-backbone" in amp and "--amp" in amp
    cli.commands["finetune"].make_context("finetune", amp[4:])
    nccl = gc.train_nccl_command(tmp_path / "n", tmp_path / "c")
    at = nccl.index("seemup")
    launcher = get_args_parser().parse_args(nccl[3:at - 1] + ["-m", "seemup"])
    assert launcher.nproc_per_node == "1" and launcher.module and launcher.standalone
    assert nccl[at + 1] == "train" and nccl[nccl.index("--device") + 1] == "cuda"
    cli.commands["train"].make_context("train", nccl[at + 2:])


def test_collective_check_on_gloo(monkeypatch) -> None:
    """The NCCL worker's body, on CPU with gloo: one rank, an all-reduce and a DDP backward."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}.items():
        monkeypatch.setenv(key, value)
    assert gc.collective_check(torch.device("cpu"), "gloo") == "gloo ok: all-reduce and DDP backward over 1 rank(s)"
