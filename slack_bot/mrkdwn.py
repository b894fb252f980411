"""Markdown (the assistant's answers) to Slack mrkdwn, and Slack message text back to plain words.

Everything outside our own markup is escaped (`&`, `<`, `>`), so text that came from the data
(lead notes, partner names) can never ping `@channel`, mention someone or hide a link: notes are
data, not instructions.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*```")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|mailto:)[^\s()]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_MENTION_TOKEN = re.compile(r"<([@#!])([^<>|]*)(?:\|([^<>]*))?>")
_LINK_TOKEN = re.compile(r"<([^<>|@#!][^<>|]*)(?:\|([^<>]*))?>")

BOLD_MARK = "\x01"  # placeholder so italics do not re-read the `*` of converted bold


def escape(text: str) -> str:
    """Slack's three control characters, plus a zero-width break in @channel/@here/@everyone."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@\u200b" + m.group(1), text)


def _inline(text: str) -> str:
    """Inline markup of one line: code spans are kept verbatim (escaped), the rest converted."""
    parts: list[str] = []
    last = 0
    for match in _INLINE_CODE.finditer(text):
        parts.append(_inline_words(text[last : match.start()]))
        parts.append("`" + escape(match.group(2)) + "`")
        last = match.end()
    parts.append(_inline_words(text[last:]))
    return "".join(parts)


def _inline_words(text: str) -> str:
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        # The address stays visible: a label from the data must not disguise where it goes.
        shown = f"<{escape(url)}>" if label.strip() == url else f"{escape(label)} (<{escape(url)}>)"
        links.append(shown)
        return f"\x02{len(links) - 1}\x02"

    text = escape(_LINK.sub(keep_link, text))
    text = _BOLD.sub(lambda m: f"{BOLD_MARK}{m.group(2)}{BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = text.replace(BOLD_MARK, "*")
    return re.sub("\x02(\\d+)\x02", lambda m: links[int(m.group(1))], text)


def _plain_heading(text: str) -> str:
    """A heading becomes one bold line; its own bold markers would nest, so they go."""
    return "*" + _inline(text.replace("**", "").replace("__", "")).strip("*") + "*"


def markdown_to_mrkdwn(markdown: str) -> str:
    """Convert the assistant's Markdown to Slack mrkdwn, line by line.

    Code fences stay fences (without a language), pipe tables become monospace blocks (Slack
    has no inline tables), headings become bold lines, bullets become "•".
    """
    out: list[str] = []
    in_fence = False
    in_table = False
    for line in markdown.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            if in_table:
                out.append("```")
                in_table = False
            out.append("```")
            in_fence = not in_fence
            continue
        if in_fence:
            out.append(escape(line))
            continue
        if _TABLE_ROW.match(line):
            if not in_table:
                out.append("```")
                in_table = True
            out.append(escape(line.strip()))
            continue
        if in_table:
            out.append("```")
            in_table = False
        out.append(_block_line(line))
    if in_table or in_fence:
        out.append("```")
    return "\n".join(out).strip("\n")


def _block_line(line: str) -> str:
    if heading := _HEADING.match(line):
        return _plain_heading(heading.group(1))
    if _RULE.match(line):
        return "──────────"
    if bullet := _BULLET.match(line):
        return f"{bullet.group(1)}• {_inline(bullet.group(2))}"
    if quote := _QUOTE.match(line):
        return "> " + _inline(quote.group(1))
    return _inline(line)


def slack_to_plain(text: str, bot_user_id: str | None = None) -> str:
    """A Slack message as the words the user typed: the bot's mention removed, other mentions
    and links shown as their labels, Slack's escapes undone."""

    def token(match: re.Match[str]) -> str:
        kind, ident, label = match.group(1), match.group(2), match.group(3)
        if kind == "@" and bot_user_id and ident == bot_user_id:
            return ""
        if label:
            return ("#" if kind == "#" else "@" if kind == "@" else "") + label
        return {"@": "@", "#": "#", "!": "@"}[kind] + ident

    text = _MENTION_TOKEN.sub(token, text or "")
    text = _LINK_TOKEN.sub(lambda m: m.group(2) or m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", text).strip()
