"""Check that seemup's SAFA computes what the reference SAFA computes, with the same scale decisions.

Needs a checkout of megvii-research/WACV2024-SAFA kept outside this repository (its code is not part of seemup):

    python benchmarks/compare_safa.py --ref /path/to/WACV2024-SAFA

The reference draws each recurrent block's scale with ``torch.bernoulli``, even at inference. Here its
``RoundSTE`` is replaced by seemup's rule (a level is taken when its probability is >= 0.5), so both sides take
the same decisions; the script prints them. Both get the same random weights (the zero-initialised ``beta`` of
every residual block and the BatchNorm statistics randomised too, so that no part is trivially skipped) and the
same 8-bit LR frames. The reference's input is made as its demo makes it (``cv2.resize`` x4 INTER_CUBIC of the
uint8 frames, / 255, zero padding to 32); seemup makes its own from the LR frames. Reported, as max abs
difference of the output frames in [0, 1]:

- eval path (each sample runs only its chosen level), batch 1 and batch 2, several t, two frame sizes;
- training path (all levels weighted by the 0/1 decisions, as the reference does for batches > 1);
- the reference fed by OpenCV with IPP on (its default on x86) instead of OpenCV's own resize;
- the reference as published (bernoulli): two runs on the same input, to show why seemup thresholds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--ref", required=True, help="path of a WACV2024-SAFA checkout (the folder holding model/)")
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--float64-only", action="store_true", help="only the float64 comparison")
args = ap.parse_args()
torch.set_num_threads(args.threads)
sys.path.insert(0, str(Path(args.ref).resolve()))

import model.flownet as ref_flownet  # noqa: E402  (the reference, from --ref)

from seemup.models.safa import SAFA  # noqa: E402

TIMES = [0.0, 0.125, 0.5, 0.77, 1.0]
SIZES = [(24, 40), (30, 46)]  # LR h x w: the second needs padding (HR 120x184 -> 128x192) and has odd width
_bernoulli_forward = ref_flownet.RoundSTE.forward


def threshold(ctx, x):  # noqa: ANN001, ANN201 - replaces the reference's RoundSTE.forward
    return (x >= 0.5).to(x.dtype)


def randomise(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Default init, plus random beta / PReLU slopes / BN statistics / selector bias (nothing trivially zero)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, v in model.state_dict().items():
        v = v.clone()
        if k.endswith(".beta"):
            v = torch.randn(v.shape, generator=g) * 0.3
        elif k.endswith("running_var"):
            v = torch.rand(v.shape, generator=g) + 0.5
        elif k.endswith("running_mean"):
            v = torch.randn(v.shape, generator=g) * 0.1
        elif "getscale.4.weight" in k:
            v = v * 40  # a selector that reacts to its input (the bias is centred per case in centre_selector)
        elif v.dim() == 1 and v.is_floating_point() and ("prelu" in k or k.endswith(".1.weight")):
            v = v + torch.randn(v.shape, generator=g) * 0.05
        state[k] = v
    return state


def frames(h: int, w: int, n: int, seed: int) -> np.ndarray:
    """``n`` smooth random 8-bit BGR frames (blurred noise plus a moving gradient)."""
    rng = np.random.default_rng(seed)
    out = []
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        noise = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.float32), (0, 0), 1.5)
        ramp = (np.sin((xx + 2 * i) / 5.0) * 60 + yy * 2)[..., None]
        out.append(np.clip(noise + ramp - 40, 0, 255).astype(np.uint8))
    return np.stack(out)


def ref_input(bgr: np.ndarray) -> torch.Tensor:
    """The reference demo's input: cv2 bicubic x4 of uint8, / 255, zero padding to multiples of 32."""
    hr = np.stack([cv2.resize(f, (0, 0), fx=4, fy=4, interpolation=cv2.INTER_CUBIC) for f in bgr])
    x = torch.tensor(hr.transpose(0, 3, 1, 2)) / 255.0
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % 32, 0, -h % 32))


def run_ref(ref: torch.nn.Module, bgr0: np.ndarray, bgr1: np.ndarray, double: bool = False) -> torch.Tensor:
    x = torch.cat((ref_input(bgr0), ref_input(bgr1)), 1)
    x = x.double() if double else x
    with torch.no_grad():
        out = ref.inference(x, timestep=list(TIMES))
    h, w = bgr0.shape[1] * 4, bgr0.shape[2] * 4
    return torch.stack(out, 1)[..., :h, :w]


def run_ours(ours: SAFA, bgr0: np.ndarray, bgr1: np.ndarray, grad: bool = False, double: bool = False) -> torch.Tensor:
    def rgb(a: np.ndarray) -> torch.Tensor:
        x = torch.tensor(a[..., ::-1].transpose(0, 3, 1, 2).copy()) / 255.0
        return x.double() if double else x

    with torch.set_grad_enabled(grad):
        out = ours(rgb(bgr0), rgb(bgr1), TIMES)
    return out.detach().flip(2)  # RGB -> BGR, as the reference's output


