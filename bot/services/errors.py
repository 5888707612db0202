"""Errors a member or operator may see: each says what is wrong and what to do."""
from __future__ import annotations


class UserError(Exception):
    """Bad input or a state the user can fix; shown as is, nothing was changed."""


class UnknownMovie(UserError):
    pass


class SlowDown(UserError):
    """A member sent feedback faster than the per-member limit; nothing was saved for this one."""


class NotSaved(Exception):
    """The feedback could not be stored (e.g. the database is down); the user must be told."""
