"""Before the first frame is computed: can the chosen codec and the source's streams go into the output?

A mismatch (H.264 into WebM, GIF or raw video into MP4, a subtitle or audio codec the container refuses)
used to show only at the final join, after all the compute. Here one tiny frame is encoded as a segment
would be, then muxed with the source's streams exactly as the join will (same options, so the same
conversions: subtitles to the container's text format, audio re-encoded where it does not fit), into a
temporary file of the output's container. What still fails is refused with one line.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from .codecs import EncodeSettings, source_stream_args
from .ffmpeg import VideoError, ffmpeg_cmd, file_url, run_ffmpeg
from .probe import VideoInfo
from .segments import segment_suffix

_SAMPLE_SECONDS = "0.5"


def _reason(stderr: str) -> str:
    """The first line that says why (a muxer's own complaint), without its ``[mp4 @ 0x...]`` prefix."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not re.search(r"Could not write header|Error opening output|Conversion failed", ln)]
    line = (useful or lines or ["ffmpeg failed"])[0]
    return re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\] ", "", line).rstrip(".")


def _encode_sample(path: Path, settings: EncodeSettings) -> None:
    proc = run_ffmpeg(ffmpeg_cmd("-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=25",
                                 "-frames:v", "2", *settings.args(), file_url(path)))
    if proc.returncode != 0:
        raise VideoError(f"--codec {settings.codec} cannot encode a segment ({path.suffix}): {_reason(proc.stderr)}")


def _mux(sample: Path, out: Path, source: VideoInfo | None) -> tuple[bool, str]:
    args: list[str] = ["-v", "error", "-y", "-i", file_url(sample)]
    extra: list[str] = []
    if source is not None and not source.is_frame_dir:
        args += ["-t", _SAMPLE_SECONDS, "-i", file_url(source.path)]
        extra, _ = source_stream_args(source, out, 1)
    args += ["-map", "0:v:0", *extra, "-c:v", "copy", "-t", _SAMPLE_SECONDS, file_url(out)]
    proc = run_ffmpeg(ffmpeg_cmd(*args))
    return proc.returncode == 0, _reason(proc.stderr)


def check_output(target: Path, settings: EncodeSettings, source: VideoInfo | None = None) -> None:
    """Refuse, in one line and before any work, an output whose container cannot take the chosen video codec
    or the source's audio, subtitles and attachments (after the conversions the join makes)."""
    suffix = target.suffix.lower()
    settings = settings if settings.target_suffix else settings.for_target(target)
    codec = settings.resolved_codec()
    with tempfile.TemporaryDirectory(prefix="seemup-check-") as tmp:
        sample = Path(tmp) / f"sample{segment_suffix(codec)}"
        _encode_sample(sample, settings)
        ok, reason = _mux(sample, Path(tmp) / f"video{suffix}", None)
        if not ok:
            raise VideoError(f"--codec {settings.codec} cannot be stored in {suffix} ({reason}); "
                             f"choose another --codec or output container")
        if source is None or source.is_frame_dir:
            return
        ok, reason = _mux(sample, Path(tmp) / f"all{suffix}", source)
        if not ok:
            raise VideoError(f"the audio/subtitles of {source.path.name} cannot be stored in {suffix} ({reason}); "
                             f"choose another output container")
