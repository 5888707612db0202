"""The application's parts wired together once: database, engine runtime, services.

The CLI, the local shell, the benchmark and the Discord bot all start from here, so they
exercise the same services.
"""
from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass

from bot.db.pool import Database, open_database
from bot.repositories.models import serving_stamp
from bot.services.compare import CompareService
from bot.services.diary import DiaryService, WatchlistService
from bot.services.digest import DigestService
from bot.services.history import HistoryService
from bot.services.dm_feedback import DMFeedbackService
from bot.services.feedback import FeedbackLimiter, FeedbackService
from bot.services.member_index import MemberIndexRefresher
from bot.services.member_search import MemberSearch
from bot.services.moods import PhraseEncoder
from bot.services.movienight import MovieNightService
from bot.services.about import AboutService
from bot.services.membership import MembershipService
from bot.services.movie_info import MovieInfoService
from bot.services.privacy import PrivacyService
from bot.services.quick_rating import QuickRatingService
from bot.services.recommendations import PhraseEncoder as EncodePhrase, RecommendationService
from bot.services.runtime import EngineRuntime, load_runtime
from bot.services.server import ServerService
from bot.services.state_cache import StateCache
from bot.services.stats import StatsService
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything that depends on the loaded runtime, rebuilt together when a new model is loaded."""

    feedback: FeedbackService
    recommendations: RecommendationService
    quick_rating: QuickRatingService
    stats: StatsService
    dm_feedback: DMFeedbackService
    digest: DigestService
    privacy: PrivacyService
    diary: DiaryService
    watchlist: WatchlistService
    movie_info: MovieInfoService
    membership: MembershipService
    compare: CompareService
    history: HistoryService
    server: ServerService
    movienight: MovieNightService
    about: AboutService
    member_index: MemberIndexRefresher
    member_search: MemberSearch

    @classmethod
    def build(cls, db: Database, runtime: EngineRuntime, phrases: EncodePhrase | None = None,
              feedback_limit: str | None = None, member_index: MemberIndexRefresher | None = None,
              member_search: MemberSearch | None = None) -> "Services":
        cache = StateCache()
        member_index = member_index or MemberIndexRefresher(db)
        member_search = member_search or MemberSearch(db, in_memory=False)
        feedback = FeedbackService(db, runtime, cache, FeedbackLimiter(feedback_limit), member_index)
        server = ServerService(db, runtime)
        recommendations = RecommendationService(db, runtime, cache, phrases, server, member_index, member_search)
        membership = MembershipService(db)
        return cls(feedback, recommendations, QuickRatingService(db), StatsService(db),
                   DMFeedbackService(db, feedback), DigestService(db, recommendations),
                   PrivacyService(db, runtime, cache, membership, member_search),
                   DiaryService(db, runtime), WatchlistService(db, runtime),
                   MovieInfoService(db, runtime, recommendations), membership,
                   CompareService(db, runtime, recommendations), HistoryService(db, runtime, feedback), server,
                   MovieNightService(db, runtime, recommendations, feedback), AboutService(runtime), member_index,
                   member_search)


@dataclass
class App:
    settings: Settings
    db: Database
    runtime: EngineRuntime
    services: Services

    @property
    def feedback(self) -> FeedbackService:
        return self.services.feedback

    @property
    def recommendations(self) -> RecommendationService:
        return self.services.recommendations

    def __post_init__(self) -> None:
        self._reloading = asyncio.Lock()

    async def reload(self) -> None:
        """Pick up a newly trained model, an imported catalog or reloaded sliders (one reload at a time)."""
        async with self._reloading:
            await self._reload()

    async def sync_model(self) -> bool:
        """Reload if the newest registered model or the catalog is not what this process serves (another
        process trained, or films were imported); True when it reloaded. Called on a `cinesync_model`
        notification and by the polling safety net."""
        async with self._reloading:
            async with self.db.acquire() as conn:
                stamp = await serving_stamp(conn)
            if stamp == self.runtime.stamp:
                return False
            await self._reload()
            return True

    async def _reload(self) -> None:
        runtime = await load_runtime(self.db, self.settings.blend_personal, self.settings.diversity, self.settings.trainer_mode,
                                     self.settings.list_calibration, self.settings.models_dir)
        self.runtime, self.services = runtime, Services.build(self.db, runtime, PhraseEncoder.for_path(self.settings.embedding_model_path),
                                                            self.settings.feedback_limit, self.services.member_index,
                                                            self.services.member_search)

    async def close(self) -> None:
        await self.services.member_search.close()
        try:  # what this process queued goes into the similar-member index before it stops
            await self.services.member_index.flush()
        except Exception:  # noqa: BLE001 - the queue stays in the database for the next process
            log.warning("the similar-member index was not refreshed at shutdown; the next refresh applies its queue")
        await self.db.close()


# How long a thread may hold the GIL while another waits for it (CPython's default is 5 ms). The event
# loop needs the GIL back after every wait on a socket; a ranking running in a worker thread kept it
# waiting up to 5 ms at each of a rating's round trips to PostgreSQL.
SERVING_SWITCH_INTERVAL = 0.0005


def serve_latency_first() -> None:
    """One BLAS thread per call: rankings are small matrix-vector products, and a multi-threaded
    BLAS competing with PostgreSQL on two cores turned a 3 ms ranking into 15 ms at the p99. And the
    GIL handed over sooner (SERVING_SWITCH_INTERVAL) so the loop is not held behind worker threads.
    Training and evaluation (`cinesync train/eval`) do not call this and keep every core."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    sys.setswitchinterval(SERVING_SWITCH_INTERVAL)


async def build_app(settings: Settings, db: Database | None = None) -> App:
    serve_latency_first()
    db = db or await open_database(settings)
    runtime = await load_runtime(db, settings.blend_personal, settings.diversity, settings.trainer_mode,
                                 settings.list_calibration, settings.models_dir)
    search = MemberSearch(db, in_memory=settings.member_search == "memory")
    search.start()  # searches go to pgvector until the in-process copy is built
    return App(settings, db, runtime, Services.build(db, runtime, PhraseEncoder.for_path(settings.embedding_model_path),
                                                       settings.feedback_limit, member_search=search))
