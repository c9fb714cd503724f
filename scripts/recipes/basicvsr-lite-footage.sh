#!/usr/bin/env bash
# The recipe of weights/basicvsr-lite-footage.pth and its int8 calibration: the official BasicVSR (REDS4) cut
# to 64 channels and 8 blocks per trunk, then distilled from it in ten stages on a 2-core CPU, all through
# `seemup train`. scripts/recipes/basicvsr-lite-footage.toml holds what every stage shares; each stage below
# adds its own options. docs/training.md ("How the shipped basicvsr-lite was trained") explains the recipe,
# docs/history.md has the score of every stage.
# Run from the repository root, with SEEMUP_FOOTAGE set to the folder of the footage clips (docs/training.md,
# "Footage") and X to the folder the registry packages were unpacked into (scripts/make_lite_extra_data.py).
set -euo pipefail
: "${SEEMUP_FOOTAGE:?set SEEMUP_FOOTAGE to the folder of the footage clips}"
: "${X:?set X to the folder the registry packages were unpacked into (scripts/make_lite_extra_data.py)}"
[ -e footage ] || ln -s "$SEEMUP_FOOTAGE" footage  # the TOML reads the footage from ./footage

TOML=(--config scripts/recipes/basicvsr-lite-footage.toml)
CALIBRATE=(--data footage/01_dog.mp4 --data footage/02_cups.mp4 --data footage/03_blocks.mp4
           --data footage/04_coffee.mp4 --hr-downscale 2 --frames 30)

# Extra training data: 23 Debian wallpaper photos moved by a synthetic camera (89 clips) and four registry videos.
python scripts/make_lite_extra_data.py --root "$X" --out data/lite-extra

# Stage 1: start from the teacher's tensors (SPyNet, the trunks' input convs, their first 8 of 30 blocks, fusion,
# upconv1; only conv_last is new). Loss: Charbonnier to HR + 0.2 x feature distillation. lr 3e-4 on a cosine
# planned over 2,200 iterations, stopped after 800.
STAGE1_DATA=(--data footage=footage/01_dog.mp4 --data footage=footage/02_cups.mp4 --data footage=footage/03_blocks.mp4
             --data footage=footage/04_coffee.mp4 --data data/lite-extra --val-data data/lite-extra/video-cup.npz)
seemup train "${TOML[@]}" "${STAGE1_DATA[@]}" --init-from-teacher --iters 800 --periods 2200 --lr 3e-4 \
    --run-dir runs/lite7

# Stage 2: the same run, resumed to iteration 1,200.
seemup train --resume runs/lite7 --iters 1200

# A larger photo set: 14 more photos from lomiri-wallpapers-16.04/-20.04 (145 photo clips in all); the TOML's data.
python scripts/make_lite_extra_data.py --root "$X" --out data/lite-extra2 --lomiri

# Stage 3: 2,000 iterations with the same loss on the larger set, lr 2e-4.
seemup train "${TOML[@]}" --weights runs/lite7/model_final.pth --iters 2000 --lr 2e-4 --run-dir runs/lite10

# Stage 4: the teacher's output frames become a target too, lr 1e-4, 1,000 iterations.
seemup train "${TOML[@]}" --weights runs/lite10/model_final.pth --teacher-weight 1 --iters 1000 --lr 1e-4 \
    --run-dir runs/lite12

# Stages 5 and 6: the same loss, 500 and 1,000 iterations, other crops (seeds 1 and 2).
seemup train "${TOML[@]}" --weights runs/lite12/model_final.pth --teacher-weight 1 --iters 500 --lr 1e-4 --seed 1 \
    --run-dir runs/lite13
seemup train "${TOML[@]}" --weights runs/lite13/model_final.pth --teacher-weight 1 --iters 1000 --lr 1e-4 --seed 2 \
    --run-dir runs/lite14

# Stage 7: longer crops, 2 x 15 frames instead of 4 x 8 (the same pixels per step), 1,000 iterations.
seemup train "${TOML[@]}" --weights runs/lite14/model_final.pth --teacher-weight 1 --num-frames 15 --batch-size 2 \
    --iters 1000 --lr 1e-4 --seed 3 --run-dir runs/lite16

# Stages 8-10: quantization-aware (--qat), each from the previous stage's weights and their int8 calibration
# (written beside them as model_final.int8.json).
seemup weights calibrate --model basicvsr-lite --weights runs/lite16/model_final.pth "${CALIBRATE[@]}"
seemup train "${TOML[@]}" --weights runs/lite16/model_final.pth --qat --teacher-weight 1 --num-frames 15 \
    --batch-size 2 --iters 800 --lr 1e-4 --seed 5 --run-dir runs/lite18
seemup weights calibrate --model basicvsr-lite --weights runs/lite18/model_final.pth "${CALIBRATE[@]}"
seemup train "${TOML[@]}" --weights runs/lite18/model_final.pth --qat --teacher-weight 1 --num-frames 15 \
    --batch-size 2 --iters 1000 --lr 1e-4 --seed 6 --run-dir runs/lite19
seemup weights calibrate --model basicvsr-lite --weights runs/lite19/model_final.pth "${CALIBRATE[@]}"
seemup train "${TOML[@]}" --weights runs/lite19/model_final.pth --qat --teacher-weight 1 --num-frames 15 \
    --batch-size 2 --iters 400 --lr 5e-5 --seed 7 --run-dir runs/lite20

# The last iteration of stage 10 is the shipped weights; then the shipped int8 calibration
# (weights/basicvsr-lite-footage.int8.json). Update the manifest's sha256 after copying.
cp runs/lite20/model_final.pth weights/basicvsr-lite-footage.pth
seemup weights calibrate --model basicvsr-lite "${CALIBRATE[@]}"
