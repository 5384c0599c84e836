"""KITTI raw tracklets (``DATE_drive_NNNN_sync/tracklet_labels.xml``): read and write.

The file is a boost::serialization XML archive: ``<tracklets>`` holds ``count``,
``item_version`` and one ``item`` per tracked object with ``objectType`` (Car, Van, Truck,
Pedestrian, Person (sitting), Cyclist, Tram, Misc), the box size ``h``, ``w``, ``l`` (metres),
``first_frame`` and ``poses`` (``count``, ``item_version``, one ``item`` per frame from
``first_frame`` on), then ``finished``. A pose holds ``tx, ty, tz`` (Velodyne frame, metres:
the centre of the box's *bottom* face; the box spans z from tz to tz + h), ``rx, ry, rz``
(rad; only the yaw ``rz`` about the Velodyne z axis is used, 0 = along x), ``state`` (1
interpolated, 2 labelled), ``occlusion`` and ``occlusion_kf`` (-1 unset, 0 visible, 1 partly,
2 fully), ``truncation`` (99 unset, 0 in image, 1 truncated, 2 out of image, 3 behind the
image plane), ``amt_occlusion``, ``amt_occlusion_kf``, ``amt_border_l``, ``amt_border_r``,
``amt_border_kf`` (-1 when unset). Tags as the raw devkit's ``parseTrackletXML`` reads them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception3d.atomic import atomic_write_text
from perception3d.errors import KittiFormatError

__all__ = [
    "OCCLUSION_UNSET",
    "TRUNCATION_BEHIND",
    "TRUNCATION_IN_IMAGE",
    "TRUNCATION_OUT_OF_IMAGE",
    "TRUNCATION_TRUNCATED",
    "TRUNCATION_UNSET",
    "Tracklet",
    "read_tracklets",
    "tracklets_xml",
    "write_tracklets",
]

OCCLUSION_UNSET = -1
TRUNCATION_IN_IMAGE, TRUNCATION_TRUNCATED, TRUNCATION_OUT_OF_IMAGE = 0, 1, 2
TRUNCATION_BEHIND, TRUNCATION_UNSET = 3, 99
_POSE_FIELDS = ("tx", "ty", "tz", "rx", "ry", "rz")


@dataclass(frozen=True)
class Tracklet:
    """One tracked object.

    Attributes:
        object_type: KITTI raw type ("Car", ..., "Person (sitting)").
        size_hwl_m: (3,) height, width, length.
        first_frame: frame of the first pose.
        poses: (F, 6) float64 [tx, ty, tz, rx, ry, rz] per frame, Velodyne frame (bottom centre).
        state: (F,) int; occlusion, occlusion_kf: (F,) int; truncation: (F,) int.
    """

    object_type: str
    size_hwl_m: np.ndarray
    first_frame: int
    poses: np.ndarray
    state: np.ndarray
    occlusion: np.ndarray
    occlusion_kf: np.ndarray
    truncation: np.ndarray

    @property
    def frames(self) -> np.ndarray:
        """(F,) absolute frame numbers of the poses."""
        return self.first_frame + np.arange(len(self.poses))

    def boxes_lidar(self) -> np.ndarray:
        """(F, 7) [x, y, z, dx, dy, dz, heading] boxes (centre), the project's LiDAR layout."""
        h, w, l = self.size_hwl_m
        out = np.zeros((len(self.poses), 7))
        out[:, 0:2] = self.poses[:, 0:2]
        out[:, 2] = self.poses[:, 2] + h / 2
        out[:, 3:6] = (l, w, h)
        out[:, 6] = self.poses[:, 5]
        return out


def _item(parent: ET.Element, cls: int, version: int) -> ET.Element:
    return ET.SubElement(
        parent, "item", class_id=str(cls), tracking_level="0", version=str(version)
    )


def _text(parent: ET.Element, tag: str, value: str | int | float) -> None:
    """A child ``<tag>`` holding ``value`` (floats with 6 decimals: micrometres, microradians)."""
    ET.SubElement(parent, tag).text = f"{value:.6f}" if isinstance(value, float) else str(value)


