"""One contract every scorer passes on a tiny synthetic world (ours and the peers alike)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data import History
from engine.evaluation.ours import OursScorer
from engine.peers import ALSPeer, EASEPeer, PopularityPeer
from engine.training import TrainConfig
from tests.engine_fixtures import GROUP, N_ITEMS, synthetic_world


class ScorerContract:
    """Mixin: subclasses provide make(catalog) and personalised (False for popularity)."""

    personalised = True

    def make(self, catalog):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    @pytest.fixture
    def fitted(self):  # type: ignore[no-untyped-def]
        histories, catalog = synthetic_world()
        return self.make(catalog).fit(histories, N_ITEMS), histories

    def test_scores_every_item_finite(self, fitted) -> None:  # type: ignore[no-untyped-def]
        scorer, histories = fitted
        scores = scorer.score(histories[:5])
        assert scores.shape == (5, N_ITEMS) and np.all(np.isfinite(scores))

    def test_deterministic(self) -> None:
        histories, catalog = synthetic_world()
        a = self.make(catalog).fit(histories, N_ITEMS).score(histories[:3])
        b = self.make(catalog).fit(histories, N_ITEMS).score(histories[:3])
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    def test_empty_history_is_scored(self, fitted) -> None:  # type: ignore[no-untyped-def]
        scorer, _ = fitted
        scores = scorer.score([History(np.empty(0, dtype=np.int64), np.empty(0))])
        assert scores.shape == (1, N_ITEMS) and np.all(np.isfinite(scores))

    def test_new_user_gets_their_side_of_the_world(self, fitted) -> None:  # type: ignore[no-untyped-def]
        if not self.personalised:
            pytest.skip("popularity is the same for everyone by design")
        scorer, _ = fitted
        fan = History(np.array([0, 1, 2, 3, 4, 30, 31], dtype=np.int64), np.array([5.0, 4.5, 5.0, 4.0, 5.0, 1.0, 1.5]))
        scores = scorer.score([fan])[0]
        unseen = np.setdiff1d(np.arange(N_ITEMS), fan.items)
        top = unseen[np.argsort(-scores[unseen])][:10]
        assert np.mean(top < GROUP) >= 0.8, top


class TestPopularity(ScorerContract):
    personalised = False

    def make(self, catalog):  # type: ignore[no-untyped-def]
        return PopularityPeer()


class TestEASE(ScorerContract):
    def make(self, catalog):  # type: ignore[no-untyped-def]
        return EASEPeer(lam=10.0)


class TestALS(ScorerContract):
    def make(self, catalog):  # type: ignore[no-untyped-def]
        return ALSPeer(factors=4, regularization=0.1, alpha=10.0)


class TestOurs(ScorerContract):
    def make(self, catalog):  # type: ignore[no-untyped-def]
        return OursScorer(catalog, TrainConfig(lam_seen=10.0, lam_val=10.0))


class TestOursLowRank(ScorerContract):
    """Ours with the large-data solver (engine.lowrank) forced on the tiny world."""

    def make(self, catalog):  # type: ignore[no-untyped-def]
        return OursScorer(catalog, TrainConfig(solver="lowrank", lowrank_epochs=60, dim=32))
