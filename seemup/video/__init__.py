"""Video I/O through the bundled ffmpeg: probing, streaming frame reading, atomic writing, segment joining."""

from .atomic import VIDEO_SUFFIXES, check_target, is_frame_dir_target, temp_path_for
from .codecs import EncodeSettings
from .ffmpeg import VideoError, ffmpeg_exe
from .frame_dir import list_frame_files, natural_key
from .negotiate import check_output
from .probe import FrameTiming, VideoInfo, probe
from .reader import FrameReader, read_frames
from .segments import join_segments, segment_suffix
from .writer import FrameWriter, frame_name, write_frames

__all__ = [
    "EncodeSettings", "FrameReader", "FrameTiming", "FrameWriter", "VIDEO_SUFFIXES", "VideoError", "VideoInfo",
    "check_output", "check_target", "ffmpeg_exe", "frame_name", "is_frame_dir_target", "join_segments",
    "list_frame_files", "natural_key", "probe", "read_frames", "segment_suffix", "temp_path_for", "write_frames",
]
