"""One process of the DDP test (launched by torchrun from tests/engine/test_ddp.py): train the
tiny config for a few steps, then save this replica's weights and history."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parents[2]))

from perception3d.engine.train import train
from tests.models.conftest import tiny_config


def main() -> None:
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    cfg = tiny_config(root, "train.epochs=2", "train.batch_size=1", "train.validate_every=0")
    result = train(cfg, out, progress=False)
    rank = int(os.environ["RANK"])
    torch.save(result.model.state_dict(), out / f"rank{rank}.pt")
    (out / f"rank{rank}.json").write_text(json.dumps(result.history))


if __name__ == "__main__":
    main()
