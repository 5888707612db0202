"""Running the real bot without Discord: gateway payloads in, HTTP requests captured.

discord.py receives events as gateway payloads and answers over HTTP. `OfflineDiscord`
stands in for both ends: it builds the payloads Discord would send (INTERACTION_CREATE for
slash commands, autocomplete, buttons and selects; MESSAGE_REACTION_ADD/REMOVE), feeds them
to the bot's connection-state parser, and answers discord.py's HTTP calls at the lowest layer
(`HTTPClient.request` and `AsyncWebhookAdapter.request`) the way Discord does, recording the
JSON it was sent. Our cogs, discord.py's option parsing and our rendering all run for real.

The tests, `cinesync bench` (interaction latency) and `cinesync shell` all use it.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Iterable

import discord
from discord import app_commands
from discord.http import Route
from discord.webhook.async_ import AsyncWebhookAdapter

APPLICATION_ID = 900000000000000001
BOT_USER_ID = 900000000000000001
GUILD_ID = 910000000000000001
CHANNEL_ID = 920000000000000001
EPHEMERAL = 64
HANDLER_TASKS = ("CommandTree-invoker", "discord-ui-view-dispatch-", "discord.py: on_", "cinesync-note-")
_snowflakes = itertools.count(int(time.time() * 1000 - 1420070400000) << 22)


def snowflake() -> int:
    return next(_snowflakes)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def user_payload(user_id: int, name: str | None = None, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name or f"member{user_id % 10000}", "discriminator": "0",
            "global_name": name, "avatar": None, "bot": bot, "public_flags": 0}


@dataclass
class Captured:
    """One HTTP request discord.py made, with the JSON body it sent."""

    method: str
    path: str
    url: str
    json: dict[str, Any] | list[Any] | None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    token: str | None = None
    at: float = field(default_factory=time.perf_counter)
    status: int = 200  # what the stand-in answered (403: Discord refused it)
    message_id: int | None = None  # the message this request created or edited

    @property
    def ephemeral(self) -> bool:
        body = self.json if isinstance(self.json, dict) else {}
        data = body.get("data", body) or {}
        return bool((data.get("flags") or 0) & EPHEMERAL)

    @property
    def message(self) -> dict[str, Any]:
        """The message part of the body (a callback's ``data`` or a webhook/channel message)."""
        body = self.json if isinstance(self.json, dict) else {}
        return body.get("data", body) if "type" in body and "data" in body else body

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.get("components") or []

    @property
    def content(self) -> str:
        return self.message.get("content") or ""

    def buttons(self) -> list[dict[str, Any]]:
        return [c for row in self.components for c in row.get("components", []) if c.get("type") == 2]

    def text(self) -> str:
        """Everything a member would read in it, flattened (for assertions)."""
        parts = [self.content]
        for e in self.embeds:
            parts += [e.get("title", ""), e.get("description", ""), (e.get("footer") or {}).get("text", "")]
            parts += [f"{f['name']}: {f['value']}" for f in e.get("fields", [])]
        return "\n".join(p for p in parts if p)


@dataclass
class Exchange:
    """What the bot sent while handling one event."""

    interaction_id: int | None
    token: str | None
    sent_at: float
    requests: list[Captured]

    @property
    def first_response_seconds(self) -> float | None:
        """From the payload arriving to the first HTTP response discord.py sent for it."""
        own = [r for r in self.requests if self.token is None or r.token == self.token]
        return (own[0].at - self.sent_at) if own else None

    @property
    def callback(self) -> Captured | None:
        return next((r for r in self.requests if r.path.endswith("/callback")), None)

    @property
    def last(self) -> Captured:
        shown = [r for r in self.requests
                 if r.status == 200 and r.message and (r.embeds or r.content or r.components or r.files)]
        if not shown:
            raise AssertionError(f"the bot showed nothing: {[(r.method, r.path) for r in self.requests]}")
        return shown[-1]

    def text(self) -> str:
        return "\n".join(r.text() for r in self.requests if r.message and r.status == 200)


class LoopLag:
    """How late the event loop was for a 10 ms sleep while this context was open: the longest, and
    every lateness (``lags``: (perf_counter when it woke, seconds late)) for percentiles, so a slow
    answer can be told apart as the loop's (blocked by work on it, or kept from the GIL) or the database's.

    With ``stacks_after`` (seconds), a watchdog thread also keeps what every thread was running the
    first time the loop had not ticked for that long in each stall (``stalls``): the
    loop's own frame names work done on the loop; a loop frame at an ordinary wait, with another thread
    deep in a C call, names a thread that held the GIL."""

    def __init__(self, stacks_after: float | None = None) -> None:
        self.worst = 0.0
        self.lags: list[tuple[float, float]] = []
        self.stalls: list[tuple[float, str, str]] = []  # (seconds silent when seen, loop's frame, all stacks)
        self._stacks_after = stacks_after
        self._beat = time.perf_counter()
        self._task: asyncio.Task[None] | None = None
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            woke = self._beat = time.perf_counter()
            late = max(0.0, woke - started - 0.01)
            self.lags.append((woke, late))
            self.worst = max(self.worst, late)

    def _watch_stacks(self, loop_thread: int, after: float) -> None:
        noted = None  # the heartbeat of the stall already noted
        while not self._stop.wait(after / 10):  # a stall just past ``after`` is still seen
            beat = self._beat
            silent = time.perf_counter() - beat
            if silent >= after and beat != noted:
                noted = beat
                frames = sys._current_frames()
                names = {t.ident: t.name for t in threading.enumerate()}
                text, where = [], "?"
                for ident, frame in frames.items():
                    if ident == threading.get_ident():
                        continue
                    label = "event loop" if ident == loop_thread else names.get(ident, str(ident))
                    text.append(f"--- {label}\n" + "".join(traceback.format_stack(frame, limit=12)))
                    if ident == loop_thread:
                        where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
                self.stalls.append((silent, where, "\n".join(text)))

    def longest_stall(self) -> tuple[float, str, str]:
        """(seconds silent, the loop's innermost frame, every thread's stack) of the longest stall noted;
        (0.0, "", "") if none was."""
        return max(self.stalls, key=lambda stall: stall[0]) if self.stalls else (0.0, "", "")

    async def __aenter__(self) -> "LoopLag":
        self._beat = time.perf_counter()
        self._task = asyncio.create_task(self._watch())
        if self._stacks_after is not None:
            self._watchdog = threading.Thread(target=self._watch_stacks, args=(threading.get_ident(), self._stacks_after),
                                              name="loop-lag-watchdog", daemon=True)
            self._watchdog.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._task is not None
        self._task.cancel()
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join()


class OfflineDiscord:
    """A Discord stand-in for one bot: start it, send it events, read what it answered."""

    def __init__(self, bot: Any, *, guild_id: int = GUILD_ID, channel_id: int = CHANNEL_ID,
                 response_deadline: float = 3.0) -> None:
        self.bot, self.guild_id, self.channel_id = bot, guild_id, channel_id
        self.voice_channel_id = channel_id + 1
        # as Discord: an interaction not answered within this many seconds is gone (404, code 10062),
        # and follow-ups of an interaction never answered have no webhook to go to (404, code 10015)
        self.response_deadline = response_deadline
        self._created: dict[str, float] = {}  # interaction token -> when the payload was sent
        self.uploads: dict[str, dict[str, Any]] = {}  # attachment id -> what Discord describes
        self.cdn: dict[str, bytes] = {}  # attachment URL -> its bytes
        self._answered: set[str] = set()
        self.requests: list[Captured] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.closed_dms: set[int] = set()  # members whose DMs refuse the bot (403, code 50007)
        self.dm_channels: dict[int, int] = {}
        self._original_webhook_request = AsyncWebhookAdapter.request
        self._tokens: dict[str, int] = {}  # interaction token -> interaction id
        self._original: dict[str, int] = {}  # interaction token -> its original response message
        self._component_message: dict[str, int] = {}  # component interaction token -> the pressed message

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> "OfflineDiscord":
        """Log in (runs the bot's setup_hook) with both HTTP layers answered here."""
        self.bot.http.request = self._http_request
        self.bot.http.get_from_cdn = self._cdn_get
        offline = self

        async def webhook_request(adapter: Any, route: Route, session: Any = None, **kwargs: Any) -> Any:
            return await offline._webhook_request(route, **kwargs)

        AsyncWebhookAdapter.request = webhook_request  # type: ignore[method-assign]
        await self.bot.login("offline-token")
        return self

    async def close(self) -> None:
        await self.bot.close()
        AsyncWebhookAdapter.request = self._original_webhook_request  # type: ignore[method-assign]

    async def __aenter__(self) -> "OfflineDiscord":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # ------------------------------------------------------------------ what discord.py sends
    def _record(self, route: Route, body: Any, files: Iterable[Any] = (), token: str | None = None) -> Captured:
        read = []
        for f in files or ():
            f.reset()
            read.append((f.filename, f.fp.read()))
        captured = Captured(route.method, route.path, route.url, body, read, token)
        self.requests.append(captured)
        return captured

    def _message(self, channel_id: int, body: dict[str, Any], files: list[tuple[str, bytes]], *,
                 flags: int = 0, interaction: dict[str, Any] | None = None, message_id: int | None = None) -> dict[str, Any]:
        message_id = message_id or snowflake()
        attachments = [{"id": str(snowflake()), "filename": name, "size": len(data), "url": f"https://cdn.invalid/{name}",
                        "proxy_url": f"https://cdn.invalid/{name}"} for name, data in files]
        payload = {
            "id": str(message_id), "channel_id": str(channel_id), "author": user_payload(BOT_USER_ID, "CineSync", bot=True),
            "content": body.get("content") or "", "timestamp": _now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": attachments,
            "embeds": body.get("embeds") or [], "pinned": False, "type": 20 if interaction else 0,
            "flags": (body.get("flags") or 0) | flags, "components": body.get("components") or [],
            "application_id": str(APPLICATION_ID),
        }
        if interaction:
            payload["interaction_metadata"] = interaction
        self.messages[message_id] = payload
        return payload

    async def _http_request(self, route: Route, *, files: Any = None, form: Any = None, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        if form:
            body = json.loads(next(f["value"] for f in form if f["name"] == "payload_json"))
        self._record(route, body, files or ())
        key = (route.method, route.path)
        if key == ("GET", "/users/@me"):
            return user_payload(BOT_USER_ID, "CineSync", bot=True)
        if key == ("GET", "/oauth2/applications/@me"):
            return {"id": str(APPLICATION_ID), "name": "CineSync", "description": "", "icon": None, "bot_public": True,
                    "bot_require_code_grant": False, "owner": user_payload(1, "owner"), "verify_key": "0" * 64,
                    "flags": 0, "summary": ""}
        if route.method == "PUT" and route.path.endswith("/commands"):
            return [dict(c, id=str(snowflake()), application_id=str(APPLICATION_ID), version=str(snowflake()))
                    for c in (body or [])]
        if key == ("POST", "/users/@me/channels"):
            recipient = int(body["recipient_id"])
            channel = self.dm_channels.setdefault(recipient, snowflake())
            return {"id": str(channel), "type": 1, "recipients": [user_payload(recipient)], "last_message_id": None}
        if key == ("POST", "/channels/{channel_id}/messages"):
            channel = int(route.channel_id)  # type: ignore[arg-type]
            owner = next((u for u, c in self.dm_channels.items() if c == channel), None)
            if owner in self.closed_dms:
                self.requests[-1].status = 403
                raise discord.Forbidden(SimpleNamespace(status=403, reason="Forbidden"),
                                        {"code": 50007, "message": "Cannot send messages to this user"})
            message = self._message(channel, body or {}, self.requests[-1].files)
            self.requests[-1].message_id = int(message["id"])
            return message
        if key == ("PATCH", "/channels/{channel_id}/messages/{message_id}"):  # a message the bot posted, edited
            message_id = self.requests[-1].message_id = int(route.url.rsplit("/", 1)[-1])
            current = self.messages.get(message_id)
            if current is None:
                self.requests[-1].status = 404
                raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"),
                                       {"code": 10008, "message": "Unknown Message"})
            merged = dict(current, **{k: v for k, v in (body or {}).items() if k in ("content", "embeds", "components")})
            self.messages[message_id] = merged
            return merged
        if route.method == "GET" and route.path == "/users/{user_id}":
            return user_payload(int(route.url.rsplit("/", 1)[-1]))
        return None  # reactions and other calls answer 204 No Content

    async def _webhook_request(self, route: Route, *, payload: Any = None, multipart: Any = None,
                               files: Any = None, **kwargs: Any) -> Any:
        body = payload
        if multipart:
            body = json.loads(next(p["value"] for p in multipart if p["name"] == "payload_json"))
        token = route.webhook_token
        captured = self._record(route, body, files or (), token)
        interaction_id = self._tokens.get(token or "")
        if token in self._created:
            self._enforce_deadline(route, captured, token)
        metadata = {"id": str(interaction_id), "type": 2, "user": user_payload(0)} if interaction_id else None
        if route.path.endswith("/callback"):
            kind = body["type"]
            data = body.get("data") or {}
            answer: dict[str, Any] = {"interaction": {"id": str(route.webhook_id), "type": 2,
                                                      "response_message_loading": kind == 5,
                                                      "response_message_ephemeral": bool((data.get("flags") or 0) & EPHEMERAL)},
                                      "resource": {"type": kind}}
            if kind in (4, 5):  # a new message (5: "thinking" until the follow-up)
                message = self._message(self.channel_id, data, captured.files, interaction=metadata)
                answer["interaction"]["response_message_id"] = message["id"]
                answer["resource"]["message"] = message
                self._original[token] = captured.message_id = int(message["id"])  # type: ignore[index]
            elif kind == 7:  # the component's message, edited in place
                source = self._component_message.get(token or "")
                if source is not None:
                    message = dict(self.messages[source], **{k: v for k, v in data.items() if k in ("content", "embeds", "components")})
                    self.messages[source] = message
                    captured.message_id = source
                    answer["interaction"]["response_message_id"] = message["id"]
                    answer["resource"]["message"] = message
            return answer
        if route.path.endswith("/messages/@original"):
            # a component's interaction: its original message is the one the pressed button is on
            original = self._original.get(token or "", self._component_message.get(token or ""))
            if route.method == "DELETE" or original is None:
                return None
            current = self.messages.get(original, {})
            if route.method == "PATCH":
                captured.message_id = original
                return self._message(self.channel_id, dict(current, **(body or {})), captured.files,
                                     interaction=metadata, message_id=original)
            return current
        if route.method == "POST" and route.path == "/webhooks/{webhook_id}/{webhook_token}":  # a follow-up
            message = self._message(self.channel_id, body or {}, captured.files, interaction=metadata)
            captured.message_id = int(message["id"])
            return message
        if route.method == "PATCH" and "/messages/" in route.path:
            message_id = captured.message_id = int(route.url.rsplit("/", 1)[-1].split("?")[0])
            return self._message(self.channel_id, dict(self.messages.get(message_id, {}), **(body or {})),
                                 captured.files, interaction=metadata, message_id=message_id)
        return None

    def _enforce_deadline(self, route: Route, captured: Captured, token: str) -> None:
        if route.path.endswith("/callback"):
            if time.perf_counter() - self._created[token] > self.response_deadline:
                captured.status = 404
                raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"),
                                       {"code": 10062, "message": "Unknown interaction"})
            self._answered.add(token)
        elif token not in self._answered:
            captured.status = 404
            raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"),
                                   {"code": 10015, "message": "Unknown Webhook"})

    # ------------------------------------------------------------------ what Discord sends
    def _base(self, kind: int, user_id: int, data: dict[str, Any], *, dm: bool, permissions: int) -> dict[str, Any]:
        interaction_id = snowflake()
        token = f"token-{interaction_id}"
        self._tokens[token] = interaction_id
        self._created[token] = time.perf_counter()
        user = user_payload(user_id)
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(APPLICATION_ID), "type": kind, "token": token, "version": 1,
            "data": data, "locale": "en-US", "entitlements": [], "app_permissions": str(discord.Permissions.all().value),
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if dm:
            channel = self.dm_channels.setdefault(user_id, snowflake())
            payload.update(channel_id=str(channel), channel={"id": str(channel), "type": 1, "recipients": [user]},
                           user=user, context=1, authorizing_integration_owners={"1": str(user_id)})
        else:
            payload.update(guild_id=str(self.guild_id), guild_locale="en-US", channel_id=str(self.channel_id),
                           channel={"id": str(self.channel_id), "type": 0, "guild_id": str(self.guild_id), "name": "movies",
                                    "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None},
                           member={"user": user, "roles": [], "joined_at": _now(), "deaf": False, "mute": False,
                                   "flags": 0, "permissions": str(permissions)},
                           context=0, authorizing_integration_owners={"0": str(self.guild_id)})
        return payload

    def _options(self, command: Any, values: dict[str, Any], focused: str | None) -> list[dict[str, Any]]:
        options = []
        for name, value in values.items():
            if value is None:
                continue
            parameter = command.get_parameter(name)
            if parameter is None:
                raise ValueError(f"/{command.qualified_name} has no option '{name}'")
            if parameter.type == discord.AppCommandOptionType.user:
                value = str(value)  # a member mention arrives as their id
            if parameter.type == discord.AppCommandOptionType.attachment:
                value = self._upload(*value)  # (file name, bytes): uploaded, then referred to by id
            option = {"name": name, "type": parameter.type.value, "value": value}
            if name == focused:
                option["focused"] = True
            options.append(option)
        return options

    def command_data(self, name: str, values: dict[str, Any], focused: str | None = None) -> dict[str, Any]:
        """INTERACTION_CREATE data for '/name' or '/group sub' with typed options."""
        parts = name.split()
        command: Any = self.bot.tree.get_command(parts[0])
        if command is None:
            raise ValueError(f"no slash command /{parts[0]}")
        nested: list[tuple[str, int]] = []
        for part in parts[1:]:
            command = command.get_command(part)
            if command is None:
                raise ValueError(f"no slash command /{name}")
            nested.append((part, 2 if isinstance(command, app_commands.Group) else 1))
        options = self._options(command, values, focused)
        mentioned = [int(o["value"]) for o in options if o["type"] == discord.AppCommandOptionType.user.value]
        uploaded = [o["value"] for o in options if o["type"] == discord.AppCommandOptionType.attachment.value]
        for part, kind in reversed(nested):
            options = [{"name": part, "type": kind, "options": options}]
        data: dict[str, Any] = {"id": str(snowflake()), "name": parts[0], "type": 1, "options": options}
        if uploaded:  # an attachment option: its id, the file described beside it, its bytes on the CDN
            data.setdefault("resolved", {})["attachments"] = {a: self.uploads[a] for a in uploaded}
        if mentioned:  # as Discord sends a user option: the id, with the user and member resolved beside it
            data.setdefault("resolved", {}).update({
                "users": {str(u): user_payload(u) for u in mentioned},
                "members": {str(u): {"roles": [], "joined_at": _now(), "deaf": False, "mute": False, "flags": 0,
                                     "permissions": "0"} for u in mentioned}})
        return data

    def _upload(self, filename: str, data: bytes) -> str:
        attachment_id = str(snowflake())
        url = f"https://cdn.invalid/attachments/{attachment_id}/{filename}"
        self.uploads[attachment_id] = {"id": attachment_id, "filename": filename, "size": len(data), "url": url,
                                       "proxy_url": url, "content_type": "application/octet-stream"}
        self.cdn[url] = data
        return attachment_id

    async def _cdn_get(self, url: str) -> bytes:
        if url not in self.cdn:
            raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), "asset not found")
        return self.cdn[url]

    async def _feed(self, event: str, payload: dict[str, Any], *, wait: bool = True, timeout: float = 60.0) -> Exchange:
        before = set(asyncio.all_tasks())
        count = len(self.requests)
        sent = time.perf_counter()
        self.bot._connection.parsers[event](payload)
        if wait:
            await self.settle(before, timeout)
        token = payload.get("token")
        mine = [r for r in self.requests[count:] if token is None or r.token in (None, token)]
        interaction = int(payload["id"]) if "id" in payload and event == "INTERACTION_CREATE" else None
        return Exchange(interaction, token, sent, mine)

    async def settle(self, before: set[asyncio.Task[Any]] | None = None, timeout: float = 60.0) -> None:
        """Wait for the handlers the last event started (and what they started), not for view timeouts."""
        seen = set(before or ())
        deadline = time.perf_counter() + timeout
        while True:
            await asyncio.sleep(0)
            pending = [t for t in asyncio.all_tasks() - seen
                       if not t.done() and t.get_name().startswith(HANDLER_TASKS)]
            if not pending:
                return
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"the bot did not finish handling the event in {timeout} s")
            await asyncio.wait(pending, timeout=remaining)

    async def command(self, user_id: int, name: str, *, dm: bool = False, permissions: int = 0, wait: bool = True,
                      **values: Any) -> Exchange:
        payload = self._base(2, user_id, self.command_data(name, values), dm=dm, permissions=permissions)
        return await self._feed("INTERACTION_CREATE", payload, wait=wait)

    async def autocomplete_exchange(self, user_id: int, name: str, focused: str, **values: Any) -> Exchange:
        """An autocomplete request for option ``focused`` as the member types ``values[focused]``."""
        payload = self._base(4, user_id, self.command_data(name, values, focused), dm=False, permissions=0)
        return await self._feed("INTERACTION_CREATE", payload)

    async def autocomplete(self, user_id: int, name: str, focused: str, **values: Any) -> list[dict[str, Any]]:
        """The choices the bot offered."""
        callback = (await self.autocomplete_exchange(user_id, name, focused, **values)).callback
        assert callback is not None and callback.json["type"] == 8, "autocomplete got no choices"  # type: ignore[index]
        return callback.json["data"]["choices"]  # type: ignore[index]

    async def click(self, user_id: int, message: dict[str, Any] | int, custom_id: str, *, values: list[str] | None = None,
                    dm: bool = False) -> Exchange:
        """Press a button (or choose ``values`` in a select) on a message the bot sent."""
        message = self.messages[int(message)] if isinstance(message, (int, str)) else message
        kind = 3 if values is not None else 2
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind}
        if values is not None:
            data["values"] = values
        payload = self._base(3, user_id, data, dm=dm, permissions=0)
        payload["message"] = message
        self._component_message[payload["token"]] = int(message["id"])
        return await self._feed("INTERACTION_CREATE", payload)

    async def react(self, user_id: int, message_id: int, emoji: str, *, added: bool = True) -> Exchange:
        """A member adds (or removes) a reaction on a message in their DM with the bot."""
        message = self.messages.get(message_id, {})
        payload = {"user_id": str(user_id), "channel_id": message.get("channel_id", str(self.dm_channels.get(user_id, 0))),
                   "message_id": str(message_id), "emoji": {"id": None, "name": emoji}, "burst": False, "type": 0,
                   "message_author_id": str(BOT_USER_ID)}
        return await self._feed("MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE", payload)

    def message_for(self, exchange: Exchange) -> dict[str, Any]:
        """The stored message that the exchange's last visible answer created or edited."""
        return self.message_for_request(exchange.last)

    def message_for_request(self, request: Captured) -> dict[str, Any]:
        if request.message_id is None or request.message_id not in self.messages:
            raise AssertionError(f"{request.method} {request.path} created no message")
        return self.messages[request.message_id]

    async def join_voice(self, user_ids: Iterable[int], voice_channel_id: int | None = None) -> int:
        """Members join a voice channel of the server, as the gateway tells a bot with the voice-states intent:
        the server first (GUILD_CREATE, once, with a text and a voice channel), then one VOICE_STATE_UPDATE
        per member. Returns the voice channel's id."""
        voice = voice_channel_id or self.voice_channel_id
        if self.bot.get_guild(self.guild_id) is None:
            everyone = {"id": str(self.guild_id), "name": "@everyone", "permissions": str(discord.Permissions.general().value),
                        "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
            channels = [{"id": str(self.channel_id), "type": 0, "name": "movies", "position": 0, "permission_overwrites": [],
                         "nsfw": False, "parent_id": None},
                        {"id": str(voice), "type": 2, "name": "Cinema", "position": 1, "permission_overwrites": [],
                         "nsfw": False, "parent_id": None, "bitrate": 64000, "user_limit": 0}]
            bot_member = {"user": user_payload(BOT_USER_ID, "CineSync", bot=True), "roles": [], "joined_at": _now(),
                          "deaf": False, "mute": False, "flags": 0}
            await self._feed("GUILD_CREATE", {
                "id": str(self.guild_id), "name": "Film club", "owner_id": "1", "roles": [everyone], "channels": channels,
                "members": [bot_member], "voice_states": [], "emojis": [], "stickers": [], "features": [],
                "member_count": 2, "large": False, "unavailable": False, "threads": [], "stage_instances": [],
                "guild_scheduled_events": [], "soundboard_sounds": [], "verification_level": 0,
                "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
                "premium_tier": 0, "preferred_locale": "en-US", "system_channel_flags": 0, "joined_at": _now()})
        for user_id in user_ids:
            await self._feed("VOICE_STATE_UPDATE", {
                "guild_id": str(self.guild_id), "channel_id": str(voice), "user_id": str(user_id),
                "member": {"user": user_payload(user_id), "roles": [], "joined_at": _now(), "deaf": False, "mute": False,
                           "flags": 0},
                "session_id": f"session-{user_id}", "deaf": False, "mute": False, "self_deaf": False, "self_mute": False,
                "self_video": False, "suppress": False, "request_to_speak_timestamp": None})
        return voice

    def dms_to(self, user_id: int) -> list[dict[str, Any]]:
        channel = self.dm_channels.get(user_id)
        return [m for m in self.messages.values() if channel is not None and m["channel_id"] == str(channel)]

