"""Named SQL queries from `sql/*.sql`, loaded once.

A query is introduced by ``-- name: query_name(param, other)`` followed by an optional
suffix that says how it runs (aiosql's conventions):

=========  =========================================
suffix     runs as
=========  =========================================
(none)     ``fetch``: a list of records
``^``      ``fetchrow``: one record or None
``$``      ``fetchval``: one value
``!``      ``execute``: the status string
``*!``     ``executemany`` over a list of parameter dicts
``#``      a script without parameters
=========  =========================================

Parameters are written ``:name`` and passed by keyword; they are bound as ``$n`` by the
driver, so no SQL is ever built from user text. Call as ``await queries().name(conn, **params)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg

from bot.paths import sql_dir

_HEADER = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\((?P<params>[a-z0-9_, ]*)\)(?P<op>\*!|[\^$!#]?)\s*$", re.M)
# a parameter is ':name' not preceded by ':' (a cast), outside quotes and comments
_TOKEN = re.compile(r"--[^\n]*|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|(?<![:\w]):(?P<param>[a-z_][a-z0-9_]*)")


class QueryError(RuntimeError):
    """A `.sql` file is malformed (names the file and query)."""


@dataclass(frozen=True)
class Query:
    name: str
    op: str
    params: tuple[str, ...]
    sql: str  # with $n placeholders
    source: str

    def bind(self, kwargs: dict[str, Any]) -> list[Any]:
        missing = [p for p in self.params if p not in kwargs]
        extra = [k for k in kwargs if k not in self.params]
        if missing or extra:
            raise TypeError(f"query {self.name} takes ({', '.join(self.params)}); missing {missing}, unexpected {extra}")
        return [kwargs[p] for p in self.params]

    async def __call__(self, conn: asyncpg.Connection, **kwargs: Any) -> Any:
        if self.op == "*!":
            rows = kwargs.pop("rows")
            return await conn.executemany(self.sql, [self.bind(r) for r in rows])
        args = self.bind(kwargs)
        if self.op == "#":
            return await conn.execute(self.sql)
        if self.op == "!":
            return await conn.execute(self.sql, *args)
        if self.op == "$":
            return await conn.fetchval(self.sql, *args)
        if self.op == "^":
            return await conn.fetchrow(self.sql, *args)
        return await conn.fetch(self.sql, *args)


def _compile(name: str, declared: tuple[str, ...], body: str, where: str) -> str:
    used: list[str] = []

    def replace(match: re.Match[str]) -> str:
        param = match.group("param")
        if param is None:
            return match.group(0)
        if param not in declared:
            raise QueryError(f"{where}: query {name} uses :{param}, which its name line does not declare")
        if param not in used:
            used.append(param)
        return f"${declared.index(param) + 1}"

    sql = _TOKEN.sub(replace, body)
    unused = set(declared) - set(used)
    if unused:
        raise QueryError(f"{where}: query {name} declares {sorted(unused)} but never uses them")
    return sql.strip()


def parse_file(path: Path) -> dict[str, Query]:
    text = path.read_text(encoding="utf-8")
    headers = list(_HEADER.finditer(text))
    found: dict[str, Query] = {}
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        body = text[header.end() : end]
        name = header["name"]
        declared = tuple(p.strip() for p in header["params"].split(",") if p.strip())
        where = f"{path.name}:{text.count(chr(10), 0, header.start()) + 1}"
        found[name] = Query(name, header["op"], declared, _compile(name, declared, body, where), where)
    return found


class Queries:
    """All queries of a folder as attributes."""

    def __init__(self, folder: Path) -> None:
        self._queries: dict[str, Query] = {}
        for path in sorted(folder.glob("*.sql")):
            for name, query in parse_file(path).items():
                if name in self._queries:
                    raise QueryError(f"query {name} is defined in {query.source} and {self._queries[name].source}")
                self._queries[name] = query

    def __getattr__(self, name: str) -> Query:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"no query named {name} in sql/") from None

    def names(self) -> list[str]:
        return sorted(self._queries)


@cache
def queries() -> Queries:
    return Queries(sql_dir())
