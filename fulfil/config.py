"""Fulfil's configuration: one Settings class read from FULFIL_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")
DEFAULT_POOL_SIZE = 10
DEFAULT_MAX_OVERFLOW = 20


class Settings(BaseSettings):
    """Every tunable of the service; `FULFIL_<NAME>` in the environment or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="FULFIL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATA_DIR / 'fulfil.db'}",
        description="SQLAlchemy URL. SQLite file under ./var/ by default; postgresql+psycopg://... in production.",
    )
    database_echo: bool = False
    # Connections per process (docs/deployment.md, "Connection budget"): pool + overflow + 1 (the job-leadership
    # connection); `fulfil serve --workers N` opens N times that at most, checked against max_connections at start.
    database_pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=1, le=500, description="PostgreSQL connections each process keeps open in its pool.")
    database_max_overflow: int = Field(
        default=DEFAULT_MAX_OVERFLOW, ge=0, le=500, description="Connections a process may open beyond its pool under load (closed again when returned).",
    )
    live_poll_seconds: float = Field(
        default=5.0, gt=0, le=300,
        description="On PostgreSQL, how often a live stream reads its tables when no notification woke it (LISTEN/NOTIFY wakes it at once); SQLite streams poll every 0.5 s.",
    )
    job_leader_poll_seconds: float = Field(
        default=2.0, gt=0, le=60,
        description="How often a process asks to lead the background jobs it does not lead (a killed leader is replaced within this).",
    )
    ingest_adopt_seconds: float = Field(
        default=5.0, ge=0, le=600,
        description="`fulfil ingest --partition K/N`: how long a partition's own process must be gone before another process adopts it (failover).",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://user:pass@host:port or mqtts://... of the broker readers publish to; unset = no MQTT ingest.",
    )
    readers_config: Path | None = Field(default=None, description="TOML file listing readers; ingest starts with `serve` when set.")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(default="text", description="Log lines as text, or one JSON object per line (with the request id).")
    api_title: str = "Fulfil"
    max_body_bytes: int = Field(
        default=1_048_576, ge=1_024, le=1_073_741_824,
        description="Largest request body accepted (bytes); larger ones are refused with 413 while they stream.",
    )

    sscc_company_prefix: str = Field(
        default="0614141", pattern=r"^[0-9]{6,12}$", description="GS1 company prefix for parcel SSCCs (the GS1 example prefix by default: set yours)."
    )

    # Routing cost model (the parameters of a routing instance, docs/formats/routing.md).
    routing_parcel_base_cost: float = Field(default=4.50, ge=0)
    routing_cost_per_km: float = Field(default=0.012, ge=0)
    routing_split_penalty: float = Field(default=2.00, ge=0)
    routing_unfilled_penalty: float = Field(default=250.0, ge=0)
    routing_transit_days: list[tuple[float | None, int]] = Field(
        default=[(150.0, 1), (600.0, 2), (None, 3)], description="[[km_max or null, days], ...] as JSON."
    )
    routing_batch_interval_seconds: float = Field(
        default=600.0, ge=0, description="How often the batch re-optimisation runs inside `serve`; 0 turns it off."
    )
    routing_batch_time_limit_seconds: float = Field(default=10.0, gt=0, le=600)
    routing_realtime_retries: int = Field(default=3, ge=1, le=20, description="Re-routes when racing orders take the same stock.")

    # Click and collect (docs/flows/click-and-collect.md). The hold period is per store (Location.pickup_hold_days).
    pickup_reminder_hours: float = Field(
        default=24.0, ge=0, le=24 * 90, description="A ready pickup's customer is reminded this long before its hold period ends; 0: no reminders."
    )
    pickup_sweep_interval_seconds: float = Field(
        default=300.0, ge=0, description="How often `serve` sends due pickup reminders and expires uncollected pickups; 0 turns it off."
    )
    pickup_checkin_max_failures: int = Field(
        default=10, ge=1, le=10_000, description="Curbside check-ins with an unknown code a client address may make per window before 429."
    )
    pickup_checkin_window_seconds: float = Field(default=900.0, gt=0, le=86_400, description="The window of pickup_checkin_max_failures.")

    # The store app's sign-in (docs/store-app.md): staff PINs exchanged for a short-lived picker session.
    staff_session_hours: float = Field(default=10.0, gt=0, le=24, description="A staff session ends this long after sign-in, used or not.")
    staff_idle_minutes: float = Field(
        default=15.0, ge=2, le=24 * 60, description="A staff session unused this long is signed out (checked to the minute)."
    )
    staff_sign_in_max_failures: int = Field(
        default=5, ge=1, le=1_000, description="Wrong PINs a client address may enter at one store per window before it is locked out (429)."
    )
    staff_sign_in_store_max_failures: int = Field(
        default=20, ge=1, le=10_000, description="Wrong PINs at one store from all addresses per window before every sign-in there is locked out."
    )
    staff_sign_in_window_seconds: float = Field(default=900.0, gt=0, le=86_400, description="The window of the two sign-in failure limits.")

    # Channels (docs/channels.md): availability buckets, promises and checkout holds.
    availability_limited_max: int = Field(
        default=3, ge=0, le=1_000_000,
        description="Available units up to which a store's product is advertised as limited_availability (0: never); above, in_stock.",
    )
    cutoff_time: str = Field(
        default="14:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time after which an order is handled from the next opening day, for locations without their own.",
    )
    pickup_ready_minutes: int = Field(
        default=120, ge=0, le=24 * 60, description="Minutes a store needs to pick a click-and-collect order it holds in stock.",
    )
    hold_max_seconds: int = Field(default=3600, ge=1, le=86_400, description="Longest checkout hold a channel may ask for.")
    hold_sweep_interval_seconds: float = Field(
        default=5.0, ge=0, description="How often `serve` releases expired checkout holds; 0 turns it off (`fulfil holds sweep`)."
    )

    # Customer tracking (docs/tracking.md): GET /api/v1/track/{code} takes no token; unknown codes are limited.
    tracking_max_failures: int = Field(
        default=10, ge=1, le=10_000, description="Lookups with an unknown tracking code or pickup code a client address may make per window before 429.",
    )
    tracking_window_seconds: float = Field(default=900.0, gt=0, le=86_400, description="The window of tracking_max_failures.")
    # Webhooks (docs/webhooks.md): the outbox's dispatcher inside `serve` (or `fulfil webhooks dispatch`).
    webhook_dispatch_interval_seconds: float = Field(
        default=0.25, ge=0, le=60,
        description="How often `serve`'s dispatcher looks for new events and deliveries due; 0 turns it off (run `fulfil webhooks dispatch`).",
    )
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, le=60, description="Connect, send and read timeout of each webhook request (no redirects are followed).",
    )
    webhook_lease_seconds: float = Field(
        default=60.0, gt=0, le=3600,
        description="How long a dispatcher holds a delivery it is sending; one killed mid-request is retried after it (> 3 x the timeout).",
    )
    webhook_workers: int = Field(default=8, ge=1, le=64, description="Requests a dispatcher sends at once.")
    webhook_endpoint_concurrency: int = Field(
        default=4, ge=1, le=64, description="Requests a dispatcher sends at once to one endpoint, so a slow endpoint cannot take every worker.",
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_request(self) -> Settings:
        """A delivery's lease must outlast its request (connect, send, read: each up to the timeout), or a second
        dispatcher could send it while the first is still waiting for the answer."""
        if self.webhook_lease_seconds <= 3 * self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must be more than 3 x webhook_timeout_seconds")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