def centre_selector(models: list[torch.nn.Module], ours: SAFA, bgr0: np.ndarray, bgr1: np.ndarray) -> float:
    """Centre the selector's bias between the middle logits of this case, so that blocks and samples choose
    different levels; returns the smallest distance of a logit from the threshold (decisions are not knife-edge)."""
    logits: list[torch.Tensor] = []
    handle = ours.block.getscale[4].register_forward_hook(lambda _m, _i, out: logits.append(out.detach()))
    for m in models:
        m.block.getscale[4].bias.data.zero_()
    run_ours(ours, bgr0, bgr1)
    handle.remove()
    ordered = torch.cat(logits).sort(dim=0).values
    mid = ordered.shape[0] // 2
    bias = -(ordered[mid - 1] + ordered[mid]) / 2  # halfway between the two middle logits
    for m in models:
        m.block.getscale[4].bias.data.copy_(bias)
    return (torch.cat(logits) + bias).abs().min().item()


def decisions(net: torch.nn.Module) -> list[torch.Tensor]:
    """A hook list that collects every recurrent block's level per sample (0 full, 1 half, 2 quarter)."""
    seen: list[torch.Tensor] = []

    def hook(_m, _i, prob):  # noqa: ANN001, ANN202
        s = prob.detach() >= 0.5
        seen.append(torch.where(s[:, 1], torch.where(s[:, 0], 0, 1), 2))

    net.block.getscale.register_forward_hook(hook)
    return seen


def compare_float64(ref: torch.nn.Module, ours: SAFA) -> None:
    """Both sides in float64 (the reference's cached float32 sampling grids rebuilt in float64 too): what is
    left is arithmetic, not rounding."""
    import model.warplayer as ref_warplayer  # noqa: PLC0415  (the reference, from --ref)

    h, w = SIZES[1]
    clip = frames(h, w, 4, args.seed + h)
    centre_selector([ref, ours], ours, clip[0:2], clip[2:4])
    ref.double()
    ours.double()
    ref_warplayer.backwarp_tenGrid.clear()
    torch.set_default_dtype(torch.float64)
    try:
        r = run_ref(ref, clip[0:2], clip[2:4], double=True)
        o = run_ours(ours, clip[0:2], clip[2:4], double=True)
    finally:
        torch.set_default_dtype(torch.float32)
        ref_warplayer.backwarp_tenGrid.clear()
    print(f"float64 on both sides (batch 2, LR {h}x{w}): max |ref - seemup| {(r - o).abs().max():.2e}")
    ref.float()
    ours.float()


def main() -> None:
    ref = ref_flownet.SAFA().eval()
    state = randomise(ref, args.seed)
    ref.load_state_dict(state, strict=True)
    ours = SAFA().eval()
    ours.load_state_dict(state, strict=True)
    print(f"parameters: reference {sum(p.numel() for p in ref.parameters()):,}, seemup "
          f"{sum(p.numel() for p in ours.parameters()):,}; state-dict keys {len(ref.state_dict())} / "
          f"{len(ours.state_dict())}")
    ref_seen, our_seen = decisions(ref), decisions(ours)
    ref_flownet.RoundSTE.forward = staticmethod(threshold)
    cv2.ipp.setUseIPP(False)
    if args.float64_only:
        compare_float64(ref, ours)
        return
    worst = 0.0
    for h, w in SIZES:
        clip = frames(h, w, 4, args.seed + h)
        for batch in (1, 2):
            b0, b1 = clip[0:batch], clip[2:2 + batch]
            margin = centre_selector([ref, ours], ours, b0, b1)
            ref_seen.clear()
            our_seen.clear()
            r, o = run_ref(ref, b0, b1), run_ours(ours, b0, b1)
            diff = (r - o).abs().amax(dim=(0, 2, 3, 4))
            same = all(torch.equal(a, b) for a, b in zip(ref_seen, our_seen, strict=True))
            levels = torch.cat(our_seen).bincount(minlength=3).tolist()
            print(f"LR {h}x{w} batch {batch}: max |ref - seemup| per t {[f'{d:.2e}' for d in diff.tolist()]}; "
                  f"decisions equal: {same}; levels used (full, half, quarter): {levels}; closest logit to the "
                  f"threshold {margin:.3f}")
            worst = max(worst, diff.max().item())
            if batch == 2:
                for p in ours.parameters():
                    p.requires_grad_(True)
                mixed = run_ours(ours, b0, b1, grad=True)
                print(f"  training path (all levels, weighted): max |ref - seemup| {(r - mixed).abs().max():.2e}")
                worst = max(worst, (r - mixed).abs().max().item())
    print(f"worst max abs difference: {worst:.2e} ({'PASS' if worst <= 1e-5 else 'FAIL'} at 1e-5)")
    compare_float64(ref, ours)

    clip = frames(h, w, 2, 7)
    cv2.ipp.setUseIPP(True)
    ipp = (run_ref(ref, clip[:1], clip[1:]) - run_ours(ours, clip[:1], clip[1:])).abs().max().item()
    print(f"reference fed by OpenCV with IPP on: max |ref - seemup| {ipp:.2e}")
    ref_flownet.RoundSTE.forward = _bernoulli_forward
    torch.manual_seed(1)
    a = run_ref(ref, clip[:1], clip[1:])
    b = run_ref(ref, clip[:1], clip[1:])
    print(f"reference as published (bernoulli), two runs: max difference {(a - b).abs().max():.3f}")


if __name__ == "__main__":
    main()
