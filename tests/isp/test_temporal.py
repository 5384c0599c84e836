"""Temporal ISP: flow warping and inversion, the warping error on known answers, drive clips
captured in low light, the classical recursive averaging and the recurrent network (its start
from the single-frame stage, one training step through the engine)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from perception3d.errors import MissingFrameError
from perception3d.isp.flow_warp import invert_flow, source_visible, warp, warping_error
from perception3d.isp.models import RawUNet
from perception3d.isp.temporal import (
    TemporalRawUNet,
    load_temporal_stage,
    recursive_average,
    run_temporal,
)
from perception3d.isp.temporal_data import capture_frames, find_drives, load_clip, load_drive
from perception3d.isp.temporal_eval import format_temporal_table

H, W, FRAMES, SHIFT = 32, 48, 4, 2


def _pattern(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A smooth radiance pattern (3, H, W) in daylight units."""
    base = 0.2 + 0.1 * np.sin(x / 5.0) * np.cos(y / 7.0)
    return np.stack([base, base * 0.8 + 0.05, base * 1.1]).astype(np.float32)


@pytest.fixture
def drive_root(tmp_path):
    """A drive of FRAMES frames whose content moves SHIFT px right per frame (flow +SHIFT, the
    depth 10 m everywhere), in the synth-drive layout."""
    d = tmp_path / "2011_09_26" / "2011_09_26_drive_0001_sync"
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    flow = np.stack([np.full((H, W), SHIFT), np.zeros((H, W)), np.full((H, W), 10.0)])
    for k in range(FRAMES):
        for folder, arr in (
            ("radiance_02", _pattern(x - SHIFT * k, y).astype(np.float16)),
            ("depth_02", np.full((H, W), 10.0, np.float32)),
            ("flow_02", flow.astype(np.float32)),
        ):
            if folder == "flow_02" and k == FRAMES - 1:
                continue
            (d / folder / "data").mkdir(parents=True, exist_ok=True)
            np.save(d / folder / "data" / f"{k:010d}.npy", arr)
    meta = {"drive": 0, "frames": FRAMES, "exposure": [3.0] * FRAMES}
    (d / "synth_drive.json").write_text(json.dumps(meta))
    return tmp_path


def test_warp_and_inverted_flow_undo_a_known_shift():
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    f0 = torch.from_numpy(_pattern(x, y))[None]
    f1 = torch.from_numpy(_pattern(x - 3.0, y))[None]  # content moved 3 px right
    fwd = torch.zeros(1, 2, H, W)
    fwd[:, 0] = 3.0
    back, ok = invert_flow(fwd)
    assert torch.allclose(back[:, 0], torch.full((1, H, W), -3.0))
    assert ok[0, 0, :, :3].sum() == 0 and bool((ok[0, 0, :, 3:] == 1).all())
    aligned, inside = warp(f0, back)
    m = (ok * inside).bool().expand_as(f1)
    assert torch.allclose(aligned[m], f1[m], atol=1e-5)


def test_source_visible_masks_an_occluded_source():
    back = torch.zeros(1, 2, 4, 4)
    depth_next = torch.full((1, 1, 4, 4), 10.0)
    carried = torch.full((1, 1, 4, 4), 10.0)
    carried[..., 1, 1] = 20.0  # that source lies behind what frame k+1 sees there
    depth_next[..., 3, 3] = float("inf")  # sky in frame k+1 where the source was a surface
    vis = source_visible(back, depth_next, carried)[0, 0]
    assert vis[1, 1] == 0 and vis[3, 3] == 0 and vis.sum() == 14


def test_warping_error_known_answers():
    _, x = np.mgrid[0:H, 0:W].astype(np.float64)
    ramp = torch.from_numpy(np.stack([x / W] * 3)).float()  # horizontal ramp, 3 channels
    seq = torch.stack([ramp, ramp.roll(SHIFT, dims=-1)])  # content moved SHIFT px right
    vis = torch.ones(1, 1, H, W)
    vis[..., -SHIFT:] = 0  # leaves the frame
    vis[..., :SHIFT] = 0  # the roll wraps these around
    static = torch.stack([ramp, ramp])
    assert float(warping_error(static, torch.zeros(1, 2, H, W), vis)[0]) < 1e-12
    right = torch.zeros(1, 2, H, W)
    right[:, 0] = SHIFT
    assert float(warping_error(seq, right, vis)[0]) < 1e-10
    # ignoring the motion: each pixel differs by SHIFT / W in each of the 3 channels
    vis0 = torch.ones(1, 1, H, W)
    vis0[..., : 2 * SHIFT] = 0
    wrong = float(warping_error(seq, torch.zeros(1, 2, H, W), vis0)[0])
    assert wrong == pytest.approx(3 * (SHIFT / W) ** 2, rel=1e-4)


