"""Fulfil's configuration: one Settings class read from FULFIL_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Every tunable of the service; `FULFIL_<NAME>` in the environment or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="FULFIL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATA_DIR / 'fulfil.db'}",
        description="SQLAlchemy URL. SQLite file under ./var/ by default; postgresql+psycopg://... in production.",
    )
    database_echo: bool = False
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://user:pass@host:port or mqtts://... of the broker readers publish to; unset = no MQTT ingest.",
    )
    readers_config: Path | None = Field(default=None, description="TOML file listing readers; ingest starts with `serve` when set.")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    api_title: str = "Fulfil"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
