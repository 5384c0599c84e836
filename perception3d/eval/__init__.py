"""Evaluation: the official KITTI protocol, ObjectNet3D measures, image metrics."""
