"""KITTI object-label statistics: the sizes the generator draws from (the defaults of
``sim.config.ObjectsConfig.size_mean_m`` / ``size_std_m``) and Frustum PointNet's size
templates (``models.frustum.SIZE_TEMPLATES_M``)."""

from __future__ import annotations

__all__ = ["KITTI_SIZE_MEAN_M", "KITTI_SIZE_STD_M"]

# KITTI label-box sizes (l, w, h) in metres per class: means over the KITTI object training
# labels as tabulated by Qi et al., "Frustum PointNets" (CVPR 2018), `g_type_mean_size` of their
# code; standard deviations of Car, Pedestrian and Cyclist over the same labels from Zhang et
# al., "MonoFlex" (CVPR 2021), `DIMENSION_STD` of their config (they list l, h, w). The spreads
# of Van, Truck, Tram, Misc and Person_sitting are not published there: ours are assumptions
# (about 10 % of the mean, more for the mixed classes Truck, Tram and Misc), not measurements.
KITTI_SIZE_MEAN_M = {
    "Car": (3.883, 1.629, 1.526),
    "Van": (5.068, 1.901, 2.205),
    "Truck": (10.136, 2.585, 3.252),
    "Pedestrian": (0.844, 0.661, 1.763),
    "Person_sitting": (0.801, 0.598, 1.275),
    "Cyclist": (1.763, 0.597, 1.737),
    "Tram": (16.172, 2.532, 3.531),
    "Misc": (3.643, 1.543, 1.923),
}
KITTI_SIZE_STD_M = {
    "Car": (0.426, 0.102, 0.137),
    "Van": (0.50, 0.10, 0.20),
    "Truck": (2.50, 0.12, 0.35),
    "Pedestrian": (0.235, 0.143, 0.113),
    "Person_sitting": (0.20, 0.12, 0.12),
    "Cyclist": (0.177, 0.124, 0.095),
    "Tram": (4.0, 0.08, 0.15),
    "Misc": (1.2, 0.35, 0.55),
}
