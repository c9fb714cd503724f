"""What a video is (size, exact frame rate, exact frame count, streams, rotation), from ``ffmpeg -i``.

imageio-ffmpeg carries no ffprobe, so this parses ffmpeg's stream summary on stderr. Frames are counted by
decoding the video stream to the null muxer: that is what a reader will yield, even when the container header
lies or holds packets that are never shown (the pre-roll of a file cut without re-encoding). The packets are
counted too, by stream copy, so frames lost to a damaged stream are told apart from pre-roll and refused
up front (or skipped on request) instead of failing a long run at its end.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .ffmpeg import VideoError, ffmpeg_cmd, run_ffmpeg
from .frame_dir import list_frame_files, read_image_rgb

DEFAULT_FRAME_DIR_FPS = Fraction(25)


@dataclass(frozen=True)
class VideoInfo:
    """A video file's or frame folder's properties; ``width``/``height`` are as stored (before rotation)."""

    path: Path
    width: int
    height: int
    fps: Fraction
    num_frames: int
    duration: float | None = None
    has_audio: bool = False
    has_subtitles: bool = False
    rotation: int = 0  # display rotation in degrees, counter-clockwise as ffmpeg's -display_rotation takes it
    codec: str = ""
    audio_codecs: tuple[str, ...] = ()
    subtitle_codecs: tuple[str, ...] = ()
    is_frame_dir: bool = False
    undecodable: int = 0  # stored frames the decoder could not turn into pictures (only with skip_damaged)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, after applying the rotation."""
        if self.rotation % 180 == 90:
            return self.height, self.width
        return self.width, self.height


_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio|Subtitle|Data|Attachment): (.*)$")
_SIZE = re.compile(r"(?:^|[ ,])(\d{1,6})x(\d{1,6})(?:[ ,\[]|$)")
_FPS = re.compile(r"([\d.]+k?) fps")
_TBR = re.compile(r"([\d.]+k?) tbr")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_DISPLAY_MATRIX = re.compile(r"display ?matrix: rotation of (-?[\d.]+) degrees", re.IGNORECASE)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+)\s*$")
_FRAME_COUNT = re.compile(r"frame=\s*(\d+)")
# an error logged by a decoder (not by the demuxer, the null muxer or ffmpeg's own input/output layers)
_DECODER_ERROR = re.compile(r"^\[(?!null\b|in#|out#|vist#|vost#|dec:|mux|demux)([\w-]+) @ [^\]]+\] \[error\] (.+)$",
                            re.MULTILINE)
# any error line; ffmpeg's own "Error submitting packet to decoder" follows every packet a decoder refuses
_ANY_ERROR = re.compile(r"\[error\] (.+)$", re.MULTILINE)


def _parse_rate(text: str) -> Fraction:
    """ffmpeg prints rates rounded (29.97, 23.98, 12.5, 30k): snap the NTSC family back to n*1000/1001."""
    mult = 1000 if text.endswith("k") else 1
    value = float(text.rstrip("k")) * mult
    if value <= 0:
        raise ValueError(text)
    ntsc = round(value * 1001 / 1000)
    if ntsc > 0 and abs(ntsc * 1000 / 1001 - value) < 0.006 and abs(round(value) - value) > 0.006:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(text.rstrip("k")).limit_denominator(1000) * mult


def _codec_name(desc: str) -> str:
    return desc.split(",")[0].split("(")[0].strip()


