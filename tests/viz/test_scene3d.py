"""3D view: the pinhole camera, the Open3D offscreen render (box corners have the box colour
where ViewCamera.project puts them), and the fallback when Open3D cannot render."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from perception3d.geometry.boxes import corners_lidar
from perception3d.viz import scene3d
from perception3d.viz.scene3d import ViewCamera, render_scene3d
from perception3d.viz.style import BACKGROUND_RGB, FP_RGB, GT_RGB, TP_RGB, ViewBoxes
from tests.viz.helpers import has_color_near


def test_view_camera_hand_computed():
    cam = ViewCamera(eye=(0, 0, 0), target=(10, 0, 0), fov_deg=90.0, width=200, height=100)
    np.testing.assert_allclose(cam.intrinsic, [[50, 0, 100], [0, 50, 50], [0, 0, 1]])
    uv, depth = cam.project(np.array([[10.0, 0, 0], [10.0, 10.0, 0], [10.0, 0, 10.0], [-1, 0, 0]]))
    # +y (left) goes left in the picture, +z (up) goes up; depth along the viewing axis.
    np.testing.assert_allclose(uv[:3], [[100, 50], [50, 50], [100, 0]], atol=1e-9)
    np.testing.assert_allclose(depth, [10, 10, 10, -1])
    rot = cam.extrinsic[:3, :3]
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    with pytest.raises(ValueError, match="parallel"):
        ViewCamera(eye=(0, 0, 10), target=(0, 0, 0)).extrinsic  # noqa: B018


@pytest.fixture(scope="module")
def open3d_ok():
    pytest.importorskip("open3d")
    problem = scene3d.open3d_offscreen_problem()
    if problem is not None:
        pytest.skip(f"Open3D offscreen rendering unavailable here: {problem}")


def _corner_hits(rgb, cam, boxes, color) -> tuple[int, int]:
    uv, depth = cam.project(corners_lidar(boxes).reshape(-1, 3))
    ok = (depth > 0) & (uv[:, 0] >= 2) & (uv[:, 0] < cam.width - 2)
    ok &= (uv[:, 1] >= 2) & (uv[:, 1] < cam.height - 2)
    return sum(has_color_near(rgb, v, u, color) for u, v in uv[ok]), int(ok.sum())


def test_open3d_box_corners_land_where_the_camera_projects_them(open3d_ok, synth_frame):
    """Synthetic frame, boxes only (no points to hide a corner): every corner in view has the
    box colour, a pixel off every box has the background colour."""
    cam = ViewCamera(width=480, height=300)
    boxes = synth_frame.boxes_lidar
    rgb = render_scene3d(
        np.zeros((0, 4)), ViewBoxes(boxes), camera=cam, rings_m=(), backend="open3d"
    )
    assert rgb.shape == (300, 480, 3)
    hits, total = _corner_hits(rgb, cam, boxes, GT_RGB)
    assert total >= 20 and hits == total
    assert np.abs(rgb[5, 5].astype(int) - BACKGROUND_RGB).max() <= 2


def test_open3d_points_and_status_colours_on_a_real_sweep(open3d_ok, sweep_frame):
    cam = ViewCamera(width=480, height=300)
    gt = sweep_frame.boxes_lidar
    pred = gt.copy()
    pred[:, 0] += 0.6
    status = np.where(np.arange(len(pred)) % 2 == 0, "tp", "fp")
    rgb = render_scene3d(
        sweep_frame.points, ViewBoxes(None, pred, pred_status=status), camera=cam, backend="open3d"
    )
    tp_hits, tp_total = _corner_hits(rgb, cam, pred[status == "tp"], TP_RGB)
    fp_hits, fp_total = _corner_hits(rgb, cam, pred[status == "fp"], FP_RGB)
    # Real points in front of a box can hide a corner; most must show.
    assert tp_total > 20 and tp_hits >= 0.7 * tp_total
    assert fp_total > 20 and fp_hits >= 0.7 * fp_total
    # Points: where a ground point at 8 m ahead projects, the picture is not background.
    uv, _ = cam.project(np.array([[8.0, 0.0, -1.73]]))
    near = sweep_frame.points[np.hypot(*(sweep_frame.points[:, :2] - [8.0, 0.0]).T) < 0.5]
    assert len(near) > 5
    patch = rgb[int(uv[0, 1]) - 3 : int(uv[0, 1]) + 4, int(uv[0, 0]) - 3 : int(uv[0, 0]) + 4]
    assert (np.abs(patch.astype(int) - BACKGROUND_RGB).max(axis=2) > 10).any()


def test_without_a_vulkan_driver_it_falls_back_to_matplotlib(monkeypatch, synth_frame):
    """Pointing the Vulkan loader at no driver makes Open3D abort: the subprocess probe sees
    it, and the view comes from matplotlib with a warning naming the missing packages."""
    pytest.importorskip("open3d")
    monkeypatch.setenv("VK_ICD_FILENAMES", "/nonexistent/icd.json")
    scene3d.open3d_offscreen_problem.cache_clear()
    try:
        problem = scene3d.open3d_offscreen_problem()
        assert problem is not None and "libvulkan1" in problem
        with pytest.warns(RuntimeWarning, match="drawn with matplotlib"):
            rgb = render_scene3d(
                synth_frame.points,
                ViewBoxes(
                    synth_frame.boxes_lidar[:1], synth_frame.boxes_lidar[1:2], pred_status=["fp"]
                ),
                camera=ViewCamera(width=480, height=300),
            )
    finally:
        scene3d.open3d_offscreen_problem.cache_clear()
    assert rgb.shape == (300, 480, 3)
    assert np.all(rgb == FP_RGB, axis=2).sum() > 20
    assert np.all(rgb == GT_RGB, axis=2).sum() > 20
    with pytest.raises(RuntimeError, match="libvulkan1"):
        monkeypatch.setenv("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        scene3d.open3d_offscreen_problem.cache_clear()
        try:
            render_scene3d(synth_frame.points, backend="open3d")
        finally:
            scene3d.open3d_offscreen_problem.cache_clear()


def test_interactive_window_needs_a_display(monkeypatch, synth_frame):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RuntimeError, match="no display"):
        scene3d.show_scene3d(synth_frame.points, ViewBoxes(synth_frame.boxes_lidar))
    with pytest.raises(ValueError, match="backend"):
        render_scene3d(synth_frame.points, backend="vtk")


def test_renders_of_several_sizes_in_one_process_do_not_abort(open3d_ok):
    """Open3D aborts the process when a renderer is destroyed while another lives; the
    module keeps one at a time. Run in a subprocess: an abort would take pytest down."""
    code = (
        "import numpy as np\n"
        "from perception3d.viz.scene3d import ViewCamera, render_scene3d\n"
        "from perception3d.viz.style import ViewBoxes\n"
        "pts = np.random.default_rng(0).uniform(-10, 10, (500, 4))\n"
        "for w in (120, 160, 200, 120):\n"
        "    cam = ViewCamera(width=w, height=80)\n"
        "    box = np.array([[5.0, 0.0, 0.0, 2.0, 2.0, 2.0, 0.0]])\n"
        "    rgb = render_scene3d(pts, ViewBoxes(box), camera=cam, backend='open3d')\n"
        "    assert rgb.shape == (80, w, 3)\n"
        "print('renders-ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "renders-ok" in proc.stdout, proc.stderr[-1500:]
