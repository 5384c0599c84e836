"""``python tools/soup_weights.py OUT.pt IN1.pt IN2.pt ... [--weights W1 W2 ...]``: a weights-only
checkpoint whose weights are the (weighted) mean of the inputs' (a "model soup",
``perception3d.engine.soup``): networks of one kind and model config (up to keys that do not
change the weights, such as a detector's ``postprocess``), best fine-tuned from one
initialisation. The soup's ``extra["soup"]`` names each input with its sha256 and weight."""

from __future__ import annotations

import argparse

from perception3d.engine.soup import soup_checkpoints


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the soup's .pt file (written atomically)")
    ap.add_argument("inputs", nargs="+", help="the ingredient checkpoints")
    ap.add_argument("--weights", nargs="+", type=float, help="mixing weights (default uniform)")
    ap.add_argument("--note", action="append", default=[], metavar="KEY=VALUE",
                    help="stored in the soup's extra")  # fmt: skip
    args = ap.parse_args(argv)
    notes = dict(item.split("=", 1) for item in args.note)
    print(soup_checkpoints(args.inputs, args.out, args.weights, notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
