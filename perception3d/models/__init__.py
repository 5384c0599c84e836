"""Point networks and 3D detectors (PointNet, PointPillars, SECOND, fusion)."""
