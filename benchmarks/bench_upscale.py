"""Speed (frames/s) and peak RSS of `seemup upscale` end to end: decode -> network -> encode.

    .venv/bin/python benchmarks/bench_upscale.py            # CPU rows (+ CUDA fp16/fp32 rows on a GPU machine)
    .venv/bin/python benchmarks/bench_upscale.py --quick    # fewer frames, for a smoke run
    .venv/bin/python benchmarks/bench_upscale.py --only lite

Inputs are cut from the shared footage (01_dog.mp4, area-downscaled) with ffmpeg, or a test pattern when the
footage is absent. Each case runs in a fresh Python process so its peak RSS (ru_maxrss) is its own: the
"long" input is 5x the "short" one with the same chunking, so equal RSS shows memory does not grow with
video length. Output is H.264 (the default) into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = Path(os.environ.get("SEEMUP_FOOTAGE", "/nonexistent")) / "01_dog.mp4"  # docs/training.md, "Footage"


def make_input(path: Path, width: int, height: int, frames: int) -> Path:
    from seemup.video import ffmpeg_exe

    if FOOTAGE.is_file():
        src = ["-stream_loop", "-1", "-i", str(FOOTAGE)]
        vf = f"scale={width}:{height}:flags=area"
    else:
        src = ["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r=30000/1001"]
        vf = "null"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *src, "-vf", vf, "-frames:v", str(frames), "-an",
                    "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def run_case(case: dict) -> dict:
    """One upscale in this process; returns timings and this process's peak RSS."""
    import resource

    import torch

    torch.set_num_threads(case["threads"])
    from seemup.pipeline import UpscaleOptions, upscale_video

    with tempfile.TemporaryDirectory() as tmp:
        src = make_input(Path(tmp) / "in.mp4", case["width"], case["height"], case["frames"])
        opts = UpscaleOptions(model=case["model"], device=case["device"], precision=case.get("precision", "auto"),
                              chunk=case["chunk"], overlap=case["overlap"], quiet=True, preset="veryfast")
        result = upscale_video(src, Path(tmp) / "out.mp4", opts)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {**case, "seconds": round(result.seconds, 2), "fps": round(result.fps, 3),
           "s_per_frame": round(result.seconds / result.frames, 3), "peak_rss_mb": round(peak_kb / 1024, 1),
           "precision": result.precision, "device_name": result.device}
    if case["device"].startswith("cuda"):
        out["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        out["gpu"] = torch.cuda.get_device_name()
    return out


def cases(quick: bool) -> list[dict]:
    import torch

    # the short input holds three chunks, so its middle one has full context like every chunk of the long one
    n = 12 if quick else 60
    c = n // 3
    cpu = {"device": "cpu", "threads": int(os.environ.get("BENCH_THREADS", "2"))}
    rows = [
        {**cpu, "label": "lite short", "model": "basicvsr-lite", "width": 160, "height": 90, "frames": n,
         "chunk": c, "overlap": c // 2},
        {**cpu, "label": "lite long (5x)", "model": "basicvsr-lite", "width": 160, "height": 90, "frames": 5 * n,
         "chunk": c, "overlap": c // 2},
        {**cpu, "label": "bicubic short", "model": "bicubic", "width": 320, "height": 180, "frames": n,
         "chunk": c, "overlap": 0},
        {**cpu, "label": "bicubic long (5x)", "model": "bicubic", "width": 320, "height": 180, "frames": 5 * n,
         "chunk": c, "overlap": 0},
        {**cpu, "label": "basicvsr (full)", "model": "basicvsr", "width": 320, "height": 180,
         "frames": 3 if quick else 6, "chunk": 6, "overlap": 0},
    ]
    # the CPU rows run at seemup's default (bf16 autocast where the CPU has native bf16); fp32 for comparison
    rows += [{**row, "label": f"{row['label']} fp32", "precision": "fp32"} for row in rows
             if row["model"] != "bicubic" and "long" not in row["label"]]
    if torch.cuda.is_available():
        gpu = {"device": "cuda", "threads": 4, "width": 320, "height": 180, "frames": 50 if quick else 200,
               "chunk": 100, "overlap": 10}
        for model in ("basicvsr", "basicvsr-lite"):
            rows.append({**gpu, "label": f"{model} cuda fp16", "model": model, "precision": "fp16"})
            rows.append({**gpu, "label": f"{model} cuda bf16", "model": model, "precision": "bf16"})
            rows.append({**gpu, "label": f"{model} cuda fp32", "model": model, "precision": "fp32"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer frames")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case (JSON) and print its result
    parser.add_argument("--json", type=Path, help="also write all results to this file")
    parser.add_argument("--only", help="run only the cases whose label contains this text")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    results = []
    print("| case | model | input | frames | chunk/overlap | device | s/frame | fps | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case in cases(args.quick):
        if args.only and args.only not in case["label"]:
            continue
        proc = subprocess.run([sys.executable, __file__, "--case", json.dumps(case)], capture_output=True,
                              text=True, cwd=REPO)
        if proc.returncode != 0:
            print(f"| {case['label']} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        dev = f"{r['device_name']} {r['precision']}" + (f" ({r['threads']} threads)" if r["device"] == "cpu" else "")
        print(f"| {r['label']} | {r['model']} | {r['width']}x{r['height']} | {r['frames']} | "
              f"{r['chunk']}/{r['overlap']} | {dev} | {r['s_per_frame']} | {r['fps']} | {r['peak_rss_mb']} |",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
