"""Markdown → Slack mrkdwn, splitting within Slack's limits, and tables as Block Kit + CSV."""

from __future__ import annotations

import csv
import io

from agent.answer import DataTable
from slack_bot.mrkdwn import escape, markdown_to_mrkdwn, slack_to_plain
from slack_bot.render import (
    EMPTY_CELL,
    UNGROUNDED_NOTE,
    render_answer,
    split_text,
    strip_shown_tables,
    table_block,
    table_csv,
    text_messages,
)


def _table(rows: int, columns: int = 3, title: str = "Stuck leads") -> DataTable:
    names = [f"c{j}" for j in range(columns)]
    return DataTable(
        title=title,
        columns=names,
        rows=[[f"r{i}-{j}" for j in range(columns)] for i in range(rows)],
    )


# ----------------------------------------------------------------------------- mrkdwn


def test_bold_italic_strike_headings_and_bullets() -> None:
    markdown = "# Stuck **leads**\n**3 leads** are *stuck*, ~~none~~ lost.\n- one\n* two"
    assert markdown_to_mrkdwn(markdown) == (
        "*Stuck leads*\n*3 leads* are _stuck_, ~none~ lost.\n• one\n• two"
    )


def test_multiplication_is_not_italics() -> None:
    assert markdown_to_mrkdwn("2 * 3 * 4 = 24") == "2 * 3 * 4 = 24"


def test_control_characters_are_escaped_so_data_cannot_ping_or_link() -> None:
    note = "Call <!channel> & <@U42> <https://evil.test|bank> @here"
    assert markdown_to_mrkdwn(note) == (
        "Call &lt;!channel&gt; &amp; &lt;@U42&gt; &lt;https://evil.test|bank&gt; @\u200bhere"
    )


def test_links_keep_their_address_visible() -> None:
    assert markdown_to_mrkdwn("see [the guide](https://k.test/a?b=1&c=2)") == (
        "see the guide (<https://k.test/a?b=1&amp;c=2>)"
    )
    assert markdown_to_mrkdwn("[https://k.test](https://k.test)") == "<https://k.test>"


def test_only_web_and_mail_links_become_links() -> None:
    assert markdown_to_mrkdwn("[x](javascript:alert(1))") == "[x](javascript:alert(1))"


def test_code_is_kept_verbatim_but_escaped() -> None:
    markdown = "run `**a** < b`\n```python\nx = **y** & z\n```"
    assert markdown_to_mrkdwn(markdown) == "run `**a** &lt; b`\n```\nx = **y** &amp; z\n```"


def test_pipe_tables_become_monospace_blocks() -> None:
    markdown = "Totals:\n| a | b |\n|---|---|\n| 1 | 2 |\nDone."
    assert markdown_to_mrkdwn(markdown) == (
        "Totals:\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n```\nDone."
    )


def test_escape_of_broadcast_words() -> None:
    assert (
        escape("@channel @Everyone hi@here.com")
        == "@\u200bchannel @\u200bEveryone hi@\u200bhere.com"
    )


def test_slack_text_back_to_the_question() -> None:
    text = "<@UBOT> leads in <#C1|general> from <@U2> at <https://a.test|site> &lt;b&gt; &amp;amp;"
    assert slack_to_plain(text, "UBOT") == "leads in #general from @U2 at site <b> &amp;"


# ----------------------------------------------------------------------------- splitting


def test_split_at_line_boundaries_within_3000() -> None:
    # 70 lines of 99 characters; a piece holds n lines in 100n - 1 characters and keeps 4 spare
    # for closing a fence: 100n - 1 <= 2996 -> n = 29. So 29 + 29 + 12 lines.
    lines = [f"{i:02d}" + "x" * 97 for i in range(70)]
    pieces = split_text("\n".join(lines))
    assert [p.count("\n") + 1 for p in pieces] == [29, 29, 12]
    assert all(len(p) <= 3000 for p in pieces)
    assert "\n".join(pieces) == "\n".join(lines)


def test_split_one_long_line_hard() -> None:
    # No spaces: cut at 3000 - 4 (fence reserve) - 4 ("```\n" reserve) = 2992 characters.
    pieces = split_text("y" * 7000)
    assert [len(p) for p in pieces] == [2992, 2992, 1016]


def test_split_never_cuts_an_escape() -> None:
    text = "a" * 2990 + "&amp;" + "b" * 100  # "&amp;" spans characters 2990..2994
    first = split_text(text)[0]
    assert first == "a" * 2990


def test_split_code_fence_is_closed_and_reopened() -> None:
    code = "\n".join(f"line {i:03d} " + "z" * 40 for i in range(200))
    pieces = split_text(f"intro\n```\n{code}\n```\noutro")
    assert len(pieces) > 1
    for piece in pieces:
        assert piece.count("```") % 2 == 0, piece[:40]
        assert len(piece) <= 3000
    assert pieces[1].startswith("```\nline")


def test_long_answer_becomes_several_messages() -> None:
    # 1000 lines of 99 chars -> 35 sections (34 of 29 lines, 2899 chars; one of 14 lines).
    # A message takes sections while they fit in 40,000 - 300 = 39,700 characters:
    # 13 x 2899 = 37,687 fits, 14 x 2899 = 40,586 does not -> 13 + 13 + 9.
    text = "\n".join("w" * 99 for _ in range(1000))
    messages = text_messages(text)
    assert [len(m.blocks) for m in messages] == [13, 13, 9]
    for message in messages:
        assert sum(len(b["text"]["text"]) for b in message.blocks) + len(message.text) <= 40_000
        assert len(message.text) <= 300