def parse_ffmpeg_info(stderr: str, path: Path) -> dict:
    """The fields of :class:`VideoInfo` (but the frame count) from ``ffmpeg -i`` output."""
    lines = stderr.splitlines()
    video_desc = None
    video_line = -1
    audio: list[str] = []
    subs: list[str] = []
    for i, line in enumerate(lines):
        m = _STREAM.match(line)
        if not m:
            continue
        kind, desc = m.groups()
        if kind == "Video" and video_desc is None and "(attached pic)" not in desc:
            video_desc, video_line = desc, i
        elif kind == "Audio":
            audio.append(_codec_name(desc))
        elif kind == "Subtitle":
            subs.append(_codec_name(desc))
    if video_desc is None:
        raise VideoError(f"no video stream in {path}")
    size = _SIZE.search(video_desc)
    if not size:
        raise VideoError(f"cannot read the frame size of {path}")
    width, height = int(size.group(1)), int(size.group(2))
    rate = _FPS.search(video_desc) or _TBR.search(video_desc)
    try:
        fps = _parse_rate(rate.group(1)) if rate else None
    except (ValueError, ZeroDivisionError):
        fps = None
    rotation = 0
    for line in lines[video_line + 1:]:  # side data / metadata of the video stream, up to the next stream
        if _STREAM.match(line) or not line.startswith("    "):
            break
        m = _DISPLAY_MATRIX.search(line)
        if m:
            rotation = int(round(float(m.group(1)))) % 360
            break
        m = _ROTATE_TAG.match(line)
        if m:  # old-style tag is clockwise; display rotation is counter-clockwise
            rotation = (-int(m.group(1))) % 360
    dur = _DURATION.search(stderr)
    duration = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)) if dur else None
    return {
        "width": width, "height": height, "fps": fps, "duration": duration, "has_audio": bool(audio),
        "has_subtitles": bool(subs), "rotation": rotation, "codec": _codec_name(video_desc),
        "audio_codecs": tuple(audio), "subtitle_codecs": tuple(subs),
    }


@dataclass(frozen=True)
class FrameCount:
    """How many frames a video stream stores and how many its decoder yields."""

    stored: int
    decoded: int
    decoder_error: str = ""  # the first error a decoder logged, "" if none

    @property
    def damaged(self) -> bool:
        """Frames were lost to decoding errors (not hidden on purpose, as a cut file's pre-roll is)."""
        return self.decoded < self.stored and bool(self.decoder_error)


def _last_count(stderr: str, path: Path) -> int:
    counts = _FRAME_COUNT.findall(stderr)
    if not counts:
        raise VideoError(f"cannot count the frames of {path}")
    return int(counts[-1])


def count_frames(path: Path, on_progress: Callable[[int, int], None] | None = None) -> FrameCount:
    """Stored frames (video packets, by stream copy) and decoded frames (a full decode to the null muxer, with
    the reader's frame-rate passthrough); a decode that fails outright is a :class:`VideoError`.

    The decode pass takes a while on long videos (~450 frames/s for 720p H.264 on 2 cores), so
    ``on_progress(decoded_so_far, stored)`` is called as it goes, about twice a second.
    """
    proc = run_ffmpeg(ffmpeg_cmd("-i", path, "-map", "0:v:0", "-c", "copy", "-f", "null", "-"))
    if proc.returncode != 0:
        raise VideoError(f"cannot read {path}: {_last_error(proc.stderr)}")
    stored = _last_count(proc.stderr, path)
    if stored == 0:  # nothing to decode; ffmpeg would fail opening an encoder for a stream with no frames
        return FrameCount(stored=0, decoded=0)
    decoded, stderr, returncode = _decode_pass(path, lambda n: on_progress(n, stored) if on_progress else None)
    first = _first_decoder_error(stderr)
    if returncode != 0:
        raise VideoError(f"decoding {path} failed, the stream is corrupt: {first or _last_error(stderr)}")
    return FrameCount(stored=stored, decoded=decoded, decoder_error=first)


def _first_decoder_error(stderr: str) -> str:
    """The decoder's own message if its line is intact, else any error line ("" if there is none).

    ffmpeg logs from several threads, so a decoder's line can still lose its ``[codec @ ...]`` prefix to
    another thread's half-written line; the fallback keeps such a stream from passing as undamaged.
    """
    errors = _DECODER_ERROR.findall(stderr)
    if errors:
        return f"{errors[0][0]}: {errors[0][1].strip().rstrip('.')}"
    other = _ANY_ERROR.search(stderr)
    return other.group(1).strip().rstrip(".") if other else ""


