"""The `cinesync` command: migrate, import, train, learn, eval, bench, run (Discord), shell (local), demo."""
from __future__ import annotations

import asyncio
import logging
import sys
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import typer

from bot.settings import Settings, SettingsError, configure_logging, load_settings

app = typer.Typer(help="CineSync: a Discord movie recommender with a learning engine.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
import_app = typer.Typer(help="Import movie catalogs and ratings.", no_args_is_help=True)
app.add_typer(import_app, name="import")

log = logging.getLogger("cinesync")


class UserFacingError(Exception):
    """An error whose message tells the operator what is wrong and how to fix it."""


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings)
    return settings


def _run(work: Callable[[Settings], Awaitable[Any]]) -> Any:
    """Load settings, run ``work`` on a fresh event loop, turn known failures into one clear line."""
    from bot.catalog.readers import CatalogFormatError
    from bot.db.migrate import MigrationError
    from bot.db.pool import DatabaseUnavailable

    settings = _settings()
    try:
        return asyncio.run(work(settings))
    except (UserFacingError, MigrationError, DatabaseUnavailable, CatalogFormatError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


async def _open(settings: Settings, *, require_schema: bool = True):  # type: ignore[no-untyped-def]
    from bot.db.migrate import status
    from bot.db.pool import open_database

    db = await open_database(settings)
    if require_schema:
        async with db.acquire() as conn:
            pending = (await status(conn)).pending
        if pending:
            await db.close()
            raise UserFacingError(
                f"{len(pending)} migration(s) pending ({', '.join(m.filename for m in pending)}): run `cinesync migrate` first"
            )
    return db


@asynccontextmanager
async def _trained_app(settings: Settings):  # type: ignore[no-untyped-def]
    """The app on the configured database, refusing clearly when no model was trained yet."""
    from bot.app import build_app

    app_ = await build_app(settings, await _open(settings))
    try:
        if app_.runtime.model is None:
            raise UserFacingError("no trained model: run `cinesync train` (or `cinesync demo`) first")
        yield app_
    finally:
        await app_.close()


# --------------------------------------------------------------------------- migrate

@app.command()
def migrate(
    show_status: bool = typer.Option(False, "--status", help="List applied and pending migrations; change nothing."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be applied; change nothing."),
    distribute: bool = typer.Option(False, "--distribute", help="Then, on a Citus coordinator, place every table: "
                                    "member tables distributed by user_id, the rest reference tables."),
) -> None:
    """Apply pending database migrations (the admin migration script)."""
    from bot.db.distribution import DistributionError, distribute as place
    from bot.db.migrate import migrate as apply, status

    async def work(settings: Settings) -> None:
        db = await _open(settings, require_schema=False)
        try:
            async with db.acquire() as conn:
                if show_status or dry_run:
                    state = await status(conn)
                    if show_status:
                        for row in state.applied:
                            typer.echo(f"applied  {row.version:04d}_{row.name}.sql  {row.applied_at:%Y-%m-%d %H:%M:%S}  {row.duration_ms} ms  sha256:{row.checksum[:12]}")
                    for migration in state.pending:
                        typer.echo(f"pending  {migration.filename}" + ("  (would apply)" if dry_run else ""))
                    if not state.pending:
                        typer.echo("database is up to date")
                    return
                applied = await apply(conn, on_apply=lambda m, ms: typer.echo(f"applied  {m.filename}  ({ms} ms)"))
                if not applied:
                    typer.echo("nothing to do: database is up to date")
                if distribute:
                    try:
                        placed = await place(conn)
                    except DistributionError as exc:
                        raise UserFacingError(str(exc)) from None
                    typer.echo(f"distributed by user_id on Citus: {len(placed)} tables placed")
        finally:
            await db.close()

    _run(work)


# --------------------------------------------------------------------------- import

def _print_report(report: Any, max_problems: int = 20) -> None:
    for problem in report.problems[:max_problems]:
        typer.echo(f"skipped  {problem}", err=True)
    if len(report.problems) > max_problems:
        typer.echo(f"... and {len(report.problems) - max_problems} more skipped rows", err=True)
    typer.echo(report.summary())


@import_app.command("movielens")
def import_movielens(
    folder: Path = typer.Argument(..., help="Folder in the MovieLens layout (movies.csv, links.csv, tags.csv, ratings.csv)."),
    imdb: Optional[Path] = typer.Option(None, "--imdb", help="IMDb 5000 movie_metadata.csv to enrich movies with."),
    with_ratings: bool = typer.Option(False, "--with-ratings", help="Also import ratings.csv."),
) -> None:
    """Import a MovieLens-format folder, optionally enriched with IMDb 5000 metadata."""
    from bot.services.catalog_import import import_movielens as run_import, make_recommendable

    async def work(settings: Settings) -> None:
        db = await _open(settings)
        try:
            _print_report(await run_import(db, folder, imdb, with_ratings=with_ratings))
            await make_recommendable(db, settings)
        finally:
            await db.close()

    _run(work)


@import_app.command("catalog")
def import_catalog(
    file: Path = typer.Argument(..., help="Catalog as CSV or JSON lines (optionally .gz); format in README.md."),
    ratings: Optional[Path] = typer.Option(None, "--ratings", help="Ratings in the MovieLens ratings.csv layout."),
) -> None:
    """Import an operator's own catalog; new films are recommendable at once (no retrain needed)."""
    from bot.services.catalog_import import import_catalog as run_import, make_recommendable

    async def work(settings: Settings) -> None:
        db = await _open(settings)
        try:
            _print_report(await run_import(db, file, ratings))
            films = await make_recommendable(db, settings)
            typer.echo(f"text embeddings: {films:,} films; running bots reload the catalog now")
        finally:
            await db.close()

    _run(work)


@import_app.command("history")
def import_history(
    file: Path = typer.Argument(..., help="A Letterboxd export (zip, ratings.csv, watched.csv, watchlist.csv) or IMDb ratings.csv."),
    user: int = typer.Option(..., "--user", min=1, help="The member's Discord id."),
    undo: bool = typer.Option(False, "--undo", help="Undo the member's latest import instead."),
) -> None:
    """Import a member's film history (as /import does), or undo their latest import."""
    from bot.app import build_app
    from bot.services.errors import UserError

    async def work(settings: Settings) -> None:
        db = await _open(settings)
        try:
            app = await build_app(settings, db)
            try:
                if undo:
                    typer.echo(f"undone: {await app.services.history.undo(user)} films back as they were")
                    return
                report = await app.services.history.import_file(user, file.name, file.read_bytes())
            except UserError as exc:
                raise UserFacingError(str(exc)) from None
            for problem in report.problems[:20]:
                typer.echo(f"skipped  {problem}", err=True)
            typer.echo(f"{report.read} entries read: {report.imported} imported, {report.already} already there, "
                       f"{report.watchlisted} added to the watchlist, {len(report.unmatched)} not in the catalog "
                       f"({', '.join(report.unmatched[:5])}{' ...' if len(report.unmatched) > 5 else ''}); "
                       f"{report.seconds:.1f} s")
        finally:
            await db.close()

    _run(work)


# --------------------------------------------------------------------------- search, demo

@app.command()
def search(query: str = typer.Argument(..., help="A title, sloppy spelling welcome."), limit: int = 10) -> None:
    """Fuzzy title search over the catalog."""
    from bot.services.title_search import load_title_index

    async def work(settings: Settings) -> None:
        db = await _open(settings)
        try:
            index = await load_title_index(db)
            for match in index.search(query, limit):
                typer.echo(f"{match.movie_id:>8}  {match.label}  (score {match.score:.0f}, {match.rating_count} ratings)")
        finally:
            await db.close()

    _run(work)


DEMO_MEMBER = 1_000_000_000_000_000_001
DEMO_RATINGS = (("heat", "love"), ("the matrix", "5"), ("se7en", "4.5"), ("toy story", "meh"),
                ("the notebook", "hate"), ("pulp fiction", "like"), ("fight club", "4.5"), ("mamma mia", "dislike"))
DEMO_SCRIPT = [f"/rate {title} {value}" for title, value in DEMO_RATINGS] + [
    "/my_recommendations count:8", "/my_recommendations mood:dark count:5", "/my_stats"]


async def _shell_session(settings: Settings, app_: Any, user: int, lines: Any, files_dir: Path, echo: bool) -> None:
    """The real bot behind a local terminal: each line is a slash command from ``user``."""
    from dataclasses import replace

    from bot.client import create_bot
    from bot.offline import OfflineDiscord
    from bot.shell import LocalShell

    for noisy in ("discord", "apscheduler", "matplotlib"):  # a terminal session shows the bot, not its plumbing
        logging.getLogger(noisy).setLevel(logging.WARNING if noisy != "discord" else logging.ERROR)
    local = replace(settings, rate_cooldown_seconds=0.0, owner_ids=tuple(settings.owner_ids) + (user,))
    async with OfflineDiscord(create_bot(local, app=app_, sync_commands=False)) as offline:
        await LocalShell(offline, user, files_dir, typer.echo).run(lines, echo=echo)


@app.command()
def demo() -> None:
    """Embedded database, migrations, bundled data, a trained model, then a sample member's session."""
    from bot.app import build_app
    from bot.db.migrate import migrate as apply
    from bot.repositories.catalog import catalog_summary, movie_count
    from bot.repositories.privacy import forget_user
    from bot.services.catalog_import import import_bundled
    from bot.services.training import train_model

    async def work(settings: Settings) -> None:
        db = await _open(settings, require_schema=False)
        try:
            where = settings.database_url and "DATABASE_URL" or f"embedded PostgreSQL in {settings.pgdata}"
            typer.echo(f"database: {where}")
            async with db.acquire() as conn:
                applied = await apply(conn)
                typer.echo(f"migrations: {len(applied)} applied now" if applied else "migrations: up to date")
                empty = await movie_count(conn) == 0
            if empty:
                typer.echo("catalog is empty: importing the bundled MovieLens + IMDb 5000 data ...")
                typer.echo((await import_bundled(db)).summary())
            async with db.acquire() as conn:
                summary = await catalog_summary(conn)
                await forget_user(conn, DEMO_MEMBER)
            typer.echo(f"catalog: {summary['movies']:,} movies ({summary['with_directors']:,} with directors), "
                       f"{summary['ratings']:,} ratings from {summary['users']:,} users")
            app_ = await build_app(replace(settings, feedback_limit=""), db)  # a scripted session, not a flood
            if app_.runtime.model is None:
                typer.echo("no trained model yet: training the base model (first run only) ...")
                report = await train_model(db, settings)
                typer.echo(f"model {report.version} trained in {report.seconds:.0f} s")
                await app_.reload()
            if app_.runtime.sliders is None:
                from bot.services.sliders import reload_sliders

                await reload_sliders(db, settings.embedding_model_path)
                await app_.reload()
            typer.echo("\nA sample member's session in the local shell (`cinesync shell` to try it yourself):")
            files = settings.home / "demo"
            files.mkdir(parents=True, exist_ok=True)
            await _shell_session(settings, app_, DEMO_MEMBER, DEMO_SCRIPT, files, echo=True)
        finally:
            await db.close()

    _run(work)


@app.command()
def shell(
    user: int = typer.Option(1_000_000_000_000_000_001, min=1, max=2**63 - 1,
                             help="The local member's id (a Discord-style snowflake)."),
    files: Path = typer.Option(Path("."), "--files", help="Where charts and exported files are saved."),
) -> None:
    """Use CineSync in this terminal, no Discord token needed: type the same slash commands a member would."""
    from bot.app import build_app
    from bot.shell import HELP

    async def work(settings: Settings) -> None:
        db = await _open(settings)
        app_ = await build_app(replace(settings, feedback_limit=""), db)  # one person at a terminal, maybe piping a file
        interactive = sys.stdin.isatty()
        if interactive:
            typer.echo("CineSync local shell: you are a member of a pretend server (and its admin).\n" + HELP)
        if app_.runtime.model is None:
            typer.echo("note: no trained model yet, so recommendations are popularity-based (run `cinesync train`)")

        async def lines():  # type: ignore[no-untyped-def]
            while True:
                line = await asyncio.to_thread(_read_line, "cinesync> " if interactive else "")
                if line is None:
                    return
                yield line

        try:
            await _shell_session(settings, app_, user, lines(), files, echo=not interactive)
        finally:
            await app_.close()

    _run(work)


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


@app.command()
def run() -> None:
    """Start the Discord bot (needs DISCORD_TOKEN; without one, try `cinesync shell`)."""
    import discord

    from bot.client import MigrationsPending, create_bot

    settings = _settings()
    if not settings.discord_token:
        typer.echo("error: DISCORD_TOKEN is not set. Put your bot's token in .env (see .env.example) or the environment; "
                   "without one, try everything locally with `cinesync shell`.", err=True)
        raise typer.Exit(2)
    try:
        create_bot(settings).run(settings.discord_token, log_handler=None)
    except MigrationsPending as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except discord.LoginFailure:
        typer.echo("error: Discord refused DISCORD_TOKEN: copy the token again from the Developer Portal (Bot → Reset Token)",
                   err=True)
        raise typer.Exit(1) from None


@app.command()
def train(device: str = typer.Option("cpu", "--device", help="Torch device for the low-rank solver (large data), e.g. cuda.")) -> None:
    """Train the base model on every rating in the database and register it (the bot loads the newest)."""
    import torch

    from bot.services.training import train_model

    async def work(settings: Settings) -> None:
        try:
            torch.empty(0, device=device)
        except (RuntimeError, ValueError) as exc:
            raise UserFacingError(f"--device {device}: torch cannot use it here ({exc}); use --device cpu") from None
        db = await _open(settings)
        try:
            report = await train_model(db, settings, device=device)
        except RuntimeError as exc:
            raise UserFacingError(str(exc)) from None
        finally:
            await db.close()
        typer.echo(f"model {report.version}: {report.users:,} users, {report.ratings:,} feedback rows, "
                   f"{report.seconds:.1f} s; validation NDCG@10 {report.metrics['validation_ndcg@10']:.4f}")
        typer.echo(f"checkpoint: {report.checkpoint}; {report.written:,} member states re-based"
                   + (f", {report.not_written:,} changed or forgotten during the fit (re-based at their next request)"
                      if report.not_written else ""))

    _run(work)


sliders_app = typer.Typer(help="Named moods (sliders) used by mood= recommendations.", no_args_is_help=True)
app.add_typer(sliders_app, name="sliders")


@sliders_app.command("reload")
def sliders_reload(file: Optional[Path] = typer.Option(None, "--file", help="Slider JSON (default: the shipped bot/sliders.json).")) -> None:
    """Embed new or changed slider descriptions and store them (restart the bot to use them)."""
    from bot.services.errors import UserError
    from bot.services.sliders import DEFAULT_FILE, reload_sliders

    async def work(settings: Settings) -> None:
        db = await _open(settings)
        try:
            changed = await reload_sliders(db, settings.embedding_model_path, file or DEFAULT_FILE)
        except UserError as exc:
            raise UserFacingError(str(exc)) from None
        finally:
            await db.close()
        typer.echo(f"sliders loaded from {file or DEFAULT_FILE}; {changed} new or changed description(s) embedded")

    _run(work)


@app.command()
def learn(everyone: bool = typer.Option(False, "--all", help="Analyse every user, not only those with new feedback."),
          no_lock: bool = typer.Option(False, "--no-lock", hidden=True,
                                       help="The caller (the bot's scheduled job) already holds the job's lock.")) -> None:
    """Run the PreferenceLearner once (the bot also runs it every CINESYNC_LEARNER_INTERVAL_MINUTES)."""
    from datetime import timedelta

    from bot.services.learner import JOB_NAME, learn_preferences
    from bot.services.periodic import LockedPeriodicJob

    async def work(settings: Settings) -> None:
        db = await _open(settings)
        reports = []

        from bot.services.runtime import load_runtime

        runtime = await load_runtime(db, settings.blend_personal, settings.diversity, settings.trainer_mode,
                                     settings.list_calibration, settings.models_dir)

        async def job() -> int:
            reports.append(await learn_preferences(db, everyone, runtime, progress=True))
            return reports[-1].users

        try:
            if no_lock:
                await job()
                outcome = "ran"
            else:
                outcome = await LockedPeriodicJob(JOB_NAME, db.dsn, timedelta(minutes=settings.learner_interval_minutes),
                                                  job).run_period(claim=False)
        finally:
            await db.close()
        if outcome == "locked":
            raise UserFacingError("another process is running the PreferenceLearner right now; try again shortly")
        if outcome != "ran":
            raise UserFacingError("the PreferenceLearner run failed; see the log above")
        r = reports[0]
        typer.echo(f"analysed {r.users:,} users ({r.ratings:,} ratings) in {r.seconds:.2f} s, {r.ms_per_user:.2f} ms per user; "
                   f"refitting {r.weights_written:,} users' signal weights took {r.weights_seconds:.2f} s of it, beside the analysis")

    _run(work)


@app.command()
def bench(
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the figures as JSON here."),
    seconds: float = typer.Option(5.0, help="Duration of the throughput run."),
    members: int = typer.Option(50, help="Simulated Discord members acting at once (0 skips the interaction run)."),
    learner_members: Optional[int] = typer.Option(None, "--learner-members",
                                                  help="Run the PreferenceLearner over a seeded sample of this many "
                                                       "members (default: every member; 0 skips it)."),
) -> None:
    """Latency and throughput of rating, recommending and searching on the real database."""
    import json

    from bot.render.benchmark import benchmark_table
    from bot.services.benchmark import run_benchmark

    async def work(settings: Settings) -> None:
        async with _trained_app(settings) as app_:
            result = await run_benchmark(app_, seconds=seconds, members=members, learner_members=learner_members)
        typer.echo(benchmark_table(result))
        if json_out:
            json_out.write_text(json.dumps(result, indent=2))

    _run(work)


@app.command()
def simulate(
    members: int = typer.Option(1000, help="Synthetic members with planted tastes."),
    minutes: float = typer.Option(1.0, help="How long they act."),
    concurrency: int = typer.Option(16, help="Members acting at once (closed loop); with --rate, the workers "
                                    "the arrivals are dealt over."),
    rate: Optional[float] = typer.Option(None, help="Operations a second in all, arriving at random (Poisson), each "
                                         "its own task; latency counts the wait from arrival. Default: closed loop, "
                                         "each of the --concurrency workers acting again as soon as it is answered."),
    gateway_share: float = typer.Option(0.1, "--gateway-share", help="Share of members who rate through the gateway stand-in."),
    keep: bool = typer.Option(False, "--keep", help="Keep the simulated members afterwards (default: forget them)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the report as JSON here."),
) -> None:
    """Load test: members rate, get recommendations and stats at once; then an audit that every
    acknowledged rating is stored and every taste vector equals a refit."""
    import json
    from dataclasses import asdict

    from bot.services.simulate import run_simulation

    if members < 1 or minutes <= 0 or concurrency < 1 or not 0.0 <= gateway_share <= 1.0 or (rate is not None and rate <= 0):
        raise typer.BadParameter("members and concurrency must be at least 1, minutes and rate above 0, gateway share 0 to 1")

    async def work(settings: Settings) -> None:
        async with _trained_app(settings) as app_:
            report = await run_simulation(app_, members=members, seconds=minutes * 60.0, concurrency=concurrency,
                                          gateway_share=gateway_share, keep=keep, rate=rate)
        typer.echo(report.render())
        if json_out:
            json_out.write_text(json.dumps(asdict(report), indent=2, default=str))
        if not report.audit.passed:
            raise typer.Exit(1)

    _run(work)


@app.command()
def synthesize(
    out: Path = typer.Argument(..., help="A new folder for the MovieLens-layout files."),
    catalog: Path = typer.Option(..., "--catalog", help="A MovieLens catalog folder with movies.csv and average_ratings.csv."),
    members: int = typer.Option(330_000, help="Synthetic members."),
    ratings: int = typer.Option(30_000_000, help="Ratings to draw (a pair drawn twice is kept once)."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Synthetic ratings with planted tastes over a real catalog, for scale runs (then `cinesync import
    movielens OUT --with-ratings`)."""
    from bot.catalog.synthetic import synthesize as write

    if members < 1 or ratings < members:
        raise typer.BadParameter("members must be at least 1 and ratings at least members")
    try:
        report = write(catalog, out, members, ratings, seed)
    except (FileNotFoundError, FileExistsError) as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"{report.folder}: {report.members:,} members, {report.ratings:,} ratings on {report.rated_films:,} of "
               f"{report.films:,} films")


@app.command("eval")
def evaluate(
    ratings: Path = typer.Option(..., "--ratings", help="ratings.csv (MovieLens layout)."),
    movies: Optional[Path] = typer.Option(None, "--movies", help="movies.csv (MovieLens layout); not with --new-items."),
    links: Optional[Path] = typer.Option(None, "--links", help="links.csv, to join IMDb metadata."),
    imdb: Optional[Path] = typer.Option(None, "--imdb", help="IMDb 5000 movie_metadata.csv."),
    tags: Optional[Path] = typer.Option(None, "--tags", help="tags.csv (user tags feed the movie texts)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full results as JSON here."),
    protocol: list[str] = typer.Option(["warm", "cold", "calibration"], "--protocol",
                                       help="warm, cold, calibration, personas, list-shape (repeat the option for several)."),
    personas: bool = typer.Option(False, "--personas", help="Only the persona protocol (planted tastes)."),
    no_content: bool = typer.Option(False, "--no-content", help="Skip text embeddings (faster)."),
    max_users: Optional[int] = typer.Option(None, "--max-users", help="Evaluate on the first N users only."),
    new_items: bool = typer.Option(False, "--new-items", help="The item cold-start protocol: the newest films lose "
                                   "their ratings; ours against content-only peers."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="With --new-items: what each film is (our catalog "
                                           "format); default: the bundled catalog."),
    fraction: float = typer.Option(0.1, "--fraction", min=0.01, max=0.5, help="With --new-items: share of films that are new."),
    outside_popularity: bool = typer.Option(False, "--outside-popularity", help="With --new-items: give every method "
                                            "MovieLens 2023 / TMDB popularity (hindsight: counted after the split)."),
) -> None:
    """Evaluate our engine beside popularity, EASE and ALS (warm, cold, calibration; personas), or new films (--new-items)."""
    import json

    from bot.services.evaluation import evaluate_files, evaluate_new_items_files
    from bot.render.evaluation import evaluation_table, new_items_table

    if new_items:
        from bot.services.catalog_import import BUNDLED_MOVIES

        source = catalog or BUNDLED_MOVIES
        for name, path in (("--ratings", ratings), ("--catalog", source)):
            if not path.is_file():
                typer.echo(f"error: {name} {path}: file not found", err=True)
                raise typer.Exit(1)
        result = evaluate_new_items_files(_settings(), ratings, source, fraction, max_users, outside=outside_popularity)
        typer.echo(new_items_table(result))
        if json_out:
            json_out.write_text(json.dumps(result, indent=2))
            typer.echo(f"results written to {json_out}")
        return
    if movies is None:
        typer.echo("error: --movies is required (MovieLens movies.csv), unless --new-items", err=True)
        raise typer.Exit(1)

    for name, path in (("--ratings", ratings), ("--movies", movies), ("--links", links), ("--imdb", imdb), ("--tags", tags)):
        if path is not None and not path.is_file():
            typer.echo(f"error: {name} {path}: file not found", err=True)
            raise typer.Exit(1)
    if imdb and not links:
        typer.echo("error: --imdb needs --links to join IMDb ids to movie ids", err=True)
        raise typer.Exit(1)
    unknown = sorted(set(protocol) - {"warm", "cold", "calibration", "personas", "list-shape"})
    if unknown:
        typer.echo(f"error: --protocol {unknown[0]}: choose warm, cold, calibration, personas or list-shape", err=True)
        raise typer.Exit(1)
    settings = _settings()
    result = evaluate_files(settings, ratings, movies, links, imdb, tags, content=not no_content,
                            protocols=("personas",) if personas else tuple(protocol), max_users=max_users)
    typer.echo(evaluation_table(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
        typer.echo(f"results written to {json_out}")


@app.command("build-bundle")
def build_bundle_command(
    datasets: Path = typer.Option(Path("../shared/datasets"), help="Folder holding movielens-latest-small, "
                                  "movielens-latest-2023, imdb-5000 and tmdb-recent."),
    out: Path = typer.Option(Path("bot/data"), help="Output folder."),
    min_ratings: int = typer.Option(10, help="Ship a MovieLens 2023 film found in no other source only if at "
                                    "least this many people rated it."),
    embeddings: bool = typer.Option(True, help="Also ship the films' text embeddings (int8), so a fresh install "
                                    "does not embed them all."),
) -> None:
    """(Maintainers) rebuild the bundled default catalog (films up to 2026) from the shared datasets."""
    from bot.catalog.bundle import build_bundle

    missing = [d for d in ("movielens-latest-small", "movielens-latest-2023", "imdb-5000", "tmdb-recent")
               if not (datasets / d).is_dir()]
    if missing:
        typer.echo(f"error: {datasets} lacks {', '.join(missing)}; pass --datasets with the shared datasets folder", err=True)
        raise typer.Exit(1)
    typer.echo(build_bundle(datasets, out, min_ratings).summary())
    if embeddings:
        from bot.catalog.bundle import ship_text_vectors

        count = ship_text_vectors(out, _settings().embedding_model_path)
        typer.echo(f"text embeddings: {count:,} texts, {(out / 'text-vectors.npz').stat().st_size / 1e6:.1f} MB")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
