"""Visualization: BEV, camera view, 3D view, range images, HTML report."""
