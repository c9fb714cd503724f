"""Comparison pictures: the same frame from bicubic and each model side by side, to judge by eye
(`seemup compare`, `seemup bench --save-images`)."""

from .bench_images import MiddleFrames, image_names, write_bench_images
from .inputs import Window, check_crop, check_frame, default_crop, parse_crop, probe_input, read_gt, read_window
from .layout import Box, Layout, Panel, compose, display_size, largest_crop, panel_label, plan_layout
from .picture import Shown, check_png_target, context_needed, render, save_png

__all__ = [
    "Box", "Layout", "MiddleFrames", "Panel", "Shown", "Window", "check_crop", "check_frame", "check_png_target",
    "compose", "context_needed", "default_crop", "display_size", "image_names", "largest_crop", "panel_label",
    "parse_crop", "plan_layout", "probe_input", "read_gt", "read_window", "render", "save_png",
    "write_bench_images",
]
