"""Questions as people ask them, in a real headless browser: a follow-up and a misspelled question."""

import pytest
from browser_support import ARTIFACTS, ask_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.model]


def ask_next(page, question: str, rows: int) -> str:
    """Ask ``question`` in the open chat and wait for its answer (``rows`` messages in all)."""
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function("n => document.querySelectorAll('#chat .message-row').length >= n", arg=rows, timeout=60_000)
    page.wait_for_selector("#slide mark", timeout=30_000)
    return page.locator("#chat .message-row").last.inner_text()


def test_a_follow_up_is_answered_with_its_reading_shown(browser, shipped_app):
    page, alerts = ask_in_browser(browser, shipped_app, "What was the total e-Government budget in 2010?")
    assert "33,095" in page.inner_text("#chat")
    message = ask_next(page, "And in 2011?", 4)
    assert "Taken with your previous question: What was the total e-Government budget in 2011?" in message
    assert "33,023" in message and "Slide 8: Budget" in message
    # The user's own words stay as typed in the chat.
    assert page.locator("#chat .message-row").nth(2).inner_text().strip() == "And in 2011?"
    assert page.inner_text("#slide .slide-title") == "Slide 8: Budget"
    page.wait_for_timeout(1000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-follow-up.png"))
    assert alerts == []


def test_a_misspelled_question_is_read_with_its_words_corrected(browser, shipped_app):
    page, alerts = ask_in_browser(browser, shipped_app, "How many e-vilages were established in rurral regions?")
    message = page.locator("#chat .message-row").last.inner_text()
    assert "Read as: How many e-villages were established in rural regions?" in message
    assert "vilages → villages, rurral → rural" in message
    assert "363" in message and "363" in page.inner_text("#slide mark")
    page.wait_for_timeout(1000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-typo.png"))
    assert alerts == []
