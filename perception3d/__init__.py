"""perception3d: 3D perception on driving data (KITTI layout, LiDAR + camera, CPU first)."""

__version__ = "0.1.0"

__all__ = ["Detections", "Detector", "__version__"]


def __getattr__(name: str):
    """``perception3d.Detector`` / ``Detections``, imported on first use so that ``import
    perception3d`` stays light (no torch)."""
    if name in ("Detector", "Detections"):
        from perception3d.engine import detect

        return getattr(detect, name)
    raise AttributeError(f"module 'perception3d' has no attribute {name!r}")
