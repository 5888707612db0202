"""Nearest members by cosine in this process: an HNSW graph (hnswlib) over members' taste vectors.

Why not only pgvector's index: pgvector 0.6.2 (what the embedded server bundles) took 5-6 ms a search
at 330,000 members (ef_search 200, warm buffers), past the 5 ms target, most of it walking the graph
through PostgreSQL's buffer manager; hnswlib walks the same kind of graph in memory in about two
milliseconds at a higher ef. PostgreSQL's member_index stays the source of truth: the service
(`bot/services/member_search.py`) mirrors it here and falls back to pgvector while this is built.

Members are labelled 0..n-1 here (hnswlib labels are unsigned; member ids need not be), and a removed
member is marked deleted, so a member who comes back reuses their label.
"""
from __future__ import annotations

from typing import Iterable

import hnswlib
import numpy as np

M = 32  # graph degree; with EF_CONSTRUCTION the build-time quality the recall below was measured at
EF_CONSTRUCTION = 200
# Candidates a search keeps. On 330,000 synthetic members with planted tastes (neighbours' cosines
# crowd together there: the 100th and the 200th nearest differ by ~0.01), recall of the exact 100
# nearest over 100 random members was 0.917 at ef 300, 0.958 at 600 and 0.976 at 1,000 (0.6, 1.1 and
# 1.6 ms at the p99, an experiment script); `cinesync bench` there measured 0.951 at 800 on its own
# sample, too close to the 0.95 the index must keep, so searches keep 1,200.
EF_SEARCH = 1200


class MemberNeighbours:
    def __init__(self, dim: int, capacity: int = 1024, m: int = M, ef_construction: int = EF_CONSTRUCTION,
                 ef_search: int = EF_SEARCH, seed: int = 1) -> None:
        self.dim, self.ef_search = dim, ef_search
        self._graph = hnswlib.Index(space="cosine", dim=dim)
        self._graph.init_index(max_elements=max(capacity, 16), M=m, ef_construction=ef_construction, random_seed=seed)
        self._graph.set_ef(ef_search)
        self._label: dict[int, int] = {}  # member id -> label
        self._members: list[int] = []  # label -> member id
        self._live: set[int] = set()  # member ids present (not marked deleted)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, threads: int = -1, **options: int) -> "MemberNeighbours":
        """A graph of these members (a bulk insert on ``threads`` threads; -1: every core)."""
        index = cls(vectors.shape[1] if vectors.ndim == 2 else 0, capacity=int(len(ids) * 1.2) + 1024, **options)
        index.upsert(ids, vectors, threads)
        return index

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, member: int) -> bool:
        return int(member) in self._live

    def members(self) -> set[int]:
        return set(self._live)

    def upsert(self, ids: Iterable[int], vectors: np.ndarray, threads: int = 1) -> None:
        """Insert members or replace their vectors (hnswlib repairs the graph around an updated one)."""
        ids = [int(i) for i in ids]
        if not ids:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        fresh = [row for row, member in enumerate(ids) if not self.holds(member, vectors[row])]
        if len(fresh) < len(ids):  # a row read again unchanged costs an update (~1 ms at 330,000) for nothing
            ids, vectors = [ids[row] for row in fresh], vectors[fresh]
            if not ids:
                return
        labels = np.empty(len(ids), dtype=np.uint64)
        for row, member in enumerate(ids):
            label = self._label.get(member)
            if label is None:
                label = self._label[member] = len(self._members)
                self._members.append(member)
            elif member not in self._live:
                self._graph.unmark_deleted(label)
            labels[row] = label
        needed = len(self._members)
        if needed > self._graph.get_max_elements():
            self._graph.resize_index(int(needed * 1.5) + 1024)
        self._graph.add_items(vectors, labels, num_threads=threads)
        self._live.update(ids)

    def holds(self, member: int, vector: np.ndarray) -> bool:
        """Whether the graph already holds this member at this vector (stored unit length: cosine space)."""
        if member not in self._live:
            return False
        stored = np.asarray(self._graph.get_items([self._label[member]])[0], dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        return norm > 0 and bool(np.allclose(stored, vector / norm, atol=1e-6))

    def remove(self, ids: Iterable[int]) -> None:
        for member in ids:
            member = int(member)
            if member in self._live:
                self._graph.mark_deleted(self._label[member])
                self._live.discard(member)

    def search(self, vector: np.ndarray, k: int, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(member ids, cosine similarities) of the ``k`` nearest, best first, ``exclude`` left out."""
        wanted = min(k + (1 if exclude is not None and exclude in self._live else 0), len(self._live))
        if wanted <= 0 or not np.any(vector):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        self._graph.set_ef(max(self.ef_search, wanted))
        labels, distances = self._graph.knn_query(np.asarray(vector, dtype=np.float32).reshape(1, -1), k=wanted)
        ids = np.array([self._members[int(label)] for label in labels[0]], dtype=np.int64)
        similarity = 1.0 - distances[0].astype(np.float64)
        keep = ids != exclude if exclude is not None else np.ones(len(ids), dtype=bool)
        return ids[keep][:k], similarity[keep][:k]
