"""Datasets and file formats: KITTI object/raw, ObjectNet3D, the synthetic generator."""
