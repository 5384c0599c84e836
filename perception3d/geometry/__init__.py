"""Frames and boxes: calibration, box conversions, rotated IoU, spherical (range-image) form."""
