"""Rendering results as text (terminal, local shell) and, later, Discord embeds."""
