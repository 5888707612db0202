"""`cinesync shell`: the bot in a terminal, for anyone without a Discord token.

The person types the same slash commands a member would (`/rate heat 5`, `/rate`,
`/my_recommendations mood:dark`, `/my_stats`, `/forget_me`); each line becomes the gateway
payload Discord would send, goes through the real bot (cogs, services, database) via
`bot.offline.OfflineDiscord`, and what the bot answered is shown as text. Buttons are
numbered: type the number to press one, `pick N` to choose in a list, `react love` (or an
emoji) on the last DM. Charts and files are saved next to the session and their path shown.
"""
from __future__ import annotations

import re
import shlex
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterable, AsyncIterator, Callable, Iterable

from bot.offline import Captured, Exchange, OfflineDiscord

LOCAL_USER = 1_000_000_000_000_000_001
HELP = """commands (as on Discord):
  /rate <title> <rating>        rating: 0.5 to 5, or love, like, meh, dislike, hate
  /rate                         quick rating round (press the numbers)
  /my_recommendations [count:N] [mood:dark] [genre:Comedy]
  /my_stats                     your taste profile (chart saved as a PNG)
  /my_ratings [stars:4] [genre:drama]   /unrate <title>   /movie <title>
  /watchlist add|list|remove <title>
  /import <path to a Letterboxd zip/CSV or IMDb ratings.csv>   /export_my_data [format:letterboxd|imdb|json]
  /compare <member id>   /movienight <member id> <member id> [options:3] [minutes:30]
  /server top   /server settings weight:0.5   /privacy compare on|off
  /digest on|off   /forget_me
  /admin status | retrain | learn | sliders reload
then: a number presses that button, `pick N` chooses item N in a list,
`react <love|like|meh|dislike|hate|not_interested>` reacts to the last DM,
`as <member id> <line>` does one line as another member (votes at a movie night), `help`, `quit`."""
REACTION_WORDS = {"love": "❤️", "like": "👍", "meh": "😐", "dislike": "👎", "hate": "💀", "not_interested": "🚫"}


class ShellError(ValueError):
    """A line the shell cannot turn into a command; shown to the person as is."""


def plain(text: str) -> str:
    """Discord's markup as a terminal shows it: no bold, mentions as @member, timestamps as a time."""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text).replace("`", "")
    text = re.sub(r"<@!?(\d+)>", lambda m: f"@member{int(m.group(1)) % 10000}", text)
    return re.sub(r"<t:(\d+):\w>", lambda m: datetime.fromtimestamp(int(m.group(1)), timezone.utc).strftime("%H:%M UTC"), text)


def render(message: Captured) -> list[str]:
    """A message the bot sent, as terminal lines."""
    lines = [plain(message.content)] if message.content else []
    for embed in message.embeds:
        lines.append(f"┃ {plain(embed.get('title', ''))}")
        lines += [f"┃ {plain(line)}" for line in (embed.get("description") or "").splitlines()]
        for field in embed.get("fields", []):
            lines.append(f"┃ {field['name']}:")
            lines += [f"┃   {plain(line)}" for line in field["value"].splitlines()]
        if embed.get("footer"):
            lines.append(f"┃ ({plain(embed['footer']['text'])})")
    return lines


