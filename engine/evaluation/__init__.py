"""Offline evaluation of our engine beside its peers (warm and cold protocols)."""