def test_drive_clip_capture_is_per_frame_deterministic(drive_root):
    with pytest.raises(MissingFrameError, match="no drive"):
        find_drives(drive_root / "nothing")
    drive = load_drive(find_drives(drive_root)[0])
    assert len(drive) == FRAMES and len(drive.flow) == FRAMES - 1
    a = load_clip(drive, 0, 3, 1 / 300, seed=5)
    b = load_clip(drive, 1, 3, 1 / 300, seed=5)
    c = load_clip(drive, 0, 3, 1 / 300, seed=6)
    assert torch.equal(a.raw[1:], b.raw[:2])  # a frame's noise does not depend on its clip
    assert not torch.equal(a.raw[0], a.raw[1]) and not torch.equal(a.raw[0], c.raw[0])
    assert float(a.meta.iso[0]) == float(a.meta.iso[2]) > 10000  # one camera, high gain
    assert a.display_gain == pytest.approx(1.0)
    # the reference is the ideal linear output: its mean is the noiseless raw's
    assert float(a.raw.mean()) == pytest.approx(float(a.reference.mean() / 2.0), rel=0.5)
    assert torch.allclose(a.backward[1:, 0], torch.full((2, H, W), -float(SHIFT)))
    assert a.aligned[0].sum() == 0 and float(a.aligned[1].mean()) == pytest.approx(1 - SHIFT / W)
    assert a.forward.shape == (2, 2, H, W) and a.visible.shape == (2, 1, H, W)


def test_capture_frames_photon_count_at_1_300_of_daylight():
    rad = torch.full((2, 3, 64, 64), 0.18 / 3.0)  # a mid-grey exposed at 3 -> 0.18 linear
    _, meta, ref, gain = capture_frames(rad, [0, 1], 3.0, 1 / 300, 0, 0)
    electrons = float(ref[:, 1].mean()) / float(meta.shot_noise[0])  # mean / variance
    assert 5 < electrons < 30 and gain == pytest.approx(1.0)


def test_recursive_average_reduces_static_noise():
    g = torch.Generator().manual_seed(0)
    clean = torch.full((1, 3, 64, 64), 0.5)
    noisy = clean + 0.05 * torch.randn(8, 3, 64, 64, generator=g)
    out = recursive_average(noisy, torch.zeros(8, 2, 64, 64), torch.ones(8, 1, 64, 64))
    var_in, var_out = float((noisy[-1] - clean).var()), float((out[-1] - clean).var())
    assert var_out < var_in / 4  # a running mean of 8 frames: about / 8
    # where alignment fails the result restarts from the frame
    none = recursive_average(noisy, torch.zeros(8, 2, 64, 64), torch.zeros(8, 1, 64, 64))
    assert torch.equal(none, noisy)


def test_temporal_unet_starts_as_the_single_frame_stage():
    torch.manual_seed(0)
    single = RawUNet(width=4).eval()
    model = TemporalRawUNet(width=4).eval()
    model.load_single_frame(single.state_dict())
    raw, noise = torch.rand(1, 1, 30, 46), torch.tensor([[1e-3, 1e-5]])
    prev, valid = torch.rand(1, 3, 30, 46), torch.ones(1, 1, 30, 46)
    with torch.no_grad():
        assert torch.allclose(model(raw, noise, prev, valid), single(raw, noise), atol=1e-5)
    blend = TemporalRawUNet(width=4, blend=True).eval()
    blend.load_single_frame(single.state_dict())
    with torch.no_grad():  # the blend weight starts near 0, and is 0 where the warp is invalid
        assert torch.allclose(blend(raw, noise, prev, valid * 0), single(raw, noise), atol=1e-5)
        near = blend(raw, noise, prev, valid) - single(raw, noise)
        assert 0 < float(near.abs().max()) < 0.01
    # output fusion at a start weight of 0.5: the mean of the single-frame output and the
    # warped previous output where the warp is valid, the single-frame output elsewhere
    fused = TemporalRawUNet(width=4, blend=True, fusion="output", blend_init=0.5).eval()
    fused.load_single_frame(single.state_dict())
    half = valid.clone()
    half[..., :, :23] = 0
    with torch.no_grad():
        one, out = single(raw, noise), fused(raw, noise, prev, half)
    assert torch.allclose(out[..., :23], one[..., :23], atol=1e-5)
    assert torch.allclose(out[..., 24:], (one[..., 24:] + prev[..., 24:]) / 2, atol=1e-5)


