"""Services: each use case in one place, owning its transaction; called by cogs, the CLI and the shell."""