def tracklets_xml(tracklets: list[Tracklet]) -> str:
    """The XML text of ``tracklets`` (the raw devkit's archive layout)."""
    root = ET.Element("tracklets", class_id="0", tracking_level="0", version="0")
    _text(root, "count", len(tracklets))
    _text(root, "item_version", 1)
    for k, tr in enumerate(tracklets):
        item = _item(root, 1, 1) if k == 0 else ET.SubElement(root, "item")
        _text(item, "objectType", tr.object_type)
        for tag, v in zip("hwl", tr.size_hwl_m):
            _text(item, tag, float(v))
        _text(item, "first_frame", int(tr.first_frame))
        poses = ET.SubElement(item, "poses", class_id="2", tracking_level="0", version="0")
        _text(poses, "count", len(tr.poses))
        _text(poses, "item_version", 2)
        for f in range(len(tr.poses)):
            pose = _item(poses, 3, 2) if (k == 0 and f == 0) else ET.SubElement(poses, "item")
            for tag, v in zip(_POSE_FIELDS, tr.poses[f]):
                _text(pose, tag, float(v))
            _text(pose, "state", int(tr.state[f]))
            _text(pose, "occlusion", int(tr.occlusion[f]))
            _text(pose, "occlusion_kf", int(tr.occlusion_kf[f]))
            _text(pose, "truncation", int(tr.truncation[f]))
            for tag in ("amt_occlusion", "amt_occlusion_kf", "amt_border_l", "amt_border_r"):
                _text(pose, tag, -1)
            _text(pose, "amt_border_kf", -1)
        _text(item, "finished", 1)
    ET.indent(root, "\t")
    body = ET.tostring(root, encoding="unicode")
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>\n'
        "<!DOCTYPE boost_serialization>\n"
        '<boost_serialization signature="serialization::archive" version="9">\n'
    )
    return head + body + "\n</boost_serialization>\n"


def write_tracklets(path: str | Path, tracklets: list[Tracklet]) -> Path:
    """Write ``tracklet_labels.xml`` atomically."""
    return atomic_write_text(path, tracklets_xml(tracklets))


def _number(elem: ET.Element | None, path: Path, what: str, cast=float):
    if elem is None or elem.text is None:
        raise KittiFormatError(path, f"missing <{what}>")
    try:
        return cast(elem.text.strip())
    except ValueError:
        raise KittiFormatError(path, f"<{what}>: expected a number, got {elem.text!r}") from None


def read_tracklets(path: str | Path) -> list[Tracklet]:
    """Parse a ``tracklet_labels.xml``.

    Raises:
        KittiFormatError: not XML, no ``<tracklets>``, a missing or non-numeric field, or a
            pose count that disagrees with the poses (the message names the file).
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise KittiFormatError(path, f"not valid XML ({exc})") from None
    node = root if root.tag == "tracklets" else root.find("tracklets")
    if node is None:
        raise KittiFormatError(path, "no <tracklets> element")
    out = []
    for item in node.findall("item"):
        size = np.array([_number(item.find(t), path, t) for t in "hwl"])
        first = _number(item.find("first_frame"), path, "first_frame", int)
        poses_el = item.find("poses")
        if poses_el is None:
            raise KittiFormatError(path, "a tracklet has no <poses>")
        rows = poses_el.findall("item")
        count = _number(poses_el.find("count"), path, "poses/count", int)
        if count != len(rows):
            raise KittiFormatError(path, f"poses/count says {count}, found {len(rows)} poses")
        poses = np.array([[_number(r.find(t), path, t) for t in _POSE_FIELDS] for r in rows])
        ints = {
            t: np.array([_number(r.find(t), path, t, int) for r in rows], np.int64)
            for t in ("state", "occlusion", "occlusion_kf", "truncation")
        }
        kind = item.find("objectType")
        out.append(
            Tracklet(
                "" if kind is None or kind.text is None else kind.text.strip(),
                size,
                first,
                poses.reshape(-1, 6),
                ints["state"],
                ints["occlusion"],
                ints["occlusion_kf"],
                ints["truncation"],
            )
        )
    declared = node.find("count")
    if declared is not None and _number(declared, path, "count", int) != len(out):
        raise KittiFormatError(path, f"count says {declared.text}, found {len(out)} tracklets")
    return out