def test_temporal_model_config_rejects_bad_fusion():
    from perception3d.isp.temporal import TemporalModelConfig

    with pytest.raises(ValueError, match="fusion"):
        TemporalModelConfig(fusion="late")
    with pytest.raises(ValueError, match="blend_init"):
        TemporalModelConfig(blend_init=1.0)


def test_temporal_task_trains_one_step_and_the_stage_loads(drive_root, tmp_path):
    from perception3d.engine.temporal_isp_config import TemporalData, TemporalIspExperiment
    from perception3d.engine.train import train
    from perception3d.isp.temporal import TemporalModelConfig

    base = TemporalIspExperiment(model=TemporalModelConfig(width=4))
    cfg = dataclasses.replace(
        base,
        data=TemporalData(root=drive_root, clip_length=3, crop=32),
        train=dataclasses.replace(base.train, epochs=1, steps_per_epoch=1, batch_size=2),
    )
    train(cfg, tmp_path / "out", progress=False)
    model = load_temporal_stage(tmp_path / "out" / "model.pt")
    clip = load_clip(load_drive(find_drives(drive_root)[0]), 0, 3, 1 / 300, seed=1)
    with torch.inference_mode():
        outs = run_temporal(model, clip.raw.split(1), [clip.meta.select(t) for t in range(3)],
                            clip.backward.split(1), clip.aligned.split(1))  # fmt: skip
    assert len(outs) == 3 and outs[0].shape == (1, 3, H, W)
    assert all(bool(torch.isfinite(o).all()) for o in outs)


def test_isp_eval_temporal_section(drive_root, tmp_path):
    from perception3d.checkpoint import make_checkpoint, write_checkpoint
    from perception3d.config import load_config
    from perception3d.isp.eval_config import EvalConfig
    from perception3d.isp.evaluate import evaluate_config, format_table

    torch.manual_seed(0)
    weights = tmp_path / "temporal.pt"
    ckpt = make_checkpoint("isp_temporal", TemporalRawUNet(width=4).state_dict(),
                           {"model": {"width": 4, "recurrent": True}})  # fmt: skip
    write_checkpoint(weights, ckpt)
    cfg_file = tmp_path / "eval.yaml"
    cfg_file.write_text(
        "conditions: []\nthreads: 1\n"
        f"temporal: {{root: {drive_root}, weights: {weights}, max_frames: 3, seed: 1, "
        f"variants: {{other: {weights}}}}}\n"
    )
    result = evaluate_config(load_config(cfg_file, EvalConfig), tmp_path / "out", log=print)
    t = result["temporal"]
    assert t["frames"] == 3 and t["drives"] == ["2011_09_26_drive_0001_sync"]
    assert set(t["mean"]) >= {"malvar", "classical_temporal", "learned", "temporal", "reference"}
    # the clean frames move exactly with the flow: their warping error is resampling only
    assert t["mean"]["reference"]["warp_error"] < 1e-4
    assert t["mean"]["malvar"]["warp_error"] > t["mean"]["classical_temporal"]["warp_error"]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["temporal"]["frames"] == 3
    assert "| temporal network |" in format_table(result)
    # a variant is the same network under another name: the same outputs, scored alike
    assert t["per_drive"]["2011_09_26_drive_0001_sync"]["other"] == t["per_drive"][
        "2011_09_26_drive_0001_sync"]["temporal"]  # fmt: skip


def _tiny_models() -> dict:
    """Seeded width-4 single-frame and temporal stages, the temporal one started from the
    single-frame one (``load_single_frame``), as ``evaluate_temporal`` takes them."""
    torch.manual_seed(0)
    single = RawUNet(width=4)
    model = TemporalRawUNet(width=4).eval()
    model.load_single_frame(single.state_dict())
    return {"raw": single.eval(), "temporal": model}


