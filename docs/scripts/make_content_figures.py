"""Make the content gallery of docs/synthetic.md: the generator's vehicles, people and roadside
clutter, each ray-cast alone (Open3D) and shaded by its surface normal, coloured by part.

Run: ``.venv/bin/python docs/scripts/make_content_figures.py`` (a few seconds); writes
``docs/images/synth_content.png``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from perception3d.atomic import atomic_write_bytes
from perception3d.sim.fences import fence, guard_rail, wall
from perception3d.sim.foliage import bush, hedge, tree
from perception3d.sim.furniture import furniture_mesh
from perception3d.sim.meshes import Mesh, merge
from perception3d.sim.people import cyclist_mesh, pedestrian_mesh, sitting_mesh
from perception3d.sim.vehicles import vehicle_mesh

OUT = Path(__file__).resolve().parents[1] / "images" / "synth_content.png"
PART_RGB = {
    "body": (70, 115, 175),
    "mirror": (70, 115, 175),
    "window": (25, 30, 40),
    "tyre": (25, 25, 25),
    "rim": (175, 175, 180),
    "interior": (90, 40, 40),
    "head_light": (250, 240, 150),
    "tail_light": (220, 30, 30),
    "plate": (245, 245, 245),
    "cargo": (185, 150, 110),
    "skin": (225, 180, 155),
    "hair": (70, 40, 20),
    "shirt": (60, 110, 200),
    "pants": (55, 55, 65),
    "shoes": (20, 20, 20),
    "bag": (120, 70, 40),
    "frame": (30, 150, 60),
    "fence": (165, 140, 100),
    "post": (120, 120, 125),
    "free_wall": (190, 180, 165),
    "foliage": (50, 130, 50),
    "trunk": (100, 70, 45),
    "pole": (140, 140, 150),
    "sign": (40, 80, 200),
    "furniture": (150, 120, 80),
}
TILE = 220


def _render(mesh: Mesh, azim_deg: float = -35.0, elev_deg: float = 18.0) -> np.ndarray:
    """(TILE, TILE, 3) uint8 orthographic view of ``mesh`` on a light background."""
    import open3d as o3d

    v = mesh.vertices.astype(np.float32)
    lo, hi = v.min(0), v.max(0)
    centre, radius = (lo + hi) / 2, float(np.linalg.norm(hi - lo)) / 2 * 1.08
    a, e = np.radians(azim_deg), np.radians(elev_deg)
    d = -np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    right = np.cross(d, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, d)
    s = np.linspace(-radius, radius, TILE)
    gu, gv = np.meshgrid(s, -s)
    origins = centre - 4 * radius * d + gu[..., None] * right + gv[..., None] * up
    rays = np.concatenate([origins.reshape(-1, 3), np.broadcast_to(d, (TILE * TILE, 3))], 1)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(v), o3d.core.Tensor(mesh.triangles.astype(np.uint32)))
    out = scene.cast_rays(o3d.core.Tensor(rays.astype(np.float32)))
    hit = np.isfinite(out["t_hit"].numpy())
    tri = out["primitive_ids"].numpy().astype(np.int64)
    shade = 0.45 + 0.55 * np.abs(out["primitive_normals"].numpy() @ [0.35, -0.55, 0.76])
    rgb = np.array([PART_RGB.get(p, (128, 128, 128)) for p in mesh.part_names], np.float64)
    img = np.full((TILE * TILE, 3), 244, np.uint8)
    img[hit] = np.clip(rgb[mesh.parts[tri[hit]]] * shade[hit, None], 0, 255).astype(np.uint8)
    return img.reshape(TILE, TILE, 3)


def _gallery() -> list[tuple[str, Mesh]]:
    rng = np.random.default_rng(3)
    items = [
        (b, vehicle_mesh(b, 4.2, 1.72, 1.5))
        for b in ("sedan", "hatchback", "wagon", "suv", "mpv", "pickup")
    ]
    items += [
        ("van", vehicle_mesh("van", 5.1, 1.95, 2.2)),
        ("minibus", vehicle_mesh("minibus", 5.1, 1.95, 2.1)),
        ("truck", vehicle_mesh("truck", 9.0, 2.55, 3.3)),
        ("semi-trailer", vehicle_mesh("truck", 15.0, 2.55, 3.8)),
        ("tram", vehicle_mesh("tram", 20.0, 2.5, 3.5)),
        (
            "trailer, caravan",
            merge(
                [
                    vehicle_mesh("trailer", 3.0, 1.6, 1.1),
                    vehicle_mesh("caravan", 5.5, 2.2, 2.5).transformed(np.eye(3), (0, 3.0, 0)),
                ]
            ),
        ),
        ("walking", pedestrian_mesh(1.75, 0.25, 0.3, arms="swing", backpack=True)),
        ("phone, coat", pedestrian_mesh(1.7, 0.0, 0.0, arms="phone", coat=True)),
        ("bag", pedestrian_mesh(1.65, 0.0, 0.0, arms="bag")),
        ("sitting", merge([sitting_mesh(1.75), furniture_mesh("bench", 0)])),
        ("cyclist", cyclist_mesh(1.75, 0.1)),
        (
            "parked bicycles",
            merge(
                [
                    furniture_mesh("bicycle", k).transformed(np.eye(3), (0, 0.9 * k, 0))
                    for k in range(4)
                ]
            ),
        ),
        (
            "picket, mesh fence",
            merge(
                [
                    fence("picket", 5.0, 1.2),
                    fence("mesh", 5.0, 1.8).transformed(np.eye(3), (0, 2.5, 0)),
                ]
            ),
        ),
        (
            "railing, panel",
            merge(
                [
                    fence("railing", 5.0, 1.1),
                    fence("panel", 5.0, 1.8).transformed(np.eye(3), (0, 2.5, 0)),
                ]
            ),
        ),
        (
            "guard rail, wall",
            merge(
                [
                    guard_rail(8.0),
                    wall(8.0, 1.4, 0.3, [(3.0, 4.5)]).transformed(np.eye(3), (0, 2.5, 0)),
                ]
            ),
        ),
        ("porous hedge", hedge(rng, 5.0, 1.6, 1.0, cover=0.6)),
        (
            "tree, bushes",
            merge(
                [
                    tree(rng, 2.6, 2.2, cover=0.55),
                    bush(rng, 1.4, 0.5).transformed(np.eye(3), (0, 3.5, 0)),
                    bush(rng, 1.0, 0.5).transformed(np.eye(3), (0, -3.0, 0)),
                ]
            ),
        ),
        (
            "bollards, bins, cabinet",
            merge(
                [
                    furniture_mesh(k, v).transformed(np.eye(3), (0, 1.1 * i, 0))
                    for i, (k, v) in enumerate(
                        [
                            ("bollard", 0),
                            ("bollard", 1),
                            ("bin", 0),
                            ("bin", 1),
                            ("cabinet", 0),
                            ("sign", 1),
                        ]
                    )
                ]
            ),
        ),
    ]
    return items


def main() -> None:
    items = _gallery()
    cols = 6
    rows = (len(items) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * TILE, rows * (TILE + 18)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for k, (name, mesh) in enumerate(items):
        r, c = divmod(k, cols)
        sheet.paste(Image.fromarray(_render(mesh)), (c * TILE, r * (TILE + 18) + 18))
        draw.text((c * TILE + 6, r * (TILE + 18) + 3), name, fill=(0, 0, 0))
    buf = io.BytesIO()
    sheet.quantize(128, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
    atomic_write_bytes(OUT, buf.getvalue())
    print(f"{OUT}: {len(buf.getvalue()) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
