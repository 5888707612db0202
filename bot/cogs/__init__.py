"""The bot's features, one package per cog; each package's `setup()` is in its `__init__.py`."""