def test_isp_eval_temporal_with_estimated_flow(drive_root, tmp_path):
    pytest.importorskip("cv2")
    from perception3d.isp.temporal_eval import TemporalEval, evaluate_temporal

    models = _tiny_models()
    common = {"root": drive_root, "weights": tmp_path / "unused.pt", "max_frames": FRAMES,
              "seed": 1}  # fmt: skip
    truth = evaluate_temporal(TemporalEval(**common), models, log=lambda *_: None)
    est = evaluate_temporal(
        TemporalEval(**common, alignment="estimated", estimated_metric=True),
        models,
        log=lambda *_: None,
    )
    info = est["alignment"]["2011_09_26_drive_0001_sync"]
    # DIS on the noisy outputs of an untrained network, 32 x 48 px, finds the 2 px pan (a
    # zero flow would be 2 px off)
    assert info["endpoint_error_px"] < 1.0 and info["valid_fraction"] > 0.5
    # the clean frames are consistent under the estimated flow too (resampling only)
    assert est["mean"]["reference"]["warp_error_estimated"] < 1e-3
    # per-frame PSNR split: the first frame (no history) and frames 3.. are reported
    assert set(est["frame_split"]["temporal"]) == {"first", "later"}
    assert est["frame_split"]["learned"] == truth["frame_split"]["learned"]  # no alignment used
    assert "est. flow" in format_temporal_table(est)
    with pytest.raises(ValueError, match="alignment"):
        TemporalEval(**common, alignment="lidar")
    with pytest.raises(ValueError, match="taken"):
        TemporalEval(**common, variants={"learned": tmp_path / "x.pt"})
    with pytest.raises(ValueError, match="flow_preset"):
        TemporalEval(**common, flow_preset="slow")


def test_score_clip_separates_aligned_and_disoccluded_pixels(drive_root):
    from perception3d.isp.temporal_eval import _srgb, score_clip

    clip = load_clip(load_drive(find_drives(drive_root)[0]), 0, 3, 1 / 300, seed=1)
    ref = _srgb(clip.reference, clip.display_gain)
    # a method that carries its past over everywhere: the previous clean frame, warped
    carried = torch.cat([ref[:1], warp(ref[:-1], clip.backward[1:])[0]])
    s = score_clip({"carried": carried}, clip)["carried"]
    # exact where the warp is valid; where the content entered the view (the left SHIFT
    # columns) it is 0 instead of the scene
    assert s["psnr_aligned"][0] > 40 and s["psnr_unaligned"][0] < 15


def test_clip_aligned_by_reprojection_matches_the_ground_truth_flow(drive_root):
    # the fixture's content moves SHIFT px right per frame at 10 m: a camera with a 100 px
    # focal length moving SHIFT x 10 / 100 m to the left per frame, in front of a wall
    from perception3d.geometry.calib import Calibration
    from perception3d.isp.reproject import ReprojectionParams
    from perception3d.isp.temporal_data import DriveLidar
    from perception3d.isp.temporal_eval import clip_outputs

    p2 = np.array([[100.0, 0, (W - 1) / 2, 0], [0, 100.0, (H - 1) / 2, 0], [0, 0, 1, 0]])
    velo_to_cam = np.array([[0, -1.0, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]])
    calib = Calibration(P2=p2, R0_rect=np.eye(3), Tr_velo_to_cam=velo_to_cam)
    step_m = SHIFT * 10.0 / 100.0
    y, z = np.meshgrid(np.arange(-4.0, 4.0, 0.02), np.arange(-3.0, 3.0, 0.02))
    sweeps, poses = [], []
    for k in range(FRAMES):
        pts = np.stack([np.full(y.size, 10.0), y.ravel() - k * step_m, z.ravel(),
                        np.ones(y.size)], 1).astype(np.float32)  # fmt: skip
        pose = np.eye(4)
        pose[1, 3] = k * step_m
        sweeps.append(pts)
        poses.append(pose)
    clip = load_clip(load_drive(find_drives(drive_root)[0]), 0, FRAMES, 1 / 300, 1)
    torch.manual_seed(0)
    model = TemporalRawUNet(width=4).eval()
    models = {"raw": RawUNet(width=4).eval(), "temporal": model}
    params = ReprojectionParams(scale=0.5, deskew=False)
    _, info = clip_outputs(clip, models, "reprojection", None, DriveLidar(calib, sweeps, poses),
                           params)  # fmt: skip
    assert info["endpoint_error_px"] < 0.05  # against the inverted ground-truth flow
    assert info["valid_fraction"] > 0.5 and info["valid_over_3px"] == 0.0
    with pytest.raises(ValueError, match="sweeps and poses"):
        clip_outputs(clip, models, "reprojection")


def _as_real_drive(root) -> None:
    """Write the fixture drive's image_02 as its camera would (8-bit
    ``smoothstep(srgb(radiance x exposure))``, the synthetic camera's display), the drive's
    exposure set to 1: the unprocessed image_02 (exposure 1, the real camera's) is then the
    same scene as its radiance, photon for photon."""
    from PIL import Image

    from perception3d.isp.color import linear_to_srgb, smoothstep

    d = find_drives(root)[0]
    meta = json.loads((d / "synth_drive.json").read_text())
    (d / "synth_drive.json").write_text(json.dumps({**meta, "exposure": [1.0] * FRAMES}))
    (d / "image_02" / "data").mkdir(parents=True)
    for k in range(FRAMES):
        rad = torch.from_numpy(
            np.load(d / "radiance_02" / "data" / f"{k:010d}.npy").astype(np.float32)
        )
        srgb = smoothstep(linear_to_srgb(rad.clamp(0, 1))).permute(1, 2, 0).numpy()
        code = np.round(srgb * 255).astype(np.uint8)
        Image.fromarray(code).save(d / "image_02" / "data" / f"{k:010d}.png")


