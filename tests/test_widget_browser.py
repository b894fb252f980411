"""The web widget in headless Chromium against a real `keen serve --demo`.

Needs the Debian `chromium` package (/usr/bin/chromium); Playwright's own browser download is
never used. Without Chromium the test is skipped, except in CI where it must run.
Screenshots land in test-artifacts/ (widget.png, widget-phone.png).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.testing import RunningServer, running_server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTION = "Which reward reports need attention?"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ANSWER_READY = (
    "() => document.querySelector('#keen-widget')"
    ".shadowRoot.querySelector('[aria-live]').textContent === 'Answer ready'"
)
ACTIVE_ELEMENT = (
    "() => { const a = document.querySelector('#keen-widget').shadowRoot.activeElement;"
    " return a ? (a.getAttribute('aria-label') || a.tagName) : null; }"
)

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; CI must run the browser test", pytrace=False)
    pytest.skip(
        f"{CHROMIUM} is missing: `apt-get install -y chromium` to run the widget test",
        allow_module_level=True,
    )

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("keen-widget")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


def test_widget_answers_keeps_the_thread_and_is_keyboard_friendly(
    server: RunningServer, browser: object
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/")

    launcher = page.get_by_role("button", name="Open Keen assistant")
    launcher.click()
    panel = page.get_by_role("dialog", name="Keen assistant")
    sync_api.expect(panel).to_be_visible()
    # focus moves into the panel, suggestions show on an empty thread
    page.wait_for_function(f"() => ({ACTIVE_ELEMENT})() === 'Your question'")
    sync_api.expect(page.get_by_role("button", name=QUESTION)).to_be_visible()

    page.get_by_role("textbox", name="Your question").fill(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_function(ANSWER_READY, timeout=120_000)
    answer = page.locator(".msg.bot .bubble").last
    sync_api.expect(answer).to_contain_text("reward report")
    sync_api.expect(answer.locator("table").first).to_be_visible()
    assert answer.locator("table th").count() > 3
    page.screenshot(path=str(ARTIFACTS / "widget.png"))

    # the thread survives a reload: history comes back from GET /api/threads/{id}
    page.reload()
    page.get_by_role("button", name="Open Keen assistant").click()
    user_turn = page.locator(".msg.user .bubble").first
    sync_api.expect(user_turn).to_have_text(QUESTION)
    sync_api.expect(page.locator(".msg.bot .bubble table").first).to_be_visible()
    assert page.get_by_role("button", name=QUESTION).count() == 0  # no suggestions any more

    # Escape closes and gives the focus back to the launcher
    page.get_by_role("textbox", name="Your question").focus()
    page.keyboard.press("Escape")
    sync_api.expect(panel).to_be_hidden()
    assert page.evaluate(ACTIVE_ELEMENT) == "Open Keen assistant"
    assert launcher.get_attribute("aria-expanded") == "false"

    # nothing was fetched from anywhere but the Keen server
    assert requests and all(url.startswith(server.url) for url in requests), requests
    assert not errors
    context.close()


def test_widget_draws_a_funnel_chart_and_fills_a_phone_screen(
    server: RunningServer, browser: object
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_role("button", name="Open Keen assistant").click()
    box = page.get_by_role("dialog", name="Keen assistant").bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)

    page.get_by_role("button", name="Show the lead funnel").click()
    page.wait_for_function(ANSWER_READY, timeout=120_000)
    chart = page.get_by_role("img", name="Funnel").first
    sync_api.expect(chart).to_be_visible()
    assert page.locator("svg.chart rect.bar").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    context.close()


PAYLOADS = {
    "html": "<img src=x onerror=alert(1)> <script>alert(2)</script> <b>bold?</b>",
    "js_link": "[click](javascript:alert(1)) [data](data:text/html,hi)",
    "good_link": "[docs](https://example.com/a?b=1&c=2)",
    "image": "![logo](https://example.com/logo.png)",
    "attr_break": '[x](https://e.com/"onmouseover="alert(1))',
    "markdown": "**Bold** and `code`\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | <i>2</i> |",
}


def test_markdown_renderer_escapes_everything_and_allows_only_http_links(
    server: RunningServer, browser: object
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server.url + "/")
    page.wait_for_function("() => !!window.KeenWidget")
    result = page.evaluate(
        """(payloads) => {
            const out = {};
            for (const [name, md] of Object.entries(payloads)) {
                const t = document.createElement('template');
                t.innerHTML = window.KeenWidget.renderMarkdown(md);
                const c = t.content;
                out[name] = {
                    tags: [...c.querySelectorAll('*')].map(e => e.tagName.toLowerCase()),
                    links: [...c.querySelectorAll('a')].map(a => [a.getAttribute('href'), a.rel]),
                    handlers: [...c.querySelectorAll('*')].flatMap(
                        e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on')),
                    text: c.textContent,
                };
            }
            return out;
        }""",
        PAYLOADS,
    )
    for name, rendered in result.items():
        assert not {"img", "script", "b", "i", "iframe"} & set(rendered["tags"]), name
        assert rendered["handlers"] == [], name
    assert "<img src=x onerror=alert(1)>" in result["html"]["text"]  # shown as text
    assert result["js_link"]["links"] == []
    assert result["good_link"]["links"] == [
        ["https://example.com/a?b=1&c=2", "noopener noreferrer"]
    ]
    assert result["image"]["links"] == [] and "logo" in result["image"]["text"]
    assert {"strong", "code", "ul", "li", "table", "th", "td"} <= set(result["markdown"]["tags"])
    assert "<i>2</i>" in result["markdown"]["text"]
    page.close()