# ----------------------------------------------------------------------------- tables


def test_table_block_within_100_rows() -> None:
    fit = table_block(_table(150))
    rows = fit.block["rows"]
    assert fit.block["type"] == "table"
    assert len(rows) == 100  # header + 99
    assert rows[0][0] == {"type": "raw_text", "text": "c0"}
    assert rows[99][2] == {"type": "raw_text", "text": "r98-2"}
    assert (fit.rows_shown, fit.columns_shown, fit.complete) == (99, 3, False)


def test_table_block_within_20_columns_and_10000_characters() -> None:
    fit = table_block(_table(150, columns=25))
    # 20 of 25 columns. Header "c0".."c19": 10 x 2 + 10 x 3 = 50 characters.
    # Rows 0-9 ("r0-0".."r0-19"): 10 x 4 + 10 x 5 = 90 each -> 50 + 900 = 950.
    # Rows 10-99 are one digit longer: 110 each; (10,000 - 950) // 110 = 82 more rows
    # (950 + 82 x 110 = 9,970; one more would make 10,080). Shown: 10 + 82 = 92 rows.
    assert {len(r) for r in fit.block["rows"]} == {20}
    assert (fit.rows_shown, fit.columns_shown, fit.complete) == (92, 20, False)
    assert sum(len(c["text"]) for r in fit.block["rows"] for c in r) == 9_970


def test_small_table_is_complete_and_aligns_numbers() -> None:
    table = DataTable(
        title="Revenue",
        columns=["channel", "revenue"],
        rows=[["Atlas", "1250.00"], ["Delta", None]],
    )
    fit = table_block(table)
    assert fit.complete
    assert fit.block["rows"][2] == [
        {"type": "raw_text", "text": "Delta"},
        {"type": "raw_text", "text": EMPTY_CELL},
    ]
    assert fit.block["column_settings"] == [{"is_wrapped": True}, {"align": "right"}]


def test_table_char_budget_limits_rows() -> None:
    # Each cell clipped to 300 chars; a 3-column row is 900 chars; the header "c0 c1 c2" is 6.
    # 6 + 11 x 900 = 9,906 <= 10,000, a 12th row would make 10,806: 11 rows shown.
    table = DataTable(title="Notes", columns=["c0", "c1", "c2"], rows=[["n" * 400] * 3] * 20)
    fit = table_block(table)
    assert fit.rows_shown == 11
    assert fit.block["rows"][1][0]["text"] == "n" * 299 + "…"
    assert not fit.complete


def test_csv_holds_every_row_and_column() -> None:
    file = table_csv(_table(150, columns=25, title="Stuck leads / Q3"))
    assert file.filename == "stuck-leads-q3.csv"
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    assert len(rows) == 151 and len(rows[0]) == 25
    assert rows[150][24] == "r149-24"


def test_csv_keeps_empty_cells_empty() -> None:
    table = DataTable(title="", columns=["id", "owner"], rows=[["l-1", None], ["l-2", ""]])
    file = table_csv(table)
    assert (file.filename, file.title) == ("table.csv", "Table")
    assert file.content.decode("utf-8-sig") == "id,owner\r\nl-1,\r\nl-2,\r\n"


def test_answer_with_small_table_is_one_message() -> None:
    reply = render_answer("**2 channels**", [_table(2)])
    assert len(reply.messages) == 1 and reply.files == []
    message = reply.messages[0]
    assert message.blocks[0]["text"]["text"] == "*2 channels*"
    assert message.blocks[1]["elements"][0]["text"] == "*Stuck leads* · 2 rows"
    assert message.attachments[0]["blocks"][0]["type"] == "table"


def test_answer_with_large_table_gets_a_csv() -> None:
    reply = render_answer("150 leads", [_table(150)])
    assert [f.rows for f in reply.files] == [150]
    caption = reply.messages[0].blocks[1]["elements"][0]["text"]
    assert (
        caption
        == "*Stuck leads* · 150 rows · showing first 99 rows; full table in the CSV file below"
    )


def test_one_table_block_per_message_and_csv_beyond_three() -> None:
    reply = render_answer("five tables", [_table(2, title=f"T{i}") for i in range(5)])
    # T0 rides on the text message, T1 and T2 get their own; T3 and T4 only as CSV files.
    assert len(reply.messages) == 3
    assert all(len(m.attachments) == 1 for m in reply.messages)
    assert [f.title for f in reply.files] == ["T3", "T4"]


def test_ungrounded_answers_say_so() -> None:
    reply = render_answer("42 leads", grounded=False)
    assert reply.messages[-1].blocks[-1]["elements"][0]["text"] == UNGROUNDED_NOTE


def test_empty_answer_still_replies() -> None:
    assert (
        render_answer("  ").messages[0].blocks[0]["text"]["text"]
        == "I could not find an answer to that."
    )


def test_pipe_table_repeating_a_data_table_is_dropped() -> None:
    markdown = "2 leads match.\n\n| c0 | c1 |\n| --- | --- |\n| a | b |\n\nAnd 0 more."
    assert strip_shown_tables(markdown, [_table(2)]) == "2 leads match.\n\nAnd 0 more."
    other = "| x | y |\n| 1 | 2 |"
    assert strip_shown_tables(other, [_table(2)]) == other