def _decode_pass(path: Path, on_frames: Callable[[int], None]) -> tuple[int, str, int]:
    """Decode the first video stream to the null muxer: (frames, stderr text, exit code).

    ``-progress pipe:1`` reports ``frame=N`` on stdout as it goes (the last report is the total); stderr goes
    to a temporary file, since the decoder errors can be anywhere in it and a pipe could fill and stall ffmpeg.
    Only errors are logged: at the info level the main thread's stream summary is written while the decoder
    thread reports the first bad packet, and the two interleave mid-line (about 1 run in 100 on 2 cores),
    which hid the decoder's ``[h264 @ ...] [error]`` prefix and let a damaged stream pass.
    """
    args = ffmpeg_cmd("-loglevel", "level+error", "-nostats", "-progress", "pipe:1", "-i", path, "-map", "0:v:0",
                      "-an", "-sn", "-dn", "-fps_mode", "passthrough", "-f", "null", "-")
    frames = 0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        try:
            for raw in proc.stdout:
                key, _, value = raw.decode("ascii", "replace").strip().partition("=")
                if key == "frame" and value.isdigit():
                    frames = int(value)
                    on_frames(frames)
        finally:
            proc.stdout.close()
            returncode = proc.wait()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return frames, stderr, returncode


def _last_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "Error opening input" in ln and "file" not in ln:
            return ln.split(":", 1)[-1].strip().lower() or ln
    return lines[-1] if lines else "ffmpeg failed"


def probe(path: str | Path, fps: Fraction | float | str | None = None, *, skip_damaged: bool = False,
          on_progress: Callable[[int, int], None] | None = None) -> VideoInfo:
    """Describe a video file or a folder of frames; :class:`VideoError` (a UserError) if it is neither.

    ``fps`` overrides the rate (the only source of it for a frame folder, default 25). A stream whose decoder
    loses frames to errors is refused unless ``skip_damaged``; then ``num_frames`` counts the frames that
    decode and ``undecodable`` the others. ``on_progress(done, total)`` follows the frame count's decode pass.
    """
    path = Path(path)
    override = Fraction(fps).limit_denominator(1001) if fps is not None and not isinstance(fps, Fraction) else fps
    if override is not None and override <= 0:
        raise VideoError(f"fps must be positive, got {fps}")
    if not path.exists():
        raise VideoError(f"input not found: {path}")
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            raise VideoError(f"no png/jpg frames in folder {path}")
        first = read_image_rgb(files[0])
        rate = override or DEFAULT_FRAME_DIR_FPS
        return VideoInfo(path=path, width=first.shape[1], height=first.shape[0], fps=rate,
                         num_frames=len(files), duration=float(len(files) / rate), codec="png",
                         is_frame_dir=True)
    proc = run_ffmpeg(ffmpeg_cmd("-i", path))  # exits 1 ("no output file"), the summary is on stderr
    if "Input #0" not in proc.stderr:
        reason = _last_error(proc.stderr)
        raise VideoError(f"not a readable video: {path} ({reason})")
    fields = parse_ffmpeg_info(proc.stderr, path)
    fields["fps"] = override or fields["fps"]
    if fields["fps"] is None:
        raise VideoError(f"cannot tell the frame rate of {path}; give it explicitly")
    counted = count_frames(path, on_progress)
    if counted.damaged and not skip_damaged:
        lost = counted.stored - counted.decoded
        raise VideoError(f"{path}: {lost} of {counted.stored} frames cannot be decoded ({counted.decoder_error}); "
                         f"the stream is corrupt. --skip-damaged upscales the {counted.decoded} that can")
    if counted.decoded == 0:
        raise VideoError(f"no frames in the video stream of {path}")
    return VideoInfo(path=path, num_frames=counted.decoded,
                     undecodable=counted.stored - counted.decoded if counted.damaged else 0, **fields)
