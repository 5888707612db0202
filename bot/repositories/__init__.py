"""Repositories: named SQL from `sql/`, each function taking the connection its caller owns."""
