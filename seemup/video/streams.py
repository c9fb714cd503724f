"""A file's streams from the container's structured fields (through PyAV), never from ffmpeg's printed summary.

ffmpeg prints tags verbatim in the summary it writes for ``-i``, so a title holding ``Stream #0:9: Video: h264,
32x24, 5 fps`` or ``Display Matrix: rotation of 90.00 degrees`` could pose as a stream there. Here a tag is only
a tag: size, rates (exact fractions), codec, sample aspect ratio and colour come from the stream's parameters,
and rotation from the display-matrix side data the decoder attaches to the first frame.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from .ffmpeg import VideoError, file_url

# ffmpeg's names for the colour enums (as -color_primaries, -color_trc, -colorspace, -color_range take them)
_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film", 9: "bt2020",
              10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "jedec-p22"}
_TRC = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear", 9: "log100",
        10: "log316", 11: "iec61966-2-4", 12: "bt1361e", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
        16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}
_SPACE = {1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco", 9: "bt2020nc",
          10: "bt2020c", 14: "ictcp"}
_RANGE = {1: "tv", 2: "pc"}
_FIRST_FRAME_PACKETS = 500  # a stream whose first 500 packets decode to nothing has no rotation to find


def _open(path: Path):  # noqa: ANN202 - an av container
    import av

    try:
        return av.open(file_url(path), metadata_errors="replace")
    except av.FFmpegError as exc:
        reason = (getattr(exc, "strerror", None) or str(exc)).strip().lower()
        raise VideoError(f"not a readable video: {path} ({reason})") from None


def _first_frame(container, stream):  # noqa: ANN001, ANN202 - av objects
    """The first picture the decoder gives (None if none does soon): it carries the side data and colour tags."""
    import av

    for n, packet in enumerate(container.demux(stream)):
        if n >= _FIRST_FRAME_PACKETS:
            break
        try:
            for frame in packet.decode():
                return frame
        except av.FFmpegError:  # a damaged packet; the frame count decides what to do about it
            continue
    return None


def _codec_name(stream) -> str:  # noqa: ANN001
    """The codec's own name as ffmpeg prints it ("subrip", not the decoder's "srt")."""
    ctx = stream.codec_context
    codec = ctx.codec if ctx is not None else None
    return (codec.canonical_name if codec is not None else "") or ""


def _rate(stream) -> Fraction | None:  # noqa: ANN001
    for rate in (stream.guessed_rate, stream.average_rate, stream.base_rate):  # ffmpeg's own pick first
        if rate:
            return Fraction(rate)
    return None


def _colour(frame, ctx) -> dict:  # noqa: ANN001
    def pick(attr: str, names: dict[int, str]) -> str:
        for obj in (frame, ctx):
            value = int(getattr(obj, attr, 0) or 0) if obj is not None else 0
            if value in names:
                return names[value]
        return ""

    return {"color_primaries": pick("color_primaries", _PRIMARIES), "color_trc": pick("color_trc", _TRC),
            "colorspace": pick("colorspace", _SPACE), "color_range": pick("color_range", _RANGE)}


def _pix_fmt(frame, ctx) -> tuple[str, int]:  # noqa: ANN001
    fmt = frame.format if frame is not None else ctx.format
    if fmt is None:
        return "", 8
    return fmt.name, max((c.bits for c in fmt.components), default=8)


def _interlaced(frame, ctx) -> bool:  # noqa: ANN001
    if frame is not None and frame.interlaced_frame:
        return True
    return int(getattr(ctx, "field_order", 0) or 0) > 1  # 0 unknown, 1 progressive, 2+ a field order


def read_streams(path: Path) -> dict:
    """The fields of :class:`~seemup.video.probe.VideoInfo` that describe streams (not the frame count)."""
    container = _open(path)
    with container:
        videos = [s for s in container.streams.video if not s.disposition & s.disposition.attached_pic]
        if not videos:
            raise VideoError(f"no video stream in {path}")
        video = videos[0]
        ctx = video.codec_context
        if not ctx.width or not ctx.height:
            raise VideoError(f"cannot read the frame size of {path}")
        audio = tuple(_codec_name(s) for s in container.streams.audio)
        subs = tuple(_codec_name(s) for s in container.streams.subtitles)
        language = (video.metadata.get("language") or "").strip()
        fields = {
            "width": ctx.width, "height": ctx.height, "fps": _rate(video), "codec": _codec_name(video),
            "duration": container.duration / 1_000_000 if container.duration else None,
            "container_start": Fraction(container.start_time or 0, 1_000_000),
            "has_audio": bool(audio), "audio_codecs": audio, "has_subtitles": bool(subs), "subtitle_codecs": subs,
            "has_attachments": bool(container.streams.attachments),
            "sar": Fraction(video.sample_aspect_ratio or 1) or Fraction(1),
            "language": "" if language == "und" else language,
        }
        frame = _first_frame(container, video)
        fields["rotation"] = int(round(frame.rotation)) % 360 if frame is not None else 0
        fields["pix_fmt"], fields["bit_depth"] = _pix_fmt(frame, ctx)
        fields["interlaced"] = _interlaced(frame, ctx)
        fields.update(_colour(frame, ctx))
    return fields
