"""The evaluation is fair: every scorer sees the same inputs, peers may use every rated movie,
and nothing a held-out rating's author wrote reaches the movie texts."""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np
import pandas as pd
import pytest

from bot.services.evaluation import leak_free_text_vectors
from bot.services.text_vectors import FileTextCache
from engine.data import History, ItemIndex
from engine.evaluation.ours import OursScorer
from engine.evaluation.protocols import evaluate_cold, evaluate_warm
from engine.peers import ALSPeer, EASEPeer, PopularityPeer
from engine.splits import cold_split, warm_split
from engine.text import TextEncoder
from engine.training import TrainConfig
from tests.engine_fixtures import N_ITEMS, synthetic_world


def digest(histories: Sequence[History]) -> str:
    h = hashlib.sha256()
    for history in histories:
        h.update(np.asarray(history.items, dtype=np.int64).tobytes())
        h.update(np.asarray(history.ratings, dtype=np.float64).tobytes())
        h.update(repr(history.kinds).encode())
    return h.hexdigest()


class Recorder:
    """Wraps a scorer and records a digest of everything it is given."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.name, self.seen = inner, inner.name, []

    def fit(self, histories, n_items):  # type: ignore[no-untyped-def]
        self.seen.append(("fit", digest(histories), n_items))
        self.inner.fit(histories, n_items)
        return self

    def score(self, histories):  # type: ignore[no-untyped-def]
        self.seen.append(("score", digest(histories)))
        return self.inner.score(histories)


def every_scorer(catalog):  # type: ignore[no-untyped-def]
    ours = OursScorer(catalog, TrainConfig(lam_seen=10.0, lam_val=10.0), user_weights=False)
    peers = [PopularityPeer()]
    peers += [EASEPeer(lam=10.0, input=i) for i in ("positives", "rated")]
    peers += [ALSPeer(factors=4, input=i) for i in ("positives", "rated", "weighted")]
    return [ours, *peers]


def test_ours_and_every_peer_setting_receive_identical_inputs() -> None:
    histories, catalog = synthetic_world()
    by_user = {u: h for u, h in enumerate(histories)}
    warm = warm_split(by_user, N_ITEMS)
    cold = cold_split(by_user, N_ITEMS, min_positives=8)
    recorders = [Recorder(s) for s in every_scorer(catalog)]
    for recorder in recorders:
        recorder.fit(list(warm.train.values()), N_ITEMS)
        evaluate_warm(recorder, warm)
        recorder.fit(list(cold.train.values()), N_ITEMS)
        evaluate_cold(recorder, cold)
    reference = recorders[0].seen
    assert len(reference) >= 4
    for recorder in recorders[1:]:
        assert recorder.seen == reference, recorder.name


def test_peers_can_use_every_rated_movie_and_stars() -> None:
    """A disliked movie is information to a peer fed every rated movie, and none to one fed positives."""
    histories, _catalog = synthetic_world()
    loved = History(np.array([0, 1, 2], dtype=np.int64), np.array([5.0, 4.5, 5.0]))
    plus_disliked = History(np.array([0, 1, 2, 40], dtype=np.int64), np.array([5.0, 4.5, 5.0, 1.0]))
    for make in (lambda i: EASEPeer(lam=10.0, input=i), lambda i: ALSPeer(factors=4, input=i)):
        positives = make("positives").fit(histories, N_ITEMS).score([loved, plus_disliked])
        np.testing.assert_allclose(positives[0], positives[1])
        for kind in ("rated",) + (("weighted",) if isinstance(make("rated"), ALSPeer) else ()):
            fed = make(kind).fit(histories, N_ITEMS).score([loved, plus_disliked])
            assert not np.allclose(fed[0], fed[1]), kind


def test_a_tag_on_a_held_out_pair_never_reaches_the_movie_texts(tmp_path, test_settings) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    movies = pd.DataFrame({"movie_id": np.arange(1, 31), "title": [f"Film number {i}" for i in range(1, 31)],
                           "year": 2000, "genres": [["Drama"]] * 30})
    ratings = pd.DataFrame([(u, m, float(rng.choice([2.0, 4.0, 5.0])), u * 100 + m)
                            for u in range(1, 9) for m in rng.choice(np.arange(1, 31), 12, replace=False)],
                           columns=["user_id", "movie_id", "rating", "rated_at"])
    items = ItemIndex(np.arange(1, 31))
    from engine.data import histories_from_frame

    split = warm_split(histories_from_frame(ratings, items), len(items))
    held = sorted(split.held_out_pairs(items))
    user, movie = held[0]
    kept = ratings[~ratings.set_index(["user_id", "movie_id"]).index.isin(held)]
    other_user, other_movie = int(kept.iloc[0]["user_id"]), int(kept.iloc[0]["movie_id"])
    tags = pd.DataFrame({"user_id": [1, 2], "movie_id": [movie, other_movie], "tag": ["slow", "slow"]})
    encoder = TextEncoder(test_settings.embedding_model_path)
    cache = FileTextCache(tmp_path / "vectors.npz")

    def vectors(frame: pd.DataFrame) -> np.ndarray:
        return leak_free_text_vectors(movies, frame, items, split.held_out_pairs(items), set(), cache, lambda: encoder)

    before = vectors(tags)
    planted = pd.concat([tags, pd.DataFrame({"user_id": [user], "movie_id": [movie], "tag": ["zorblaxian heist"]})])
    np.testing.assert_array_equal(vectors(planted), before)
    # the same tag written on a training pair does change that movie's text: the test can fail
    on_training = pd.concat([tags, pd.DataFrame({"user_id": [other_user], "movie_id": [other_movie],
                                                 "tag": ["zorblaxian heist"]})])
    changed = vectors(on_training)
    row = items.get(other_movie)
    assert not np.allclose(changed[row], before[row])
    # and a held-out user's tags are left out whole (the cold protocol)
    whole = leak_free_text_vectors(movies, on_training, items, set(), {other_user}, cache, lambda: encoder)
    np.testing.assert_array_equal(whole[row], leak_free_text_vectors(movies, tags[tags["user_id"] != other_user], items,
                                                                      set(), set(), cache, lambda: encoder)[row])


@pytest.mark.parametrize("kind", ["positives", "rated", "weighted"])
def test_peer_inputs_are_named_settings(kind: str) -> None:
    histories, _ = synthetic_world()
    from engine.data import interaction_matrix

    matrix = interaction_matrix(histories, N_ITEMS, kind)
    assert matrix.shape == (len(histories), N_ITEMS) and matrix.data.max() <= 1.0
    with pytest.raises(ValueError, match="unknown peer input"):
        interaction_matrix(histories, N_ITEMS, "everything")
