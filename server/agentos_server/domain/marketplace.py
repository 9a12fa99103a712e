"""The MarketplaceService's domain, wired together: what the runtime holds as `runtime.marketplace`.

    marketplace.licenses     domain/licenses.py     licence checks for the execution engine, grants,
                                                    VerifyLicense, GetLicense, ListLicenses,
                                                    CancelSubscription, StartTrial
    marketplace.purchases    domain/purchases.py    Purchase, GetPurchase, ListPurchases,
                                                    RefundPurchase, the subscription renewal job
    marketplace.reviews      domain/reviews.py      reviews, replies, listing ratings
    marketplace.reputation   domain/reputation.py   the reputation formula, kept incrementally;
                                                    record_execution for the execution engine
    marketplace.analytics    domain/analytics.py    GetSellerAnalytics
    marketplace.featured     domain/featured.py     featured listings and recommendations

Each server runs a sweeper every AGENTOS_RENEWAL_SWEEP_SECONDS: it renews (or lapses) due
subscriptions and ends expired features, using the runtime clock. `sweep()` runs it once, on
demand (tests call it through the test server to travel in time without sleeping). Several
servers may sweep at once: every renewal and lapse is a conditional update that happens once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from agentos_server.config import ConfigError, Settings
from agentos_server.domain.analytics import Analytics
from agentos_server.domain.clock import Clock
from agentos_server.domain.featured import Featured
from agentos_server.domain.licenses import FeeSchedule, Licenses
from agentos_server.domain.pagination import PageTokens
from agentos_server.domain.payments import Payments
from agentos_server.domain.purchases import Purchases, RenewalReport
from agentos_server.domain.reputation import Reputation
from agentos_server.domain.reviews import Reviews
from agentos_server.infra.db import Database

log = logging.getLogger("agentos.marketplace")


@dataclass
class SweepReport:
    renewals: RenewalReport
    features_ended: int


class Marketplace:
    def __init__(
        self, settings: Settings, db: Database, clock: Clock, page_tokens: PageTokens, payments: Payments
    ) -> None:
        for name in ("platform_fee_bps", "daemon_fee_bps"):
            value = getattr(settings, name)
            if not 0 <= value <= 10_000:
                raise ConfigError(f"AGENTOS_{name.upper()} must be 0 to 10000 basis points, not {value}")
        if settings.refund_window_hours < 0 or settings.renewal_lead_seconds < 0:
            raise ConfigError(
                "AGENTOS_REFUND_WINDOW_HOURS and AGENTOS_RENEWAL_LEAD_SECONDS must not be negative"
            )
        self._settings = settings
        fees = FeeSchedule(skill_bps=settings.platform_fee_bps, daemon_bps=settings.daemon_fee_bps)
        self.fees = fees
        self.reputation = Reputation(db, clock)
        self.licenses = Licenses(db, clock, payments.ledger, fees, page_tokens)
        self.purchases = Purchases(
            db,
            clock,
            payments.ledger,
            payments.idempotency,
            self.licenses,
            self.reputation,
            fees,
            page_tokens,
            refund_window=timedelta(hours=settings.refund_window_hours),
            renewal_lead=timedelta(seconds=settings.renewal_lead_seconds),
        )
        self.reviews = Reviews(db, clock, self.licenses, self.reputation, page_tokens)
        self.analytics = Analytics(db, clock, payments.assets)
        self.featured = Featured(db, clock, page_tokens)
        self._sweeper: asyncio.Task[None] | None = None

    def start_background(self) -> None:
        if self._settings.renewal_sweep_seconds > 0 and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="agentos-marketplace-sweeper")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.renewal_sweep_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("marketplace sweep failed")

    async def sweep(self) -> SweepReport:
        """Renews or lapses every due subscription and ends expired features, once."""
        return SweepReport(await self.purchases.renew_due(), await self.featured.expire())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.purchases.close()
