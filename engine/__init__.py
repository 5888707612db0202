"""The CineSync learning engine: pure numpy / torch / pandas.

Nothing here imports discord or asyncpg: services in `bot/` read state from the database,
call the engine, and write its results back.
"""