class LocalShell:
    def __init__(self, offline: OfflineDiscord, user_id: int = LOCAL_USER, files_dir: Path = Path("."),
                 write: Callable[[str], None] = print) -> None:
        self.offline, self.user_id, self.files_dir, self.write = offline, user_id, files_dir, write
        self.buttons: list[tuple[str, str]] = []  # (label, custom_id) on the last message with buttons
        self.options: list[tuple[str, str]] = []  # (label, value) of the last select
        self.select_id: str | None = None
        self.component_message: dict[str, Any] | None = None
        self.last_dm: int | None = None

    # ------------------------------------------------------------------ input
    def _arguments(self, name: str, tokens: list[str]) -> dict[str, Any]:
        command: Any = self.offline.bot.tree.get_command(name.split()[0])
        for part in name.split()[1:]:
            command = command.get_command(part) if command is not None else None
        if command is None:
            raise ShellError(f"unknown command /{name}; type help")
        parameters = {p.name: p for p in command.parameters}
        values: dict[str, Any] = {}
        positional = []
        for token in tokens:
            key, sep, value = token.partition(":")
            if sep and key in parameters:
                values[key] = value
            else:
                positional.append(token)
        free = [p for p in parameters if p not in values]
        if name == "rate" and positional and "rating" in free and len(positional) > 1:
            values["rating"] = positional.pop()  # /rate heat 5: the last word is the rating
            free.remove("rating")
        if positional:
            if not free:
                raise ShellError(f"/{name} takes no more arguments: {' '.join(positional)}")
            values[free[0]] = " ".join(positional) if len(free) == 1 or name == "rate" else positional[0]
            for key, token in zip(free[1:], positional[1:] if name != "rate" else []):
                values[key] = token
        for key, value in list(values.items()):
            if parameters[key].type.value == 4:  # integer options arrive as numbers
                try:
                    values[key] = int(value)
                except ValueError:
                    raise ShellError(f"{key} must be a whole number, not '{value}'") from None
            elif parameters[key].type.value == 6:  # a member: their id (a mention <@id> works too)
                digits = value.strip("<@!>")
                if not digits.isdigit():
                    raise ShellError(f"{key} must be a member id, not '{value}'")
                values[key] = int(digits)
            elif parameters[key].type.value == 11:  # a file to attach: read from this disk
                path = Path(value).expanduser()
                if not path.is_file():
                    raise ShellError(f"no file at {path}")
                values[key] = (path.name, path.read_bytes())
            elif parameters[key].type.value == 10:  # so do decimal ones
                try:
                    values[key] = float(value)
                except ValueError:
                    raise ShellError(f"{key} must be a number, not '{value}'") from None
        return values

    async def run_line(self, line: str) -> bool:
        """Handle one line; False when the session should end."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line in ("quit", "exit"):
            return False
        if line in ("help", "/help", "?"):
            self.write(HELP)
            return True
        try:
            await self._dispatch(line)
        except ShellError as exc:
            self.write(f"! {exc}")
        return True

    async def _dispatch(self, line: str) -> None:
        if line.startswith("as "):
            _as, who, rest = (line.split(maxsplit=2) + ["", ""])[:3]
            if not who.isdigit() or int(who) <= 0 or not rest:
                raise ShellError("as <member id> <line>, e.g. as 1000000000000000002 /rate heat 5")
            me, self.user_id = self.user_id, int(who)
            try:
                await self._dispatch(rest)
            finally:
                self.user_id = me
            return
        if line.isdigit():
            await self._press(int(line))
        elif line.startswith("pick "):
            await self._pick(line.split(maxsplit=1)[1])
        elif line.startswith("react "):
            await self._react(line.split(maxsplit=1)[1].strip())
        elif line.startswith("/"):
            tokens = shlex.split(line[1:])
            if not tokens:
                raise ShellError("type a command after /")
            name, rest = tokens[0], tokens[1:]
            group = self.offline.bot.tree.get_command(name)
            while group is not None and hasattr(group, "get_command") and rest and group.get_command(rest[0]) is not None:
                group = group.get_command(rest[0])
                name, rest = f"{name} {rest[0]}", rest[1:]
            exchange = await self.offline.command(self.user_id, name, **self._arguments(name, rest))
            self._show(exchange)
        else:
            raise ShellError("commands start with / (type help)")

    async def _press(self, number: int) -> None:
        if not self.buttons or self.component_message is None:
            raise ShellError("there are no buttons to press")
        if not 1 <= number <= len(self.buttons):
            raise ShellError(f"choose a button between 1 and {len(self.buttons)}")
        label, custom_id = self.buttons[number - 1]
        self.write(f"[pressed {label}]")
        self._show(await self.offline.click(self.user_id, self.component_message, custom_id))

    async def _pick(self, which: str) -> None:
        if not self.options or self.select_id is None or self.component_message is None:
            raise ShellError("there is no list to pick from")
        if not which.isdigit() or not 1 <= int(which) <= len(self.options):
            raise ShellError(f"pick a number between 1 and {len(self.options)}")
        label, value = self.options[int(which) - 1]
        self.write(f"[picked {label}]")
        self._show(await self.offline.click(self.user_id, self.component_message, self.select_id, values=[value]))

    async def _react(self, what: str) -> None:
        if self.last_dm is None:
            raise ShellError("no DM to react to yet: press 'Send to my DMs' under a recommendation first")
        emoji = REACTION_WORDS.get(what, what)
        if emoji not in REACTION_WORDS.values():
            raise ShellError(f"react with one of {', '.join(REACTION_WORDS)}")
        await self.offline.react(self.user_id, self.last_dm, emoji)
        self.write(f"[reacted {emoji} to the DM: saved as feedback]")

    # ------------------------------------------------------------------ output
    def _show(self, exchange: Exchange) -> None:
        shown_any = False
        for request in exchange.requests:
            if request.status != 200 or not (request.embeds or request.content or request.components or request.files):
                continue
            is_dm = request.path == "/channels/{channel_id}/messages"
            if is_dm:
                self.write("📬 DM from CineSync:")
            for text in render(request):
                self.write(("  " if is_dm else "") + text)
            for name, data in request.files:
                path = self.files_dir / name
                path.parent.mkdir(parents=True, exist_ok=True)  # --files may name a folder not made yet
                path.write_bytes(data)
                self.write(f"[file saved: {path}]")
            if request.components and not is_dm:
                self._remember_components(request)
            shown_any = True
        for message in self.offline.dms_to(self.user_id)[-1:]:
            self.last_dm = int(message["id"])
        if not shown_any:
            self.write("(no answer)")

    def _remember_components(self, request: Captured) -> None:
        self.component_message = self.offline.message_for_request(request)
        self.buttons = [(b["label"], b["custom_id"]) for b in request.buttons() if not b.get("disabled")]
        selects = [c for row in request.components for c in row.get("components", []) if c.get("type") == 3]
        self.select_id = selects[0]["custom_id"] if selects else None
        self.options = [(o["label"], o["value"]) for o in selects[0]["options"]] if selects else []
        if self.options:
            self.write("  list: " + " · ".join(o[0] for o in self.options[:3]) + " ... (pick N)")
        if self.buttons:
            self.write("  " + "  ".join(f"[{i}] {label}" for i, (label, _) in enumerate(self.buttons, 1)))

    async def run(self, lines: Iterable[str] | AsyncIterable[str], echo: bool = False) -> None:
        """Every line until ``quit`` or the end of input; ``echo`` shows each command (scripts, piped input)."""
        async def each() -> AsyncIterator[str]:
            if isinstance(lines, AsyncIterable):
                async for line in lines:
                    yield line
            else:
                for line in lines:
                    yield line

        async for line in each():
            if echo and line.strip():
                self.write(f"\n> {line.rstrip()}")
            if not await self.run_line(line):
                break
