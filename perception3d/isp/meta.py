"""Metadata that travels with a raw Bayer frame (the contract's raw = (B, 1, H, W) + RawMeta)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # pragma: no cover
    from perception3d.isp.sensor import SensorParams


@dataclasses.dataclass(frozen=True)
class RawMeta:
    """What an ISP needs to know about a batch of raw frames (each field batched on dim 0).

    Attributes:
        pattern: CFA layout, always ``"RGGB"``.
        black_level_dn, white_level_dn: (B,) levels of the ADC, DN (already removed from the
            raw; NaN when unknown, as for unprocessed photographs).
        wb_gains: (B, 3) white-balance gains R, G, B for the scene illuminant.
        cam_to_rgb: (B, 3, 3) camera RGB -> linear sRGB colour correction matrix.
        exposure_s: (B,) exposure time, seconds.
        iso: (B,) ISO speed.
        shot_noise: (B,) variance per unit signal of the normalized raw: noise variance at raw
            value x is ``shot_noise * x + read_noise`` (Brooks et al. 2019's parametrization).
        read_noise: (B,) signal-independent variance of the normalized raw.
        vignetting: (B,) lens fall-off k of ``1 - k r^2`` (for lens-shading correction).
        linear_scale: (B,) scene radiance -> ideal linear output (relative units per radiance).
    """

    wb_gains: torch.Tensor
    cam_to_rgb: torch.Tensor
    exposure_s: torch.Tensor
    iso: torch.Tensor
    shot_noise: torch.Tensor
    read_noise: torch.Tensor
    vignetting: torch.Tensor
    linear_scale: torch.Tensor
    black_level_dn: torch.Tensor
    white_level_dn: torch.Tensor
    pattern: str = "RGGB"

    def __post_init__(self) -> None:
        b = self.wb_gains.shape[0]
        if self.wb_gains.shape != (b, 3):
            raise ValueError(f"wb_gains must be (B, 3), got {tuple(self.wb_gains.shape)}")
        if self.cam_to_rgb.shape != (b, 3, 3):
            raise ValueError(f"cam_to_rgb must be (B, 3, 3), got {tuple(self.cam_to_rgb.shape)}")
        names = ("exposure_s", "iso", "shot_noise", "read_noise", "vignetting", "linear_scale")
        for name in (*names, "black_level_dn", "white_level_dn"):
            if getattr(self, name).shape != (b,):
                raise ValueError(f"{name} must be ({b},), got {tuple(getattr(self, name).shape)}")
        if self.pattern != "RGGB":
            raise ValueError(f"only the RGGB pattern is supported, got {self.pattern!r}")

    @property
    def batch_size(self) -> int:
        return int(self.wb_gains.shape[0])

    @classmethod
    def from_sensor(cls, params: SensorParams, batch: int, read_dn: float) -> RawMeta:
        """Metadata of ``batch`` frames captured with ``params`` (read noise ``read_dn`` DN rms
        in total before row noise)."""
        dn_range = params.white_level_dn - params.black_level_dn
        rgb_to_cam = torch.tensor(params.rgb_to_cam, dtype=torch.float64).view(3, 3)
        full = lambda v: torch.full((batch,), float(v))  # noqa: E731
        return cls(
            wb_gains=torch.tensor([params.wb_gains], dtype=torch.float32).repeat(batch, 1),
            cam_to_rgb=torch.linalg.inv(rgb_to_cam).float().expand(batch, 3, 3).clone(),
            exposure_s=full(params.exposure_s),
            iso=full(params.iso),
            shot_noise=full(1.0 / (params.gain_e_per_dn * dn_range)),
            read_noise=full((read_dn**2 + params.row_noise_dn**2) / dn_range**2),
            vignetting=full(params.vignetting),
            linear_scale=full(params.linear_scale),
            black_level_dn=full(params.black_level_dn),
            white_level_dn=full(params.white_level_dn),
        )

    def to(self, device: torch.device | str) -> RawMeta:
        return dataclasses.replace(self, **{k: v.to(device) for k, v in self._tensors().items()})

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }

    def select(self, index: int) -> RawMeta:
        """The metadata of frame ``index`` as a batch of one."""
        return dataclasses.replace(
            self, **{k: v[index : index + 1] for k, v in self._tensors().items()}
        )

    @staticmethod
    def cat(metas: Sequence[RawMeta]) -> RawMeta:
        """Concatenate batches."""
        first = metas[0]
        fields = {k: torch.cat([m._tensors()[k] for m in metas]) for k in first._tensors()}
        return dataclasses.replace(first, **fields)

    def to_json(self, index: int = 0) -> dict[str, Any]:
        """Plain-JSON metadata of frame ``index`` (units in the key names of the docs)."""
        out: dict[str, Any] = {"pattern": self.pattern}
        for k, v in self._tensors().items():
            out[k] = v[index].tolist()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "<meta>") -> RawMeta:
        """Inverse of :meth:`to_json` (a batch of one)."""
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"{source}: raw metadata lacks {missing}")
        kwargs: dict[str, Any] = {}
        for n in names:
            v = data[n]
            if n == "pattern":
                kwargs[n] = str(v)
            else:
                kwargs[n] = torch.tensor([v], dtype=torch.float32)
        return cls(**kwargs)
