"""Configuration of the roadside content (the ``clutter`` section of
``configs/datasets/synthkitti.yaml``; see ``roadside.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from perception3d.sim.checks import check_probability, check_range, check_rates, check_weights

__all__ = ["FENCES", "FRONTAGES", "FURNITURE", "LOT_FRONTAGES", "ClutterConfig"]

FRONTAGES = ("building", "fence", "hedge", "wall", "open", "guard_rail")
LOT_FRONTAGES = ("building", "fence", "hedge", "wall")  # what may close a parking lot's far side
FENCES = ("picket", "mesh", "railing", "panel")
FURNITURE = ("bollard", "bin", "bench", "bicycle", "cabinet", "sign", "bush", "planter")


@dataclass(frozen=True)
class ClutterConfig:
    """What lines the street beside the road and stands on its sidewalks (never labelled).

    Each side of the road is cut into segments of ``segment_length_m`` along it; each segment
    gets a frontage drawn from ``frontage_weights`` (urban sides, see
    ``scene.urban_probability``) or ``rural_frontage_weights``: a building, a fence (kind from
    ``fence_weights``), a hedge, a wall, nothing (open ground) or a guard rail at the road edge.
    Fences, hedges and walls stand ``setback_m`` behind the sidewalk and have an opening
    (gate, driveway) with ``opening_probability``. ``furniture_per_100m``: mean count of each
    kind of street furniture per 100 m of sidewalk (Poisson). Foliage (hedges, bushes, tree
    crowns) is a porous shell of leaf cards within ``detail_range_m`` along the road (x, road
    frame) and a solid blob beyond: ``foliage_cover`` is the share of each leaf layer's area
    that is covered (the rest lets rays through to the next layer or the core). Beyond the
    frontage the ground rises or falls as an embankment (``embankment_probability`` per
    side, slopes ``terrain_slope_deg``) with bumps of ``terrain_bump_m``.

    Parking lots (off by default): an urban side gets, with ``lot_probability``, a paved lot
    behind its sidewalk, starting ``lot_start_m`` ahead of the car (road frame x), ``lot_length_m``
    long and ``lot_depth_m`` deep, closed on its far side by a frontage; its bays hold cars side
    by side, parallel to the road, each bay taken with a probability drawn from
    ``lot_occupancy`` per lot (``lots.py``).

    Street trees (opt-in, ``kerb_tree_probability``): an urban side gets, with that
    probability, its street trees at the kerb (0.6 m inside the sidewalk's road edge) instead of
    by the frontage, as an avenue (every ``scene.tree_spacing_m``, none left out), their crowns
    over the parked cars and the road edge.
    """

    frontage_weights: dict[str, float] = field(
        default_factory=lambda: {
            "building": 0.45,
            "fence": 0.18,
            "hedge": 0.15,
            "wall": 0.12,
            "open": 0.1,
        }
    )
    rural_frontage_weights: dict[str, float] = field(
        default_factory=lambda: {"fence": 0.15, "hedge": 0.3, "open": 0.35, "guard_rail": 0.2}
    )
    fence_weights: dict[str, float] = field(
        default_factory=lambda: {"picket": 0.25, "mesh": 0.4, "railing": 0.15, "panel": 0.2}
    )
    segment_length_m: tuple[float, float] = (6.0, 40.0)
    setback_m: tuple[float, float] = (0.0, 1.5)
    fence_height_m: tuple[float, float] = (0.8, 2.0)
    hedge_height_m: tuple[float, float] = (0.7, 2.5)
    wall_height_m: tuple[float, float] = (0.4, 2.6)
    opening_probability: float = 0.35
    furniture_per_100m: dict[str, float] = field(
        default_factory=lambda: {
            "bollard": 4.0,
            "bin": 2.0,
            "bench": 0.8,
            "bicycle": 3.0,
            "cabinet": 1.5,
            "sign": 2.5,
            "bush": 3.0,
            "planter": 0.6,
        }
    )
    foliage_cover: tuple[float, float] = (0.45, 0.8)
    detail_range_m: tuple[float, float] = (-40.0, 70.0)
    embankment_probability: float = 0.35
    terrain_slope_deg: tuple[float, float] = (5.0, 25.0)
    terrain_bump_m: tuple[float, float] = (0.0, 0.25)
    lot_probability: float = 0.0
    lot_start_m: tuple[float, float] = (5.0, 40.0)
    lot_length_m: tuple[float, float] = (15.0, 40.0)
    lot_depth_m: tuple[float, float] = (10.0, 25.0)
    lot_occupancy: tuple[float, float] = (0.4, 0.95)
    kerb_tree_probability: float = 0.0

    def __post_init__(self) -> None:
        check_weights("frontage_weights", self.frontage_weights, FRONTAGES)
        check_weights("rural_frontage_weights", self.rural_frontage_weights, FRONTAGES)
        check_weights("fence_weights", self.fence_weights, FENCES)
        check_rates("furniture_per_100m", self.furniture_per_100m, FURNITURE)
        for name in (
            "segment_length_m",
            "setback_m",
            "fence_height_m",
            "hedge_height_m",
            "wall_height_m",
            "terrain_slope_deg",
            "terrain_bump_m",
            "lot_length_m",
        ):
            check_range(name, getattr(self, name), 0.0)
        if self.segment_length_m[0] < 1.0 or self.terrain_slope_deg[1] >= 60.0:
            raise ValueError(
                f"need segment_length_m >= 1 and terrain_slope_deg < 60, got "
                f"{self.segment_length_m}, {self.terrain_slope_deg}"
            )
        check_range("detail_range_m", self.detail_range_m)
        check_range("foliage_cover", self.foliage_cover, 0.0)
        if self.foliage_cover[1] > 1.0:
            raise ValueError(f"foliage_cover must lie in [0, 1], got {self.foliage_cover}")
        check_probability("opening_probability", self.opening_probability)
        check_probability("embankment_probability", self.embankment_probability)
        check_probability("lot_probability", self.lot_probability)
        check_probability("kerb_tree_probability", self.kerb_tree_probability)
        check_range("lot_start_m", self.lot_start_m)
        check_range("lot_occupancy", self.lot_occupancy, 0.0)
        if self.lot_depth_m[0] < 6.0 or self.lot_depth_m[0] > self.lot_depth_m[1]:
            raise ValueError(f"lot_depth_m must be an increasing pair >= 6, got {self.lot_depth_m}")
        if self.lot_occupancy[1] > 1.0:
            raise ValueError(f"lot_occupancy must lie in [0, 1], got {self.lot_occupancy}")
