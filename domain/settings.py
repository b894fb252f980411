"""Runtime settings read from the environment (and `.env`), in one place for every layer."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of `interfaces.md`, plus the metric thresholds of `metrics.md`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    keen_data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir("keen-assistant")),
        validation_alias="KEEN_DATA_DIR",
    )
    keen_today: date | None = Field(default=None, validation_alias="KEEN_TODAY")
    keen_model: str | None = Field(default=None, validation_alias="KEEN_MODEL")
    openai_api_key: str | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    chroma_url: str | None = Field(default=None, validation_alias="CHROMA_URL")
    keen_embeddings: str = Field(default="local", validation_alias="KEEN_EMBEDDINGS")

    stuck_after_days: int = 14
    response_sla_days: int = 2
    payout_overdue_days: int = 30
    min_leads_for_rate: int = 5
    no_recent_leads_days: int = 30

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.keen_data_dir / 'keen.db'}"

    @property
    def model(self) -> str:
        """`KEEN_MODEL`, defaulting as interfaces.md says."""
        if self.keen_model:
            return self.keen_model
        return "openai:gpt-4.1-mini" if self.openai_api_key else "offline"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings are read once per process; tests clear the cache after changing the env."""
    return Settings()