def _strip_extras(drive) -> None:
    """Remove what a real KITTI raw drive lacks: radiance, depth, flow, synth_drive.json."""
    for folder in ("radiance_02", "depth_02", "flow_02"):
        shutil.rmtree(drive / folder)
    (drive / "synth_drive.json").unlink()


def test_image_source_unprocesses_image_02_back_to_the_drive_radiance(drive_root):
    _as_real_drive(drive_root)
    path = find_drives(drive_root)[0]
    synthetic = load_drive(path, source="auto")
    image = load_drive(path, source="image")
    assert synthetic.source == "radiance" and image.source == "image"
    assert image.depth is None and image.flow is None and image.exposure == [1.0] * FRAMES
    assert len(image) == FRAMES and image.index == synthetic.index == 0  # drive_0001
    for k in range(FRAMES):
        linear = np.asarray(synthetic.radiance[k], np.float32) * synthetic.exposure[k]
        # the unprocessing inverts the camera's display up to its 8-bit rounding (one code is
        # 0.002-0.003 in linear over the pattern's 0.09-0.34)
        assert np.abs(image.radiance[k] - linear).max() < 0.002
    clip = load_clip(image, 0, FRAMES, 1 / 300, seed=1)
    assert not clip.ground_truth and float(clip.aligned.abs().sum()) == 0.0


def test_isp_eval_temporal_on_a_drive_without_radiance_and_flow(drive_root, tmp_path):
    pytest.importorskip("cv2")
    from perception3d.isp.temporal_data import drive_source
    from perception3d.isp.temporal_eval import TemporalEval, evaluate_temporal

    models = _tiny_models()
    common = {"root": drive_root, "weights": tmp_path / "unused.pt", "max_frames": FRAMES,
              "seed": 1, "alignment": "estimated"}  # fmt: skip
    quiet = {"log": lambda *_: None}
    path = find_drives(drive_root)[0]
    _as_real_drive(drive_root)
    synthetic = evaluate_temporal(TemporalEval(**common, estimated_metric=True), models, **quiet)
    _strip_extras(path)  # the same drive, now as a real KITTI raw drive has it
    real = evaluate_temporal(TemporalEval(**common), models, **quiet)
    name, methods = (
        "2011_09_26_drive_0001_sync",
        ("malvar", "learned", "temporal", "classical_temporal"),
    )
    assert real["source"] == {name: "image"} and synthetic["source"] == {name: "radiance"}
    assert real["frames"] == FRAMES
    for method, m in real["mean"].items():
        # no ground-truth flow: its warping error and the aligned PSNR are not reported
        assert "warp_error" not in m and "psnr_aligned" not in m, method
        assert np.isfinite(m["warp_error_estimated"]), method
    assert "endpoint_error_px" not in real["alignment"][name]
    assert real["mean"]["reference"]["warp_error_estimated"] < 1e-3
    # the unprocessed image_02 stands in for the radiance: the scores move by the 8-bit
    # rounding, which also redraws the shot noise (Malvar -0.14 dB on this 32 x 48 drive), and
    # the temporal ones by the flow DIS estimates on slightly different outputs (classical -0.25)
    psnr = {m: real["mean"][m]["psnr"] - synthetic["mean"][m]["psnr"] for m in methods}
    assert all(abs(v) < 0.5 for v in psnr.values()), psnr
    assert "| temporal network |" in format_temporal_table(real)
    with pytest.raises(ValueError, match="ground-truth flow"):
        evaluate_temporal(TemporalEval(**{**common, "alignment": "ground_truth"}), models, **quiet)
    with pytest.raises(MissingFrameError, match="radiance_02"):
        load_drive(path, source="radiance")
    with pytest.raises(ValueError, match="source"):
        TemporalEval(**common, source="jpeg")
    with pytest.raises(ValueError, match="ground-truth flow"):
        TemporalEval(**{**common, "alignment": "ground_truth"}, source="image")
    shutil.rmtree(path / "image_02")
    (path / "image_02" / "data").mkdir(parents=True)  # the folder without frames
    with pytest.raises(MissingFrameError, match=r"image_02/data/0000000000\.png"):
        drive_source(path)
