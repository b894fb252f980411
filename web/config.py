"""Settings of the HTTP layer (rate limits, size limits, CORS), read from the environment."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Defaults suit one team; raise the limits for a busy deployment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    rate_per_minute: float = Field(default=60, gt=0, validation_alias="KEEN_RATE_LIMIT_PER_MINUTE")
    rate_burst: int = Field(default=20, ge=1, validation_alias="KEEN_RATE_LIMIT_BURST")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, validation_alias="KEEN_MAX_BODY_BYTES")
    cors_origins: str = Field(default="*", validation_alias="KEEN_CORS_ORIGINS")
    demo_token_ttl_s: int = Field(default=3600, ge=60, validation_alias="KEEN_DEMO_TOKEN_TTL")

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
