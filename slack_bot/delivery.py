"""Sending a rendered Reply: into a Slack thread, or back through a slash command's response_url.

If Slack rejects a message's blocks (a table it will not take), the same words go again as plain
text, so the person still gets an answer.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_bot.render import MESSAGE_CHARS, CsvFile, Reply, SlackMessage

log = logging.getLogger("keen.slack")

RESPONSE_URL_MESSAGES = 5  # Slack accepts five responses per response_url
BLOCK_ERRORS = {"invalid_blocks", "invalid_attachments", "invalid_blocks_format", "msg_too_long"}
CSV_FAILED = "I could not attach the full table as a CSV file."


def plain_text(message: SlackMessage) -> str:
    """The message's section texts as one mrkdwn text, for when blocks are refused."""
    texts = [
        block["text"]["text"]
        for block in message.blocks
        if block.get("type") == "section" and isinstance(block.get("text"), dict)
    ]
    return ("\n\n".join(texts) or message.text)[:MESSAGE_CHARS]


class Target(Protocol):
    async def post(self, message: SlackMessage) -> None: ...

    async def upload(self, file: CsvFile) -> None: ...


class ThreadTarget:
    """Replies in a channel or DM thread with the bot token."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts

    async def _send(self, **payload: Any) -> None:
        await self.client.chat_postMessage(
            channel=self.channel,
            thread_ts=self.thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            link_names=False,
            **payload,
        )

    async def post(self, message: SlackMessage) -> None:
        try:
            await self._send(
                text=message.text,
                blocks=message.blocks or None,
                attachments=message.attachments or None,
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in BLOCK_ERRORS:
                raise
            log.warning("Slack refused the blocks (%s); sending text", exc.response.get("error"))
            await self._send(text=plain_text(message))

    async def upload(self, file: CsvFile) -> None:
        await self.client.files_upload_v2(
            channel=self.channel,
            thread_ts=self.thread_ts,
            filename=file.filename,
            title=file.title,
            content=file.content,
        )


class ResponseUrlTarget:
    """Answers a slash command through its response_url; CSV files go to the person's DM,
    since the bot may not be a member of the channel the command came from."""

    def __init__(self, respond: AsyncRespond, client: AsyncWebClient, user_id: str) -> None:
        self.respond = respond
        self.client = client
        self.user_id = user_id
        self.sent = 0

    async def post(self, message: SlackMessage) -> None:
        if self.sent >= RESPONSE_URL_MESSAGES:
            log.warning("Slash command answer longer than %d messages: rest dropped", self.sent)
            return
        self.sent += 1
        await self.respond(
            text=message.text,
            blocks=message.blocks or None,
            attachments=message.attachments or None,
            response_type="in_channel",
            replace_original=False,
            unfurl_links=False,
            unfurl_media=False,
        )

    async def upload(self, file: CsvFile) -> None:
        opened = await self.client.conversations_open(users=self.user_id)
        await self.client.files_upload_v2(
            channel=opened["channel"]["id"],
            filename=file.filename,
            title=file.title,
            content=file.content,
        )


async def deliver(reply: Reply, target: Target) -> None:
    """Every message in order, then the CSV files; a failed upload is said, not hidden."""
    for message in reply.messages:
        await target.post(message)
    for file in reply.files:
        try:
            await target.upload(file)
        except SlackApiError as exc:
            log.warning("CSV upload of %r failed: %s", file.filename, exc.response.get("error"))
            await target.post(SlackMessage(text=CSV_FAILED, blocks=[]))
