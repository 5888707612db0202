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
