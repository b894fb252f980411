"""Slack configuration, read from the environment (and `.env`) like the rest of Keen."""

from __future__ import annotations

import logging
import re

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)
_MAP_ENTRY = re.compile(r"^\s*([A-Za-z0-9]+)\s*=\s*([^:\s]+)\s*:\s*(\S+@\S+)\s*$")


class SlackSettings(BaseSettings):
    """`SLACK_SIGNING_SECRET` and `SLACK_BOT_TOKEN` switch the bot on.

    `SLACK_API_URL` points the Web API client elsewhere (a proxy, or a local fake in tests).
    `SLACK_USER_MAP` links Slack users without the database: `U123=ORG:EMAIL,U456=ORG:EMAIL`.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    api_url: str | None = Field(default=None, validation_alias="SLACK_API_URL")
    user_map: str | None = Field(default=None, validation_alias="SLACK_USER_MAP")

    @property
    def configured(self) -> bool:
        return bool(self.signing_secret and self.bot_token)

    @property
    def base_url(self) -> str | None:
        """The Web API base URL, with the trailing slash the Slack SDK expects."""
        if not self.api_url:
            return None
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"

    def user_links(self) -> dict[str, tuple[str, str]]:
        """`SLACK_USER_MAP` as {slack user id: (org slug, email)}; bad entries are logged."""
        links: dict[str, tuple[str, str]] = {}
        for entry in re.split(r"[,;\n]", self.user_map or ""):
            if not entry.strip():
                continue
            match = _MAP_ENTRY.match(entry)
            if match is None:
                log.warning("SLACK_USER_MAP: ignoring %r (expected U123=ORG:EMAIL)", entry.strip())
                continue
            links[match.group(1).upper()] = (match.group(2), match.group(3))
        return links
