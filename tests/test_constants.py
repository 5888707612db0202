"""`choose_config`: it picks the lambda grid's best validation NDCG, and its figures are those of each config."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.splits import warm_split
from engine.training import LAMBDA_GRID, TrainConfig, choose_config, validation_ndcg
from tests.engine_fixtures import synthetic_world


def test_the_search_picks_the_grids_best_lambda() -> None:
    histories, _catalog = synthetic_world(160, seed=4)
    as_dict = dict(enumerate(histories))
    n_items = 60
    base = TrainConfig(dim=16)
    chosen, tried = choose_config(as_dict, n_items, base=base)
    split = warm_split(as_dict, n_items, seed=1)
    users = sorted(split.test)
    train = [split.train[u] for u in sorted(split.train)]
    full = {lam: validation_ndcg(train, split.test, users, split.train, n_items,
                                 replace(base, lam_seen=lam, lam_val=lam * 2 / 3, val_weight=0.5)) for lam in LAMBDA_GRID}
    values = np.array([full[lam] for lam in LAMBDA_GRID])
    peaks = sum(1 for i in range(len(values)) if all(values[i] >= values[j] for j in (i - 1, i + 1) if 0 <= j < len(values)))
    lambdas_tried = {name.split()[0] for name in tried}
    assert len(lambdas_tried) <= len(LAMBDA_GRID)
    if peaks == 1:  # one peak: no tie to break
        assert chosen.lam_seen == LAMBDA_GRID[int(np.argmax(values))], (full, tried)
    for name, value in tried.items():  # every figure it reports is the validation NDCG of that config
        lam = float(name.split()[0].split("=")[1])
        if name.endswith("val_weight=0.5"):
            assert abs(value - round(full[lam], 4)) < 1e-9

