"""`cinesync shell` driven through its standard input, as a person without a Discord token would use it."""
from __future__ import annotations

import asyncio
import os
import sys


async def test_shell_through_stdin(small_app, test_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    user = 760000000000000001
    script = "\n".join([
        "/rate heat 5", "/rate se7en 4.5", "/rate the usual suspects love", "/rate toy story like", "/rate braveheart 2",
        "/rate qqzzxx vvkkjj 4",            # unknown movie: a clear message
        "/rate",                             # quick rating flow
        "1",                                 # Love the first movie shown
        "7",                                 # Stop
        "/my_recommendations count:5 mood:dark",
        "6",                                 # Send to my DMs
        "react love",
        "/my_stats",
        "/nonsense",
        "/forget_me", "1",
        "quit",
    ]) + "\n"
    env = dict(os.environ, DATABASE_URL=small_app.db.dsn, CINESYNC_HOME=str(test_settings.home), CINESYNC_LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "shell", "--user", str(user), "--files", str(tmp_path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await asyncio.wait_for(process.communicate(script.encode()), timeout=300)
    text = out.decode()
    assert process.returncode == 0, err.decode()[-2000:]
    assert "Saved 5★ ★★★★★ for Heat (1995)" in text
    assert "Saved ❤️ love (5★) for The Usual Suspects (1995)" in text
    assert "matches 'qqzzxx vvkkjj'" in text
    assert "[pressed ❤️ Love]" in text and "Quick rating finished" in text
    assert "dark · " in text and "% match" in text
    assert "📬 DM from CineSync:" in text and "[reacted ❤️ to the DM: saved as feedback]" in text
    assert "Your taste profile" in text and (tmp_path / "taste.png").read_bytes()[:4] == b"\x89PNG"
    assert "unknown command /nonsense" in text
    assert "Your data is deleted" in text
    assert await small_app.services.privacy.rows_about(user) == 0
    assert "Seven (1995)" in text and "a.k.a." not in text  # titles are shown without their aliases


async def test_run_without_a_token_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["CINESYNC_HOME"] = str(tmp_path)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 2
    assert "DISCORD_TOKEN is not set" in err.decode() and "cinesync shell" in err.decode()


def test_shell_refuses_a_member_id_that_is_not_positive() -> None:
    """Issue 11 #9: `cinesync shell --user 0` (or -5) ended in a traceback; now a one-line usage error."""
    from typer.testing import CliRunner

    from bot.cli import app

    for value in ("0", "-5"):
        result = CliRunner().invoke(app, ["shell", "--user", value])
        assert result.exit_code == 2 and "--user" in result.output and "Traceback" not in result.output, result.output


async def test_shell_import_compare_and_movie_night_with_votes(small_app, test_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 13's walk-through without Discord: an import, a compare, and a movie night where others vote (`as`)."""
    from tests.test_history_import import letterboxd_zip

    me, friend, third = 760000000000000101, 760000000000000102, 760000000000000103
    export = tmp_path / "letterboxd.zip"
    export.write_bytes(letterboxd_zip())
    script = "\n".join([
        f"/import {export}",
        *(f"as {who} /rate {title} {stars}" for who in (friend, third) for title, stars in (
            ("the usual suspects", 5), ("heat", 4.5), ("toy story", 2), ("braveheart", 4), ("fargo", 5), ("jumanji", 1))),
        "/rate braveheart 4", "/rate fargo 4.5", "/rate jumanji 2", "/rate the usual suspects 5",
        f"/compare {friend}",
        f"/movienight {friend} {third} options:3",
        "1", f"as {friend} 1", f"as {third} 2",
        "quit",
    ]) + "\n"
    env = dict(os.environ, DATABASE_URL=small_app.db.dsn, CINESYNC_HOME=str(test_settings.home), CINESYNC_LOG_LEVEL="WARNING",
               CINESYNC_RATE_COOLDOWN_SECONDS="0")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "shell", "--user", str(me), "--files", str(tmp_path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await asyncio.wait_for(process.communicate(script.encode()), timeout=300)
    text = out.decode()
    assert process.returncode == 0, err.decode()[-2000:]
    assert "Imported letterboxd.zip" in text and "3 imported" in text and "Barbie (2023)" in text
    assert "% taste match" in text and "Both loved" in text
    assert "Movie night: vote" in text and "1 of 3 voted" in text and "wins" in text, text[-3000:]
    for who in (me, friend, third):
        await small_app.services.privacy.forget(who)
