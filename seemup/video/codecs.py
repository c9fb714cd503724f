"""Encoder arguments (codec, CRF, preset, pixel format) and which source audio/subtitles a container can take."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .ffmpeg import VideoError, available_encoders
from .probe import VideoInfo

CODEC_ALIASES = {"h264": "libx264", "x264": "libx264", "avc": "libx264", "h265": "libx265", "hevc": "libx265",
                 "x265": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1"}
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
CHROMA_SUBSAMPLED = ("yuv420p", "yuv420p10le", "nv12", "yuv422p", "yuv422p10le")
_MKV_LIKE = (".mkv", ".nut")
# audio each container takes as it is, and what other audio becomes there (Matroska and NUT take anything)
_AUDIO_FITS = {".mp4": {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac", "mp2"},
               ".m4v": {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac", "mp2"},
               ".mov": {"aac", "mp3", "ac3", "eac3", "alac", "mp2", "pcm_s16le", "pcm_s16be", "pcm_s24le"},
               ".webm": {"opus", "vorbis"}, ".avi": {"mp3", "mp2", "ac3", "pcm_s16le", "pcm_u8"}}
_AUDIO_INTO = {".mp4": (["aac", "-b:a", "192k"], "AAC"), ".m4v": (["aac", "-b:a", "192k"], "AAC"),
               ".mov": (["aac", "-b:a", "192k"], "AAC"), ".webm": (["libopus", "-b:a", "160k"], "Opus"),
               ".avi": (["libmp3lame", "-q:a", "2"], "MP3")}  # MP3 at any sample rate: quality, not a bitrate
_TEXT_SUBS = {"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"}
_MKV_SUBS = {"subrip", "ass", "ssa", "webvtt", "dvd_subtitle", "hdmv_pgs_subtitle", "dvb_subtitle"}
# the subtitle format text subtitles become in each container (None: the container holds none)
_TEXT_SUBS_INTO = {".mp4": "mov_text", ".m4v": "mov_text", ".mov": "mov_text", ".webm": "webvtt", ".mkv": "srt",
                   ".nut": "srt"}


@dataclass(frozen=True)
class EncodeSettings:
    """How the video stream is encoded: ``codec`` (an ffmpeg encoder or alias), ``crf``, ``preset``."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str | None = None  # None: yuv420p for the usual delivery codecs, the encoder's default otherwise
    target_suffix: str = ""  # the final output's container, where it changes how the stream must be encoded

    def for_target(self, target: Path) -> EncodeSettings:
        """These settings for an output file ``target`` (segments are encoded for the file they end up in)."""
        return replace(self, target_suffix=target.suffix.lower())

    def resolved_codec(self) -> str:
        codec = CODEC_ALIASES.get(self.codec.lower(), self.codec)
        if codec not in available_encoders():
            raise VideoError(f"unknown video codec {self.codec!r} (not an encoder of the bundled ffmpeg)")
        return codec

    def output_pix_fmt(self) -> str | None:
        if self.pix_fmt:
            return self.pix_fmt
        codec = self.resolved_codec()
        return "yuv420p" if codec in ("libx264", "libx265", "libvpx-vp9", "libsvtav1", "libaom-av1",
                                      "libopenh264", "mpeg4") else None

    def validate(self) -> None:
        """Raise a one-line error for values the encoder would reject mid-run."""
        codec = self.resolved_codec()
        if not 0 <= self.crf <= 63 or (codec in ("libx264", "libx265") and self.crf > 51):
            raise VideoError(f"crf {self.crf} out of range (0-51 for x264/x265)")
        if codec in ("libx264", "libx265") and self.preset not in X26X_PRESETS:
            raise VideoError(f"unknown preset {self.preset!r}; choose from {', '.join(X26X_PRESETS)}")

    def args(self, pix_fmt: str | None = None) -> list[str]:
        """ffmpeg output options for the video stream (``pix_fmt`` overrides the default one)."""
        codec = self.resolved_codec()
        out = ["-c:v", codec]
        if codec in ("libx264", "libx265"):
            out += ["-crf", str(self.crf), "-preset", self.preset]
        elif codec in ("libvpx-vp9", "libaom-av1"):
            out += ["-crf", str(self.crf), "-b:v", "0"]
        elif codec == "libsvtav1":
            out += ["-crf", str(self.crf)]
        if codec == "libx265":
            out += ["-x265-params", "log-level=error"]
        if self.target_suffix == ".avi" and codec in ("libx264", "libx265"):
            out += ["-bf", "0"]  # AVI has no presentation times: B-frames delay the picture behind the sound
        pix = pix_fmt or self.output_pix_fmt()
        if pix:
            out += ["-pix_fmt", pix]
        return out

    def needs_even_size(self) -> bool:
        return (self.output_pix_fmt() or "") in CHROMA_SUBSAMPLED


def _audio_codec_args(codecs: tuple[str, ...], suffix: str, notes: list[str]) -> list[str]:
    """Copy the audio where the container takes it, else re-encode it to that container's usual codec."""
    fits = _AUDIO_FITS.get(suffix)
    if fits is None or set(codecs) <= fits:
        return ["-c:a", "copy"]
    encoder, name = _AUDIO_INTO[suffix]
    notes.append(f"audio re-encoded to {name} ({', '.join(sorted(set(codecs)))} does not fit {suffix})")
    return ["-c:a", *encoder]


