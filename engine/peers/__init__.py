"""Standard recommenders our engine is measured against: popularity, EASE and ALS (implicit)."""
from engine.peers.als import ALSPeer
from engine.peers.ease import EASEPeer
from engine.peers.popularity import PopularityPeer

__all__ = ["ALSPeer", "EASEPeer", "PopularityPeer"]
