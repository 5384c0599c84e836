"""Configuration of the objects a synthetic frame holds (the ``objects`` section of
``configs/datasets/synthkitti.yaml``; see ``placement.py`` and ``objects.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from perception3d.data.kitti_stats import KITTI_SIZE_MEAN_M, KITTI_SIZE_STD_M
from perception3d.sim.checks import check_probability, check_range, check_rates
from perception3d.sim.people import ARM_POSES

__all__ = ["CAR_BODIES", "OBJECT_CLASSES", "OTHER_BODIES", "ObjectsConfig"]

# KITTI's object types (devkit readme), DontCare aside: every one can be in a scene.
OBJECT_CLASSES = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc")
CAR_BODIES = ("sedan", "hatchback", "wagon", "suv", "mpv", "pickup")
# Body types of the other vehicle classes: Van, Truck, Tram, Misc.
OTHER_BODIES = {
    "Van": ("van", "minibus"),
    "Truck": ("truck",),
    "Tram": ("tram",),
    "Misc": ("trailer", "caravan"),
}


@dataclass(frozen=True)
class ObjectsConfig:
    """What objects a frame holds: per-class Poisson means and where they go.

    ``mean_in_view``: objects placed in the camera's field of view (what ``label_2`` holds);
    the default is close to KITTI's training labels per frame (7,481 frames: about 28.7k Car,
    2.9k Van, 1.1k Truck, 4.5k Pedestrian, 0.2k Person_sitting, 1.6k Cyclist, 0.5k Tram, 1.0k
    Misc; counts as commonly quoted).
    ``mean_out_of_view``: more objects around the car for the 360-degree sweep.
    ``mean_far``, ``far_range_m``: traffic in view beyond the labels' range (DontCare rows; KITTI
    has about 1.5 DontCare rows per frame).
    ``distance_bins_m`` / ``distance_weights``: histogram of the in-view objects' range.
    ``size_mean_m`` / ``size_std_m``: (l, w, h) label-box size per class, a normal truncated
    at ``size_max_sigma`` standard deviations (defaults: KITTI's, see ``KITTI_SIZE_MEAN_M``);
    the body type is chosen to suit the drawn size (a tall car is rather an SUV).
    ``car_body_weights``, ``other_body_weights``: prior share of each body type.
    ``pedestrian_walking_probability``, ``pedestrian_arm_weights``, ``backpack_probability``,
    ``coat_probability``, ``hi_vis_probability``: poses and clothes of people.
    ``driveway_probability``: a car stands in each driveway opening of a wall, fence or hedge.
    ``crowd_probability``, ``crowd_size``: per frame, the chance of one crowd in view: people
    walking together along a sidewalk, two to four abreast, their number drawn uniformly from
    ``crowd_size`` (inclusive), in addition to the Poisson means. KITTI's pedestrians come
    mostly in such crowds (about 0.6 per frame on average, a dozen in a few frames); 0 (the
    default) draws no random number for it.
    """

    mean_in_view: dict[str, float] = field(
        default_factory=lambda: {
            "Car": 3.8,
            "Van": 0.4,
            "Truck": 0.15,
            "Pedestrian": 0.6,
            "Person_sitting": 0.03,
            "Cyclist": 0.22,
            "Tram": 0.07,
            "Misc": 0.13,
        }
    )
    mean_out_of_view: dict[str, float] = field(
        default_factory=lambda: {
            "Car": 4.0,
            "Van": 0.4,
            "Truck": 0.2,
            "Pedestrian": 1.0,
            "Person_sitting": 0.05,
            "Cyclist": 0.3,
            "Tram": 0.05,
            "Misc": 0.15,
        }
    )
    mean_far: dict[str, float] = field(
        default_factory=lambda: {"Car": 1.0, "Van": 0.1, "Truck": 0.1}
    )
    far_range_m: tuple[float, float] = (85.0, 140.0)
    car_body_weights: dict[str, float] = field(
        default_factory=lambda: {
            "sedan": 0.22,
            "hatchback": 0.38,
            "wagon": 0.2,
            "suv": 0.08,
            "mpv": 0.1,
            "pickup": 0.02,
        }
    )
    other_body_weights: dict[str, float] = field(
        default_factory=lambda: {
            "van": 0.7,
            "minibus": 0.3,
            "truck": 1.0,
            "tram": 1.0,
            "trailer": 0.6,
            "caravan": 0.4,
        }
    )
    size_mean_m: dict[str, tuple[float, float, float]] = field(
        default_factory=lambda: dict(KITTI_SIZE_MEAN_M)
    )
    size_std_m: dict[str, tuple[float, float, float]] = field(
        default_factory=lambda: dict(KITTI_SIZE_STD_M)
    )
    size_max_sigma: float = 2.5
    pedestrian_walking_probability: float = 0.65
    pedestrian_arm_weights: dict[str, float] = field(
        default_factory=lambda: {
            "swing": 0.0,
            "hang": 0.45,
            "pockets": 0.25,
            "phone": 0.1,
            "bag": 0.2,
        }
    )
    backpack_probability: float = 0.2
    coat_probability: float = 0.15
    hi_vis_probability: float = 0.03
    driveway_probability: float = 0.5
    distance_bins_m: tuple[float, ...] = (4.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0)
    distance_weights: tuple[float, ...] = (0.14, 0.27, 0.23, 0.15, 0.10, 0.06, 0.05)
    parked_row_probability: float = 0.5  # per side with a parking lane
    pedestrian_group_probability: float = 0.35
    max_group_size: int = 5
    crossing_probability: float = 0.2  # pedestrians crossing the road
    crowd_probability: float = 0.0
    crowd_size: tuple[int, int] = (6, 12)
    min_gap_m: float = 0.3  # clearance between objects

    def __post_init__(self) -> None:
        for table in (self.mean_in_view, self.mean_out_of_view, self.mean_far):
            check_rates("object means", table, OBJECT_CLASSES)
        if set(self.car_body_weights) - set(CAR_BODIES) or sum(self.car_body_weights.values()) <= 0:
            raise ValueError(
                f"car_body_weights must weigh {CAR_BODIES}, got {self.car_body_weights}"
            )
        others = {b for bodies in OTHER_BODIES.values() for b in bodies}
        if set(self.other_body_weights) - others or any(
            v < 0 for v in self.other_body_weights.values()
        ):
            raise ValueError(
                f"other_body_weights must weigh {sorted(others)} with >= 0, "
                f"got {self.other_body_weights}"
            )
        for name in ("size_mean_m", "size_std_m"):
            table = getattr(self, name)
            if set(table) != set(OBJECT_CLASSES) or any(min(v) < 0 for v in table.values()):
                raise ValueError(
                    f"{name} must give (l, w, h) >= 0 for each of {OBJECT_CLASSES}, got {table}"
                )
        if not self.size_max_sigma > 0:
            raise ValueError(f"size_max_sigma must be > 0, got {self.size_max_sigma}")
        arms = self.pedestrian_arm_weights
        if set(arms) - set(ARM_POSES) or sum(arms.values()) <= 0 or min(arms.values()) < 0:
            raise ValueError(f"pedestrian_arm_weights must weigh {ARM_POSES}, got {arms}")
        bins, weights = self.distance_bins_m, self.distance_weights
        if len(bins) != len(weights) + 1 or any(b >= a for a, b in zip(bins[1:], bins[:-1])):
            raise ValueError(
                f"distance_bins_m must increase and have one more entry than distance_weights, "
                f"got {len(bins)} bins and {len(weights)} weights"
            )
        check_range("far_range_m", self.far_range_m, 0.0)
        if bins[0] <= 0 or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"distance bins must be > 0 and weights >= 0, got {bins}, {weights}")
        for name in (
            "parked_row_probability",
            "pedestrian_group_probability",
            "crossing_probability",
            "pedestrian_walking_probability",
            "backpack_probability",
            "coat_probability",
            "hi_vis_probability",
            "driveway_probability",
            "crowd_probability",
        ):
            check_probability(name, getattr(self, name))
        lo, hi = self.crowd_size
        if not (int(lo) == lo and int(hi) == hi and 2 <= lo <= hi):
            raise ValueError(
                f"crowd_size must be whole numbers 2 <= lo <= hi, got {self.crowd_size}"
            )
        if self.max_group_size < 1:
            raise ValueError(f"max_group_size must be >= 1, got {self.max_group_size}")
