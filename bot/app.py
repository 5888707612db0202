"""The application's parts wired together once: database, engine runtime, services.

The CLI, the local shell, the benchmark and the Discord bot all start from here, so they
exercise the same services.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.db.pool import Database, open_database
from bot.services.feedback import FeedbackService
from bot.services.recommendations import RecommendationService
from bot.services.runtime import EngineRuntime, load_runtime
from bot.services.state_cache import StateCache
from bot.settings import Settings


@dataclass
class App:
    settings: Settings
    db: Database
    runtime: EngineRuntime
    feedback: FeedbackService
    recommendations: RecommendationService

    async def reload(self) -> None:
        """Pick up a newly trained model or an imported catalog."""
        runtime = await load_runtime(self.db, self.settings.blend_personal, self.settings.diversity, self.settings.trainer_mode)
        cache = StateCache()
        self.runtime = runtime
        self.feedback = FeedbackService(self.db, runtime, cache)
        self.recommendations = RecommendationService(self.db, runtime, cache)

    async def close(self) -> None:
        await self.db.close()


def serve_latency_first() -> None:
    """One BLAS thread per call: rankings are small matrix-vector products, and a multi-threaded
    BLAS competing with PostgreSQL on two cores turned a 3 ms ranking into 15 ms at the p99.
    Training and evaluation (`cinesync train/eval`) do not call this and keep every core."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


async def build_app(settings: Settings, db: Database | None = None) -> App:
    serve_latency_first()
    db = db or await open_database(settings)
    runtime = await load_runtime(db, settings.blend_personal, settings.diversity, settings.trainer_mode)
    cache = StateCache()
    return App(settings, db, runtime, FeedbackService(db, runtime, cache), RecommendationService(db, runtime, cache))
