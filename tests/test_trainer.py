"""The PersonalizedTrainer's invariants: online equals batch, replacement, strengths, the NaN guard."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data import History
from engine.engine import replay
from engine.feedback import signal
from engine.trainer import NonFiniteUpdate, PersonalizedTrainer, UserState, unit
from engine.training import TrainConfig, fit_taste_model
from tests.engine_fixtures import N_ITEMS, synthetic_world

TOLERANCE = 1e-9


@pytest.fixture(scope="module", params=["closed", "lowrank"])
def trainer(request: pytest.FixtureRequest) -> PersonalizedTrainer:
    """Both solvers (engine.closed_form, engine.lowrank) give a model whose online updates equal a refit."""
    histories, _ = synthetic_world()
    config = TrainConfig(lam_seen=10.0, lam_val=10.0, solver=request.param, lowrank_epochs=5)
    p_seen, p_val, _q = fit_taste_model(histories, N_ITEMS, config, progress=False).arrays()
    return PersonalizedTrainer(p_seen, p_val)


def test_online_updates_equal_a_batch_refit_in_any_order(trainer: PersonalizedTrainer) -> None:
    rng = np.random.default_rng(3)
    items = rng.choice(N_ITEMS, 25, replace=False)
    ratings = rng.choice(np.arange(1, 11) / 2, 25)
    online = replay(trainer, History(items, ratings))
    shuffled = rng.permutation(25)
    other_order = replay(trainer, History(items[shuffled], ratings[shuffled]))
    batch = trainer.refit(items, [signal("rating", r) for r in ratings], [True] * 25)
    assert np.max(np.abs(online.vector - batch.vector)) < TOLERANCE
    assert np.max(np.abs(other_order.vector - batch.vector)) < TOLERANCE
    assert online.ratings == 25


def test_rerating_replaces_the_movie_effect(trainer: PersonalizedTrainer) -> None:
    state = UserState.empty(trainer.dim)
    state = trainer.apply_feedback(state, 3, "rating", 2.0)
    state = trainer.apply_feedback(state, 7, "love", None)
    state = trainer.apply_feedback(state, 3, "rating", 5.0, "rating", 2.0)  # re-rate movie 3
    expected = trainer.refit(np.array([3, 7]), [signal("rating", 5.0), signal("love", 5.0)], [True, True])
    assert np.max(np.abs(state.vector - expected.vector)) < TOLERANCE
    assert state.ratings == 2
    withdrawn = trainer.apply_feedback(state, 7, None, None, "love", 5.0)
    only = trainer.refit(np.array([3]), [signal("rating", 5.0)], [True])
    assert np.max(np.abs(withdrawn.vector - only.vector)) < TOLERANCE and withdrawn.ratings == 1


def test_update_strength_follows_feedback(trainer: PersonalizedTrainer) -> None:
    base = trainer.apply_feedback(UserState.empty(trainer.dim), 1, "rating", 4.0)

    def move(kind: str, rating: float | None) -> float:
        moved = trainer.apply_feedback(base, 40, kind, rating)
        return float(np.linalg.norm(moved.vector - base.vector))

    # valence parts: love > like, hate > dislike, a middling 3 adds no valence at all
    assert signal("love", None).valence > signal("like", None).valence > 0
    assert signal("hate", None).valence < signal("dislike", None).valence < 0
    assert signal("rating", 3.0).valence == 0.0 and signal("not_interested", None).valence < 0
    assert move("love", None) > move("like", None) or move("hate", None) > move("dislike", None)
    assert move("rating", 3.0) < max(move("love", None), move("hate", None))


def test_non_finite_update_is_refused(trainer: PersonalizedTrainer) -> None:
    state = trainer.apply_feedback(UserState.empty(trainer.dim), 2, "rating", 4.0)
    broken = PersonalizedTrainer(trainer.p_seen.copy(), trainer.p_val.copy())
    broken.p_val[5, 0] = np.nan
    with pytest.raises(NonFiniteUpdate):
        broken.apply_feedback(state, 5, "rating", 5.0)
    assert np.all(np.isfinite(state.vector))


def test_state_roundtrip_and_unit_embedding(trainer: PersonalizedTrainer) -> None:
    state = trainer.apply_feedback(UserState.empty(trainer.dim), 2, "rating", 4.0)
    again = UserState.from_bytes(state.to_bytes(), state.ratings, state.feedback, state.version)
    assert np.array_equal(again.vector, state.vector)
    assert abs(np.linalg.norm(unit(state.vector)) - 1) < 1e-6 and abs(np.linalg.norm(unit(np.zeros(4))) - 1) < 1e-6


def test_mode_none_changes_no_taste_and_global_nudges_popularity(trainer: PersonalizedTrainer) -> None:
    frozen = PersonalizedTrainer(trainer.p_seen, trainer.p_val, mode="none")
    state = frozen.apply_feedback(UserState.empty(trainer.dim), 2, "rating", 5.0)
    assert not np.any(state.vector)
    popularity = np.zeros(N_ITEMS)
    shared = PersonalizedTrainer(trainer.p_seen, trainer.p_val, mode="global", popularity=popularity)
    shared.apply_feedback(UserState.empty(trainer.dim), 2, "rating", 5.0)
    assert popularity[2] == 1.0
    with pytest.raises(ValueError, match="trainer mode"):
        PersonalizedTrainer(trainer.p_seen, trainer.p_val, mode="turbo")


def test_batch_state_equals_online_replay(trainer: PersonalizedTrainer) -> None:
    from engine.engine import batch_state

    history = History(np.array([3, 9, 3, 12, 40]), np.array([2.0, 4.5, 5.0, np.nan, 1.0]),
                      ("rating", "rating", "love", "not_interested", "hate"))
    online, batch = replay(trainer, history), batch_state(trainer, history)
    assert np.max(np.abs(online.vector - batch.vector)) < TOLERANCE and online.ratings == batch.ratings == 3
