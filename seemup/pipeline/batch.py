"""Many inputs in one run (``seemup upscale a.mp4 b.mkv clips/ --out-dir OUT``): which files, where their
outputs go, one model load for all of them, a failing file reported while the others go on, and a table at
the end.

A folder given as an input stands for the videos in it (not its subfolders), or, when it holds no video but
png/jpg images, for itself as one frame-folder input. Each output is ``OUT/<input name>`` with the input's
container (``.mkv`` for containers seemup does not write, ``.mp4`` for a frame folder). An output that exists
with no interrupted run beside it is finished and skipped, as ``--resume`` skips finished chunks; ``--force``
makes it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from seemup.errors import UserError
from seemup.video import VIDEO_SUFFIXES, list_frame_files, natural_key
from seemup.weights.load import model_spec

from .loaded import ModelCache
from .options import UpscaleOptions
from .progress import ProgressSink
from .state import read_state
from .upscale import JobInterrupted, kept_after_stop, upscale_video

# containers taken from a folder (anything named explicitly is tried, whatever its name)
VIDEO_INPUT_SUFFIXES = (*VIDEO_SUFFIXES, ".mpg", ".mpeg", ".m2ts", ".mts", ".ts", ".wmv", ".flv", ".3gp",
                        ".ogv", ".vob", ".y4m", ".dv")


@dataclass(frozen=True)
class BatchItem:
    src: Path
    dst: Path


@dataclass
class FileOutcome:
    """What became of one input: ``status`` done, skipped or failed; ``message`` the summary or the error."""

    item: BatchItem
    status: str
    frames: int | None = None
    seconds: float = 0.0
    message: str = ""


def plan_batch(inputs: Sequence[Path], out_dir: Path) -> list[BatchItem]:
    """The (input, output) pairs, checked before any work: a missing input, a folder with nothing to upscale,
    two inputs with one output name, or an output that would replace its input are one line each."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out-dir {out_dir} is a file, not a folder")
    if not out_dir.parent.is_dir():
        raise UserError(f"--out-dir {out_dir}: its parent folder {out_dir.parent} does not exist")
    sources = [src for given in inputs for src in _expand(Path(given))]
    items: list[BatchItem] = []
    taken: dict[Path, Path] = {}
    for src in sources:
        dst = out_dir / _output_name(src)
        if dst.resolve() in taken:
            raise UserError(f"{taken[dst.resolve()]} and {src} would both be written to {dst}; "
                            "upscale them in two runs or rename one")
        if dst.resolve() == src.resolve():
            raise UserError(f"--out-dir {out_dir} holds {src}: its output would replace it; choose another folder")
        taken[dst.resolve()] = src
        items.append(BatchItem(src, dst))
    return items


def _expand(path: Path) -> list[Path]:
    if not path.exists():
        raise UserError(f"input not found: {path}")
    if not path.is_dir():
        return [path]
    videos = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
              and p.suffix.lower() in VIDEO_INPUT_SUFFIXES]
    if videos:
        return sorted(videos, key=lambda p: natural_key(p.name))
    if list_frame_files(path):
        return [path]
    raise UserError(f"{path} holds no video ({', '.join(VIDEO_INPUT_SUFFIXES[:4])}, ...) and no png/jpg frames")


def _output_name(src: Path) -> str:
    if src.is_dir():
        return f"{src.resolve().name}.mp4"
    suffix = src.suffix.lower()
    return f"{src.stem}{suffix if suffix in VIDEO_SUFFIXES else '.mkv'}"


def finished(dst: Path) -> bool:
    """An output in place with no interrupted run beside it."""
    return dst.exists() and read_state(dst) is None


def run_batch(items: Sequence[BatchItem], options: UpscaleOptions, *,
              progress: Callable[[BatchItem], ProgressSink] | None = None,
              log: Callable[[str], None] | None = None,
              report: Callable[[FileOutcome], None] | None = None,
              stopped: Callable[[], bool] = lambda: False,
              models: ModelCache | None = None) -> list[FileOutcome]:
    """Upscale each item in turn with one :class:`ModelCache`; ``report`` hears of each file as it ends.

    A file that fails (bad input, a codec its container refuses, a bug) is recorded and the next one starts;
    an interruption (Ctrl-C, or ``stopped()`` after a failure that the stop caused) ends the whole run with
    :class:`JobInterrupted`, saying what was kept of the file under way."""
    models = models or ModelCache()
    options.validate()  # once, not once per file
    model_spec(options.model)  # an unknown model name is one error, not one per file
    for folder in sorted({item.dst.parent for item in items}):
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create --out-dir {folder}: {exc.strerror or exc}") from None
    outcomes = []
    for item in items:
        if not options.force and finished(item.dst):
            outcome = FileOutcome(item, "skipped", message=f"{item.dst} exists")
        else:
            outcome = _one(item, options, progress(item) if progress else None, log, stopped, models)
        outcomes.append(outcome)
        if report is not None:
            report(outcome)
    return outcomes


def _one(item: BatchItem, options: UpscaleOptions, sink: ProgressSink | None, log: Callable[[str], None] | None,
         stopped: Callable[[], bool], models: ModelCache) -> FileOutcome:
    t0 = time.perf_counter()
    try:
        result = upscale_video(item.src, item.dst, options, progress=sink, log=log, models=models)
    except (JobInterrupted, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - one file's failure is reported and the run goes on
        if stopped():  # Ctrl-C reached ffmpeg first: its error is the stop's, not the file's
            raise JobInterrupted(kept_after_stop(item.dst)) from exc
        message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        return FileOutcome(item, "failed", seconds=time.perf_counter() - t0, message=message)
    return FileOutcome(item, "done", result.frames, time.perf_counter() - t0, result.summary())


def summary_table(outcomes: Sequence[FileOutcome]) -> str:
    """file | frames | time | result, one row per input, and a count of each result."""
    rows = [("file", "frames", "time", "result")]
    for o in outcomes:
        result = o.status if o.status != "failed" else f"failed: {o.message}"
        rows.append((str(o.item.src), "-" if o.frames is None else str(o.frames),
                     "-" if o.status == "skipped" else f"{o.seconds:.1f} s", result))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)
