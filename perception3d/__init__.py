"""perception3d: 3D perception on driving data (KITTI layout, LiDAR + camera, CPU first)."""

__version__ = "0.1.0"
