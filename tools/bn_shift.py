"""How far the BatchNorm statistics of one checkpoint lie from another's (docs/frustum.md,
"Adaptation without labels (AdaBN)"): per layer, the channel mean of |mean_b - mean_a| /
sqrt(var_a + eps) and of |log((var_b + eps) / (var_a + eps))|, averaged over the layers of the
2D detector's encoder and over the others. No data, no labels: the files' buffers only.

    python tools/bn_shift.py A.pt B.pt [C.pt ...]     # each of B, C, ... against A
"""

from __future__ import annotations

import argparse

from perception3d.checkpoint import read_checkpoint

EPS = 1e-5


def layer_shifts(a: dict, b: dict) -> dict[str, list[tuple[float, float]]]:
    """Per BatchNorm layer of state dicts ``a`` and ``b``: (mean shift in stored sd, |log variance
    ratio|), grouped as ``encoder`` (keys under ``encoder.`` or ``stage``) and ``rest``."""
    out: dict[str, list[tuple[float, float]]] = {"encoder": [], "rest": []}
    for key in a:
        if not key.endswith("running_mean"):
            continue
        var = key.replace("running_mean", "running_var")
        sd = (a[var] + EPS).sqrt()
        dm = ((b[key] - a[key]).abs() / sd).mean().item()
        dv = ((b[var] + EPS) / (a[var] + EPS)).log().abs().mean().item()
        group = "encoder" if key.startswith(("encoder.", "stage")) else "rest"
        out[group].append((dm, dv))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference")
    ap.add_argument("others", nargs="+")
    args = ap.parse_args()
    ref = read_checkpoint(args.reference)["model"]
    for path in args.others:
        print(path)
        for group, rows in layer_shifts(ref, read_checkpoint(path)["model"]).items():
            if rows:
                dm = sum(r[0] for r in rows) / len(rows)
                dv = sum(r[1] for r in rows) / len(rows)
                print(f"  {group}: {len(rows)} layers, |d mean| / sd {dm:.3f}, "
                      f"|log var ratio| {dv:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