def _subtitle_args(codecs: tuple[str, ...], suffix: str, i: int, notes: list[str]) -> list[str]:
    """Each subtitle stream copied, converted to the container's text format, or dropped with a note."""
    args: list[str] = []
    dropped: list[str] = []
    out = 0
    for k, codec in enumerate(codecs):
        if suffix in _MKV_LIKE and codec in _MKV_SUBS:
            action = "copy"
        elif codec in _TEXT_SUBS:
            action = _TEXT_SUBS_INTO.get(suffix)
        else:
            action = None
        if action is None:
            dropped.append(codec)
            continue
        args += ["-map", f"{i}:s:{k}", f"-c:s:{out}", action]
        out += 1
    if dropped:
        notes.append(f"subtitles ({', '.join(sorted(set(dropped)))}) dropped: {suffix} cannot hold them")
    return args


def source_stream_args(source: VideoInfo, target: Path, input_index: int) -> tuple[list[str], list[str]]:
    """Options that carry ``source``'s audio, subtitles, chapters and metadata into ``target``.

    Returns (args, notes): notes say what could not be carried (e.g. bitmap subtitles into MP4).
    """
    if source.is_frame_dir:
        return [], []
    suffix = target.suffix.lower()
    i = input_index
    args = ["-map_metadata", str(i), "-map_chapters", str(i)]
    if source.language:  # the video stream is new (from the frames): its language tag comes from the source
        args += ["-metadata:s:v:0", f"language={source.language}"]
    if source.has_attachments and suffix in _MKV_LIKE:  # fonts for styled subtitles
        args += ["-map", f"{i}:t?", "-c:t", "copy"]
    notes: list[str] = []
    if source.has_audio:
        args += ["-map", f"{i}:a?", *_audio_codec_args(source.audio_codecs, suffix, notes)]
    if source.has_subtitles:
        args += _subtitle_args(source.subtitle_codecs, suffix, i, notes)
    return args, notes


# -- colour: YUV <-> RGB with the stream's own matrix and range, rounded accurately ------------------------------
SWS_FLAGS = "accurate_rnd+full_chroma_int+full_chroma_inp+bitexact"
_SCALE_MATRIX = {"bt709": "bt709", "fcc": "fcc", "bt470bg": "bt470bg", "smpte170m": "smpte170m",
                 "smpte240m": "smpte240m", "bt2020nc": "bt2020nc", "bt2020c": "bt2020nc"}
_TEN_BIT = {"libx264": "yuv420p10le", "libx265": "yuv420p10le", "libvpx-vp9": "yuv420p10le",
            "libsvtav1": "yuv420p10le", "libaom-av1": "yuv420p10le"}


def is_yuv(pix_fmt: str) -> bool:
    """Whether frames of ``pix_fmt`` are YCbCr (a matrix and range apply), not RGB or grey."""
    return "yuv" in pix_fmt or pix_fmt.startswith(("nv", "p01", "p21", "p41", "uyvy", "yuyv", "y21"))


def _matrix_and_range(info: VideoInfo | None) -> tuple[str, str]:
    """The matrix and range a YUV stream was (or is to be) made with: its tags, else ffmpeg's default
    BT.601 limited range; the same pair is used both ways, so colours come back where they were."""
    if info is None:
        return "bt601", "tv"
    return _SCALE_MATRIX.get(info.colorspace, "bt601"), info.color_range or "tv"


def rgb_from_yuv_filter(info: VideoInfo) -> str:
    """The scale filter for decoding to rgb24 (input side: the stream's matrix and range)."""
    if not is_yuv(info.pix_fmt):
        return f"scale=flags={SWS_FLAGS},format=rgb24"
    matrix, rng = _matrix_and_range(info)
    return f"scale=in_color_matrix={matrix}:in_range={rng}:flags={SWS_FLAGS},format=rgb24"


def yuv_from_rgb_filter(video: VideoInfo | None, pix_fmt: str) -> str:
    """The scale filter for encoding rgb24 as ``pix_fmt`` (output side: the source's matrix and range)."""
    if not is_yuv(pix_fmt):
        return f"scale=flags={SWS_FLAGS},format={pix_fmt}"
    matrix, rng = _matrix_and_range(video)
    return f"scale=out_color_matrix={matrix}:out_range={rng}:flags={SWS_FLAGS},format={pix_fmt}"


def colour_tags_filter(video: VideoInfo | None) -> str | None:
    """A setparams filter tagging the frames with the source's colour description (the encoder writes what
    the frames carry; ``-color_primaries`` and the like on the command line lose to the frames' own)."""
    if video is None:
        return None
    pairs = [(key, value) for key, value in (("color_primaries", video.color_primaries),
                                             ("color_trc", video.color_trc), ("colorspace", video.colorspace),
                                             ("range", video.color_range)) if value]
    return "setparams=" + ":".join(f"{k}={v}" for k, v in pairs) if pairs else None


def deep_pix_fmt(settings: EncodeSettings, video: VideoInfo | None) -> tuple[str | None, str | None]:
    """(pixel format, note): 10-bit output for a source deeper than 8 bits where the codec can take it."""
    pix = settings.output_pix_fmt()
    if video is None or video.bit_depth <= 8 or settings.pix_fmt:
        return pix, None
    codec = settings.resolved_codec()
    if codec in _TEN_BIT:
        return _TEN_BIT[codec], None
    return pix, f"{video.bit_depth}-bit input encoded at 8 bits: {codec} cannot store more"
