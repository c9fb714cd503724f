"""The space-time protocol of Zooming Slow-Mo, TMNet and RSTT (x4 in space, x2 in time), as frame indices.

Every second GT frame of a clip goes in (1-based 1, 3, 5, ...), every GT frame is scored. Their test code
walks the clip in windows of 7 GT frames (4 LR frames in), each starting on the last frame of the one
before; when those windows miss the end of the clip, one more window is placed to end on its last frame.
A frame is scored once, from the first window that holds it. In a clip with an even number of frames that
last window starts on an even (1-based) frame, so its inputs are the other half of the frames: the last
frame is then an input, and the frames before it are scored from that window's inputs, not from the
clip's every-second-frame inputs. docs/bench.md ("Space-time") names the code this follows.

Here the windows that share their inputs' parity are joined into one *pass*: the model sees the pass's
inputs as one clip (a recurrent network the whole of it), and each frame is scored from its pass.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = 7  # GT frames per window of the published test code (its networks take 4 frames, make 7)
TIME_FACTOR = 2  # the protocol's frame-rate factor: every second frame in


@dataclass(frozen=True)
class Published:
    """A published result on the same protocol, shown in the table for context."""

    method: str
    psnr: float
    ssim: float
    source: str


PUBLISHED_VID4 = (  # Vid4, Y, all frames (the papers' tables)
    Published("Zooming Slow-Mo", 26.31, 0.7976, "Xiang et al., CVPR 2020"),
    Published("TMNet", 26.43, 0.8016, "Xu et al., CVPR 2021"),
    Published("RSTT-L", 26.43, 0.7994, "Geng et al., CVPR 2022"),
)


@dataclass(frozen=True)
class Pass:
    """One run of the model: the GT indices of the LR frames it gets (every second frame, increasing) and
    the GT frames scored from its output (all between its first and last input)."""

    inputs: tuple[int, ...]
    scored: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.inputs[0]

    @property
    def span(self) -> int:
        """Frames the pass's output covers: its inputs and the new frame between each pair."""
        return self.inputs[-1] - self.inputs[0] + 1

    def is_known(self, frame: int) -> bool:
        """Whether GT frame ``frame`` is one of this pass's inputs (else the model had to make it)."""
        return frame in self.inputs


def windows(num_frames: int) -> list[tuple[int, ...]]:
    """The test code's windows (0-based GT indices) for a clip of ``num_frames`` frames, in order."""
    if num_frames < WINDOW:
        raise ValueError(f"the space-time protocol needs clips of at least {WINDOW} frames, got {num_frames}")
    out = [tuple(range(end - WINDOW, end)) for end in range(WINDOW, num_frames + 1, WINDOW - 1)]
    if out[-1][-1] < num_frames - 1:
        out.append(tuple(range(num_frames - WINDOW, num_frames)))
    return out


def plan_passes(num_frames: int) -> list[Pass]:
    """The protocol's windows joined by their inputs' parity: which frames go in and which are scored."""
    passes: list[tuple[set[int], list[int]]] = []
    parity: list[int] = []
    seen: set[int] = set()
    for win in windows(num_frames):
        if not parity or parity[-1] != win[0] % 2:
            passes.append((set(), []))
            parity.append(win[0] % 2)
        inputs, scored = passes[-1]
        inputs.update(win[::2])
        scored += [f for f in win if f not in seen]
        seen.update(win)
    return [Pass(tuple(sorted(i)), tuple(s)) for i, s in passes]


def known_frames(num_frames: int) -> list[bool]:
    """Per GT frame: True where the frame it is scored against went in (a known frame), False where the
    model made it (a new frame)."""
    roles = {}
    for p in plan_passes(num_frames):
        roles.update((f, p.is_known(f)) for f in p.scored)
    return [roles[f] for f in range(num_frames)]
