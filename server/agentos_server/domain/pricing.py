"""How a listing (skill or daemon) is sold, and the rules a price must follow.

- free: the price is zero, and no licence type may cost anything;
- one-time, subscription, usage: a positive price in a known asset; a subscription names its
  billing interval, a usage price names its unit and how usage is billed;
- licence prices: each licence type at most once, in the base price's asset, positive (zero on a
  free listing);
- trial runs: 0 to 100.

A validated Pricing is stored as a JSON document (as_document) and read back with from_document.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentos_server.domain.assets import check_amount, check_asset
from agentos_server.domain.errors import Violations
from agentos_server.domain.validation import check_text

MAX_TRIAL_RUNS = 100
MAX_USAGE_UNIT_LENGTH = 64


class PricingModel(enum.StrEnum):
    FREE = "free"
    ONE_TIME = "one_time"
    SUBSCRIPTION = "subscription"
    USAGE = "usage"


class BillingInterval(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class UsageBilling(enum.StrEnum):
    PREPAID_UNITS = "prepaid_units"
    PAY_PER_CALL = "pay_per_call"


class LicenseType(enum.StrEnum):
    PERSONAL = "personal"
    COMMERCIAL = "commercial"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class MoneyDraft:
    asset: str = ""
    amount: int = 0


@dataclass(frozen=True)
class LicensePriceDraft:
    license_type: LicenseType | None
    price: MoneyDraft


@dataclass(frozen=True)
class PricingDraft:
    """Pricing as the client sent it; enumerations the client left unspecified are None."""

    model: PricingModel | None = None
    price: MoneyDraft = field(default_factory=MoneyDraft)
    interval: BillingInterval | None = None
    usage_unit: str = ""
    usage_billing: UsageBilling | None = None
    license_prices: Sequence[LicensePriceDraft] = ()
    trial_runs: int = 0


@dataclass(frozen=True)
class Money:
    asset: str
    amount: int


@dataclass(frozen=True)
class LicensePrice:
    license_type: LicenseType
    price: Money


@dataclass(frozen=True)
class Pricing:
    model: PricingModel
    price: Money
    interval: BillingInterval | None = None
    usage_unit: str = ""
    usage_billing: UsageBilling | None = None
    license_prices: tuple[LicensePrice, ...] = ()
    trial_runs: int = 0

    @property
    def is_free(self) -> bool:
        return self.model is PricingModel.FREE

    def price_for(self, license_type: LicenseType) -> Money | None:
        """The price of a licence type, or None when the listing does not offer it."""
        if not self.license_prices:
            return self.price
        for offer in self.license_prices:
            if offer.license_type is license_type:
                return offer.price
        return None

    def as_document(self) -> dict[str, Any]:
        return {
            "model": self.model.value,
            "price": {"asset": self.price.asset, "amount": self.price.amount},
            "interval": self.interval.value if self.interval else "",
            "usage_unit": self.usage_unit,
            "usage_billing": self.usage_billing.value if self.usage_billing else "",
            "license_prices": [
                {
                    "license_type": p.license_type.value,
                    "price": {"asset": p.price.asset, "amount": p.price.amount},
                }
                for p in self.license_prices
            ],
            "trial_runs": self.trial_runs,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Pricing:
        price = document.get("price") or {}
        return cls(
            model=PricingModel(document["model"]),
            price=Money(str(price.get("asset", "")), int(price.get("amount", 0))),
            interval=BillingInterval(document["interval"]) if document.get("interval") else None,
            usage_unit=str(document.get("usage_unit", "")),
            usage_billing=UsageBilling(document["usage_billing"]) if document.get("usage_billing") else None,
            license_prices=tuple(
                LicensePrice(
                    LicenseType(p["license_type"]),
                    Money(str(p["price"]["asset"]), int(p["price"]["amount"])),
                )
                for p in document.get("license_prices", [])
            ),
            trial_runs=int(document.get("trial_runs", 0)),
        )


def check_pricing(v: Violations, draft: PricingDraft, field_name: str) -> Pricing | None:
    """Validates a listing's pricing; `field_name` is its path, e.g. "skill.pricing"."""
    problems_before = len(v)
    model = draft.model
    if model is None:
        v.add(f"{field_name}.model", "is required: free, one-time, subscription or usage")
        return None

    free = model is PricingModel.FREE
    asset = draft.price.asset
    if free:
        if draft.price.amount != 0:
            v.add(f"{field_name}.price.amount", "must be 0 for a free listing")
        if asset:
            check_asset(v, asset, f"{field_name}.price.asset")
    else:
        check_asset(v, asset, f"{field_name}.price.asset")
        check_amount(v, draft.price.amount, f"{field_name}.price.amount", positive=True)

    if model is PricingModel.SUBSCRIPTION:
        if draft.interval is None:
            v.add(f"{field_name}.interval", "is required for a subscription")
    elif draft.interval is not None:
        v.add(f"{field_name}.interval", "applies only to subscriptions")

    unit = draft.usage_unit.strip()
    if model is PricingModel.USAGE:
        if not unit:
            v.add(f"{field_name}.usage_unit", "is required for usage pricing, e.g. 'call' or '1000 tokens'")
        else:
            check_text(v, unit, f"{field_name}.usage_unit", max_length=MAX_USAGE_UNIT_LENGTH)
        if draft.usage_billing is None:
            v.add(f"{field_name}.usage_billing", "is required for usage pricing")
    else:
        if unit:
            v.add(f"{field_name}.usage_unit", "applies only to usage pricing")
        if draft.usage_billing is not None:
            v.add(f"{field_name}.usage_billing", "applies only to usage pricing")

    offers: list[LicensePrice] = []
    seen: set[LicenseType] = set()
    for index, offer in enumerate(draft.license_prices):
        where = f"{field_name}.license_prices[{index}]"
        if offer.license_type is None:
            v.add(f"{where}.license_type", "is required: personal, commercial or enterprise")
        elif offer.license_type in seen:
            v.add(f"{where}.license_type", f"{offer.license_type.value} is priced more than once")
        else:
            seen.add(offer.license_type)
        if free:
            if offer.price.amount != 0:
                v.add(f"{where}.price.amount", "must be 0 for a free listing")
        else:
            check_amount(v, offer.price.amount, f"{where}.price.amount", positive=True)
            if offer.price.asset != asset:
                v.add(f"{where}.price.asset", f"must be the asset of the base price ({asset or 'none'})")
        if offer.license_type is not None:
            offers.append(LicensePrice(offer.license_type, Money(asset, offer.price.amount)))

    if not 0 <= draft.trial_runs <= MAX_TRIAL_RUNS:
        v.add(f"{field_name}.trial_runs", f"must be between 0 and {MAX_TRIAL_RUNS}")

    if len(v) != problems_before:
        return None
    return Pricing(
        model=model,
        price=Money(asset, draft.price.amount),
        interval=draft.interval,
        usage_unit=unit,
        usage_billing=draft.usage_billing,
        license_prices=tuple(offers),
        trial_runs=draft.trial_runs,
    )
