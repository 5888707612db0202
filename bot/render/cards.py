"""What each answer says, independent of where it is shown.

A `Card` is the content of one reply: Discord turns it into an embed (`bot/render/embeds.py`),
the local shell shows Discord's own JSON as text. Builders here take service results only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.services.feedback import FeedbackResult
from bot.services.recommendations import Recommendations
from bot.services.stats import TasteProfile
from engine.snapshot import short_title

BRAND = 0xE50914
GOOD = 0x2ECC71
WARN = 0xF1C40F
WORD_LABELS = {"love": "❤️ love (5★)", "like": "👍 like (4★)", "meh": "😐 meh (3★)", "dislike": "👎 dislike (2★)",
               "hate": "💀 hate (1★)", "not_interested": "🚫 not interested", "seen": "seen (no rating)"}


@dataclass
class Card:
    title: str
    description: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    footer: str | None = None
    color: int = BRAND
    image: str | None = None  # attachment file name shown as the card's image


def stars(value: float) -> str:
    full, half = int(value), value - int(value) >= 0.5
    return "★" * full + ("½" if half else "")


def feedback_label(kind: str | None, rating: float | None) -> str:
    if kind in (None, "rating"):
        return f"{rating:g}★ {stars(rating)}" if rating is not None else "nothing"
    return WORD_LABELS.get(kind, kind)


def movie_label(movie: dict[str, Any]) -> str:
    """Main title and year; the aliases stay in the catalog (search and the movie's info text)."""
    title = short_title(str(movie["title"]))
    return f"{title} ({movie['year']})" if movie.get("year") else title


def button_label(movie: dict[str, Any], width: int = 80) -> str:
    """A title for a button or a choice list, shortened before the year so the year always shows."""
    year = f" ({movie['year']})" if movie.get("year") else ""
    title = short_title(str(movie["title"]))
    room = width - len(year)
    return (title if len(title) <= room else title[: room - 1].rstrip() + "…") + year


def identity(movie: dict[str, Any]) -> str:
    """Title, year and director: enough to see at once that the right film was saved."""
    directors = ", ".join((movie.get("directors") or [])[:2])
    return movie_label(movie) + (f", directed by {directors}" if directors else "")


def saved_line(result: FeedbackResult, movie: dict[str, Any]) -> str:
    """The one way every path says a feedback was saved (a card's first line, or a line above the next film)."""
    if result.kind == "not_interested":
        return f"✅ Saved: not interested in {identity(movie)}; it won't be suggested again."
    return f"✅ Saved {feedback_label(result.kind, result.rating)} for {identity(movie)} · {result.rating_count} rated."


def rating_saved(result: FeedbackResult, movie: dict[str, Any]) -> Card:
    """Every "saved" answer (slash, buttons): what was saved on which film, the count and, from the
    5th rating, what changed."""
    label = identity(movie)
    if result.duplicate:
        return Card(f"Already saved: {label}", f"You had already said {feedback_label(result.kind, result.rating)}.",
                    color=GOOD)
    lines = [saved_line(result, movie)]
    if result.previous_kind is not None and result.kind is not None:
        lines.append(f"(was {feedback_label(result.previous_kind, result.previous_rating)})")
    if result.kind is None:
        lines = [f"Removed your feedback on {label}."]
    count = result.rating_count
    if result.kind is None:
        lines.append(f"You have rated {count} movie{'s' if count != 1 else ''}.")
    if count >= 5:
        changed = _what_changed(result)
        if changed:
            lines.append(changed)
    else:
        lines.append(f"Rate {5 - count} more to unlock personal recommendations.")
    return Card("Rating saved", "\n".join(lines), color=GOOD)


def _what_changed(result: FeedbackResult) -> str | None:
    if not result.embedding_updated:
        return "Your taste profile will catch up after the next model update."
    shift = max(0.0, result.embedding_shift)
    if shift < 0.0005 or result.kind is None:
        return None  # nothing worth a line ("0.0% change")
    size = "a big step" if shift > 0.05 else ("a small step" if shift > 0.005 else "a nudge")
    stars_given = result.rating
    if result.kind == "not_interested" or (stars_given is not None and stars_given <= 2.5):
        direction = "away from movies like this one"
    elif stars_given is not None and stars_given < 3.5:
        direction = "to know you liked this one only so-so"
    else:
        direction = "towards movies like this one"
    return f"Your taste profile moved {size} {direction}."


def diary(page: Any) -> Card:
    """`/my_ratings`: a page of the member's diary (bot.services.diary.DiaryPage)."""
    filters = " · ".join(x for x in (page.stars is not None and f"{page.stars:g}★", page.genre) if x)
    title = "Your ratings" + (f" ({filters})" if filters else "")
    if not page.entries:
        return Card(title, "Nothing here yet: `/rate` a film, or change the filters.")
    lines = [f"**{movie_label(e.movie)}** · {feedback_label(e.kind, e.rating)} · {e.updated_at:%d %b %Y}"
             for e in page.entries]
    return Card(title, "\n".join(lines), footer=f"Page {page.page + 1} of {page.pages} · {page.total} entries, newest first")


def watchlist_added(movie: dict[str, Any], added: bool) -> str:
    film = identity(movie)
    return f"🔖 Added {film} to your watchlist." if added else f"{film} is already on your watchlist."


def watchlist(movies: list[dict[str, Any]]) -> Card:
    if not movies:
        return Card("Your watchlist", "Empty: add films with `/watchlist add` or the 🔖 button under a recommendation.")
    lines = [f"🔖 **{movie_label(m)}** · {', '.join(m['genres'][:3])}" for m in movies[:50]]
    more = f"\n... and {len(movies) - 50} more" if len(movies) > 50 else ""
    return Card("Your watchlist", "\n".join(lines) + more,
                footer=f"{len(movies)} film{'s' if len(movies) != 1 else ''} · rating one takes it off the list")


def movie_card(info: Any) -> Card:
    """`/movie`: what the film is, what this member and this server think of it, where to read more
    (bot.services.movie_info.MovieInfo)."""
    movie = info.movie
    facts = " · ".join(x for x in (
        f"{movie['runtime_minutes']} min" if movie.get("runtime_minutes") else None,
        ", ".join(movie["genres"]) or None, movie.get("content_rating")) if x)
    if movie.get("overview"):  # the synopsis; its source is credited as its terms ask
        story = movie["overview"] if len(movie["overview"]) <= 400 else movie["overview"][:400].rsplit(" ", 1)[0] + "…"
        source = (movie.get("field_sources") or {}).get("overview")
        facts += f"\n\n{story}" + (" *(synopsis: TMDB)*" if source == "tmdb" else "")
    fields: list[tuple[str, str]] = []
    if movie.get("directors"):
        fields.append(("Directed by", ", ".join(movie["directors"][:3])))
    if movie.get("cast_members"):
        fields.append(("Starring", ", ".join(movie["cast_members"][:4])))
    if info.kind is not None:
        fields.append(("You", feedback_label(info.kind, info.rating)))
    elif info.match is not None:
        fields.append(("Your match", f"{info.match:.0%} chance you'd rate it 4★ or more"))
    if info.on_watchlist:
        fields.append(("Watchlist", "🔖 on your watchlist"))
    fields.append(("This server", f"{info.server_mean:.1f}★ average from {info.server_count} member"
                   f"{'s' if info.server_count != 1 else ''}" if info.server_count else "no member here has rated it yet"))
    links = " · ".join(f"[{name}]({url})" for name, url in (("IMDb", info.imdb_url), ("TMDB", info.tmdb_url)) if url)
    if links:
        fields.append(("Links", links))
    return Card(movie_label(movie), facts, fields=fields)


def comparison(result: Any, other: str) -> Card:
    """`/compare` (bot.services.compare.Comparison)."""
    match = result.match
    lines = [f"**{match.percent:.0f}% taste match** ({match.confidence} confidence: {match.overlap} film"
             f"{'s' if match.overlap != 1 else ''} you both rated)"]
    fields: list[tuple[str, str]] = []
    if result.both_loved:
        fields.append(("Both loved", "\n".join(movie_label(m) for m in result.both_loved)))
    if result.disagreements:
        fields.append(("Where you differ", "\n".join(f"{movie_label(m)}: you {a:g}★, {other} {b:g}★"
                                                     for m, a, b in result.disagreements)))
    if result.pick is not None and result.pick_chances is not None:
        you, them = result.pick_chances
        fields.append(("Watch together", f"{identity(result.pick)}: {you:.0%} for you, {them:.0%} for {other}"))
    return Card(f"You and {other}", "\n".join(lines), fields=fields)


def history_report(report: Any, name: str) -> Card:
    """`/import` (bot.services.history.HistoryReport)."""
    lines = [f"**{report.imported}** imported · **{report.already}** already here · **{report.watchlisted}** added to "
             f"your watchlist · **{len(report.unmatched)}** not found in the catalog"]
    fields: list[tuple[str, str]] = []
    if report.unmatched:
        shown = ", ".join(report.unmatched[:5]) + (f" and {len(report.unmatched) - 5} more" if len(report.unmatched) > 5 else "")
        fields.append(("Not found", shown[:1000]))
    if report.problems:
        fields.append(("Skipped rows", "\n".join(report.problems[:5])[:1000]))
    return Card(f"Imported {name}", "\n".join(lines), fields=fields, color=GOOD,
                footer=f"{report.read} entries read in {report.seconds:.1f} s · Undo puts everything back as it was")


def server_top(result: Any) -> Card:
    """`/server top` (bot.services.server.ServerTop)."""
    if not result.films:
        return Card("This server's favourites", "Nobody here has loved a film in the last 30 days yet: `/rate` away.")
    lines = [f"**{i}. {movie_label(m)}** · loved by {n} member{'s' if n != 1 else ''} · {mean:.1f}★"
             for i, (m, n, mean) in enumerate(result.films, 1)]
    return Card("This server's favourites (30 days)", "\n".join(lines),
                footer=f"'Popular in this server' weighs {result.weight:g} in picks here (/server settings)")


def movie_night(night: Any, votes: dict[int, int] | None = None, winner: dict[str, Any] | None = None) -> Card:
    """The movie night's message (bot.services.movienight.Night): options with each member's match, votes, winner."""
    votes = votes or {}
    lines = []
    for k, option in enumerate(night.options, 1):
        count = sum(v == option.movie["movie_id"] for v in votes.values())
        chances = " · ".join(f"<@{m}> {option.chances[m]:.0%}" for m in night.members)
        crown = "🏆 " if winner is not None and winner["movie_id"] == option.movie["movie_id"] else ""
        lines.append(f"**{crown}{k}. {identity(option.movie)}** · {count} vote{'s' if count != 1 else ''}\n   {chances}")
    if winner is not None:
        return Card(f"Movie night: {movie_label(winner)} wins", "\n".join(lines), color=GOOD,
                    footer="Press 🎬 We watched it afterwards: each of you gets a DM to rate it.")
    head = f"{len(votes)} of {len(night.members)} voted · voting closes <t:{int(night.deadline.timestamp())}:R>\n"
    return Card("Movie night: vote", head + "\n".join(lines),
                footer="% = each member's chance of rating it 4★ or more; no film anyone would likely rate under 3★")


def about(info: Any) -> Card:
    """`/about`: what is served, and the sources' credits and licenses (as their terms require)."""
    newest = f", up to {info.newest_year}" if info.newest_year else ""
    model = (f"Model {info.model}: {info.learned_films:,} films learned from ratings"
             + (f", {info.predicted_films:,} placed from what they are (no ratings yet)" if info.predicted_films else "")
             if info.model else "No trained model yet: recommendations are popular films.")
    credits = "\n".join(line for line in info.credits.splitlines() if line.strip())
    return Card(f"CineSync {info.version}", f"{info.films:,} films{newest}.\n{model}",
                fields=[("Data sources and credits", credits[:1024])],
                footer="Licenses: LICENSE-MovieLens.txt and NOTICE.txt beside the bundled catalog (bot/data).")


def quick_movie(movie: dict[str, Any], rated_so_far: int | None) -> Card:
    """A film to rate: in a quick round (``rated_so_far``), or alone (None: `/rate title`)."""
    genres = ", ".join(movie["genres"][:4]) or "unknown genre"
    directors = ", ".join((movie.get("directors") or [])[:2])
    text = genres + (f"\ndirected by {directors}" if directors else "")
    footer = ("Pick how you felt." if rated_so_far is None else
              f"Quick rating: {rated_so_far} rated in this round. Pick how you felt, or Haven't seen.")
    return Card(movie_label(movie), text, footer=footer)


def recommendations(recs: Recommendations, mood: str | None = None, genre: str | None = None, first: int = 1) -> Card:
    """A page of picks (numbered from ``first``). Under 5 ratings they are starter picks, labelled as such,
    with how many more ratings unlock personal ones."""
    filters = " · ".join(x for x in (mood and f"mood: {mood}", genre and f"genre: {genre}") if x)
    starter = recs.ratings_needed > 0 and not recs.fallback
    title = ("Starter picks" if starter else "Your recommendations") + (f" ({filters})" if filters else "")
    lines = []
    if starter:
        needed = recs.ratings_needed
        lines.append(f"Popular films across genres while I learn your taste: rate {needed} more "
                     f"(buttons below, or `/rate`) to unlock personal picks.\n")
    for i, movie in enumerate(recs.movies, first):
        match = f" · **{movie.match:.0%} match**" if movie.match is not None and not starter else ""
        mark = " · 🔖 on your watchlist" if movie.on_watchlist else ""
        lines.append(f"**{i}. {movie.label}** · {', '.join(genres_shown(movie.genres, genre))}{match}{mark}\n   {movie.reason}")
    if not recs.movies:
        lines.append("Nothing left to recommend with these filters; try another genre or mood.")
    footer = "Match % = how likely you rate it 4★ or more."
    if recs.fallback:
        footer = "Showing popular picks: personal recommendations are unavailable right now."
    elif starter:
        footer = "Rate what you have seen; 👁 Seen it or 🚫 Not interested hide a film."
    return Card(title, "\n".join(lines), footer=footer)


def genres_shown(genres: list[str], first: str | None = None, limit: int = 3) -> list[str]:
    """A film's genres in its own order, the genre the list is filtered on first."""
    ordered = ([first] if first in genres else []) + [g for g in genres if g != first]
    return ordered[:limit]


def ratings_needed(count: int, needed: int, what: str) -> Card:
    return Card(f"Rate {needed} more movie{'s' if needed != 1 else ''} first",
                f"You have rated {count}. {what} at least 5 ratings.\n"
                "Press **Start rating** for a quick round, or use `/rate`.", color=WARN)


def taste_profile(profile: TasteProfile, chart: str | None = None) -> Card:
    """Plain words a friend would use; the numbers behind each claim stay in the export."""
    p = profile.patterns or {}
    fields: list[tuple[str, str]] = []
    genres = p.get("genres", [])
    fav = [g for g in genres if g["significant"] and g["effect"] > 0][:5]
    least = [g for g in genres if g["significant"] and g["effect"] < 0][-3:]
    leaning = [g for g in genres if not g["significant"] and g["effect"] > 0][:2]
    fields.append(("Favourite genres", "\n".join(
        f"{g['genre']}: about {g['effect']:.1f}★ above your average ({g['ratings']} films)" for g in fav)
        or ("none stands out yet" + ("; you may lean towards " + " and ".join(g["genre"] for g in leaning)
                                     if leaning else ""))))
    if least:
        fields.append(("Genres you rate lower", "\n".join(
            f"{g['genre']}: about {abs(g['effect']):.1f}★ below your average ({g['ratings']} films)" for g in least)))
    for key, field_name, title in (("directors", "director", "Directors you love"), ("actors", "actor", "Actors you love")):
        people = [d for d in p.get(key, []) if d["significant"] and d["effect"] > 0][:3]
        if people:
            fields.append((title, ", ".join(f"{d[field_name]} ({d['ratings']} films)" for d in people)))
    decades = p.get("decades", [])[:3]
    loved_decades = [d for d in p.get("decades", []) if d.get("significant") and d["effect"] > 0]
    if decades:
        text = ", ".join(f"{d['decade']} ({d['share']:.0%})" for d in decades)
        if loved_decades:
            text += "; you rate the " + " and ".join(d["decade"] for d in loved_decades) + " higher"
        fields.append(("Decades you watch", text))
    behaviour = p.get("behaviour")
    if behaviour:
        higher = behaviour.get("higher_than")
        compared = (f"you rate higher than {higher:.0%} of members" if higher is not None and higher >= 0.5
                    else f"you rate lower than {1 - higher:.0%} of members" if higher is not None else behaviour["label"])
        fields.append(("Rating style", f"{behaviour['label']}: your average is {behaviour['mean']:.1f}★, so {compared}; "
                                       f"you use {behaviour['scale_used']:.0%} of the star scale"))
    div = p.get("diversity")
    if div:
        fields.append(("Range", div["meaning"]))
    activity = p.get("activity", {})
    fields.append(("Activity", f"{activity.get('ratings', profile.rating_count)} ratings, "
                               f"{activity.get('feedback', 0)} feedback in all; last {str(activity.get('last', '?'))[:10]}"))
    return Card("Your taste profile", "", fields, image=chart,
                footer="Only tastes that hold up statistically are named; /export_my_data has the numbers behind them.")


def dm_movie(movie: dict[str, Any], reason: str | None = None, match: float | None = None) -> Card:
    lines = [", ".join(movie["genres"][:4])]
    if match is not None:
        lines.append(f"{match:.0%} match")
    if reason:
        lines.append(reason)
    lines.append("React: ❤️ love · 👍 like · 😐 meh · 👎 dislike · 💀 hate · 🚫 not interested")
    return Card(movie_label(movie), "\n".join(lines))


def admin_status(status: Any, bot_wide: bool = True) -> Card:
    """The bot's health; member counts across every server only for the bot's owners (``bot_wide``)."""
    c = status.counts
    run = status.last_learner_run
    fields = [("Catalog", f"{c['movies']:,} movies"), ("Model", status.model_version or "none trained"),
              ("Migrations", ", ".join(status.pending_migrations) + " pending" if status.pending_migrations else "up to date")]
    if bot_wide:
        learner = (f"{run['status']} at {run['started_at']:%Y-%m-%d %H:%M} UTC, {run['items']} users" if run else "never")
        fields[1:1] = [("Ratings", f"{c['ratings']:,} from {c['members']:,} members"), ("Profiles", f"{c['profiles']:,}")]
        fields += [("Last learner run", learner),
                   ("DM digest", f"{c['digest_members']:,} members; {c['dm_messages']:,} DMs tracked")]
    else:
        fields.append(("Last learner run", run["status"] if run else "never"))
    return Card("CineSync status", "", fields,
                footer=None if bot_wide else "Counts across servers are shown to the bot's owners only.")
