"""End to end in a real headless browser: asking, citations, thumbs, the slide browser, a phone."""

import shutil

import pytest
from browser_support import ARTIFACTS, ask_in_browser, start_app

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_ask_see_the_quote_open_a_citation(browser, shipped_app):
    page, alerts = ask_in_browser(browser, shipped_app, "How long does export customs clearance take now?")
    chat_text = page.inner_text("#chat")
    assert "Customs Clearance Service (export clearance)" in chat_text
    assert "2-min" in chat_text and "Slide 9: Services to the People" in chat_text
    # The slide is a card: the table with its headers, the quoted row marked, the key fact in bold.
    assert page.locator("#slide table.slide-table th").all_inner_texts() == ["", "", "Before", "After"]
    assert page.inner_text("#slide mark b") == "2-min"
    assert "Customs Clearance Service (export clearance)" in page.inner_text("#slide tr.quoted")
    assert page.inner_text("#slide .slide-title") == "Slide 9: Services to the People"
    page.wait_for_timeout(1000)  # let the panel settle before the picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-shipped.png"))

    labels = page.locator("#citations label")
    assert labels.count() == 3
    second = labels.nth(1).inner_text()
    labels.nth(1).click()
    slide_number = second.split("Slide ", 1)[1].split(":", 1)[0]
    page.wait_for_function(
        "n => document.querySelector('#slide .slide-title').innerText.startsWith('Slide ' + n + ':')",
        arg=slide_number,
        timeout=30_000,
    )
    page.click("#next")
    page.wait_for_function(
        "n => document.querySelector('#slide .slide-title').innerText.startsWith('Slide ' + n + ':')",
        arg=str(int(slide_number) + 1),
        timeout=30_000,
    )
    page.screenshot(path=str(ARTIFACTS / "chat-citation.png"))
    assert alerts == []


def test_thumbs_clear_and_go_to_slide(browser, shipped_app):
    page, alerts = ask_in_browser(browser, shipped_app, "How long does export customs clearance take now?")
    title = page.inner_text("#app-title")
    assert title == "e-Government of Korea: ask the deck"
    page.locator("#chat button[aria-label='Like']").last.click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('feedback was saved')")
    # The thumb stays shown as chosen once the chat is drawn again.
    page.wait_for_selector("#chat button[aria-label='Liked']", timeout=10_000)
    page.fill("#question textarea", "What does MOPAS stand for?")
    page.press("#question textarea", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#chat .message-row').length >= 4", timeout=60_000)
    page.wait_for_selector("#chat button[aria-label='Liked']", timeout=10_000)
    page.wait_for_selector("#slide mark", timeout=30_000)
    cited = page.inner_text("#slide .slide-title").split(":", 1)[0].removeprefix("Slide ")
    elsewhere = "5" if cited != "5" else "6"
    # Typing a number opens its slide without Enter.
    page.fill("#goto input", elsewhere)
    page.wait_for_function(
        "n => document.querySelector('#slide .slide-title').innerText.startsWith('Slide ' + n + ':')",
        arg=elsewhere,
        timeout=30_000,
    )
    page.fill("#goto input", cited)
    page.wait_for_selector("#slide mark", timeout=30_000)
    page.click("#clear")
    page.wait_for_function("() => !document.querySelector('#slide mark')", timeout=30_000)
    assert page.inner_text("#slide .slide-title").startswith(f"Slide {cited}:")
    assert page.locator("#chat .message-row").count() == 0
    assert alerts == []


def test_a_phone_shows_the_answer_and_the_top_of_its_slide(browser, shipped_app):
    phone = {"width": 390, "height": 844}
    page, alerts = ask_in_browser(browser, shipped_app, "How long does export customs clearance take now?", phone)
    page.wait_for_timeout(1000)
    answer = page.locator("#chat .message-row").last.bounding_box()
    slide_title = page.locator("#slide .slide-title").bounding_box()
    assert page.evaluate("window.scrollY") == 0
    assert 0 <= answer["y"] and answer["y"] + answer["height"] <= phone["height"]
    assert slide_title["y"] + slide_title["height"] <= phone["height"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-phone.png"))
    assert alerts == []


def test_a_pdf_page_shows_the_quote_boxed(browser, tmp_path):
    from io import BytesIO

    import numpy as np
    from conftest import DATA
    from PIL import Image

    from egov_qa.app.page_image import QUOTE_EDGE

    corpus = tmp_path / "pdfs"
    corpus.mkdir()
    shutil.copy(DATA / "nist-oscal-slides-2020-03-26.pdf", corpus)
    shutil.copy(DATA / "nist-oscal-high-level-overview-2018-01.pptx", corpus)
    process, url = start_app(tmp_path, "--corpus", str(corpus))
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#slide .slide-title", timeout=60_000)
        assert page.inner_text("#app-title") == (
            "Ask nist-oscal-high-level-overview-2018-01 and nist-oscal-slides-2020-03-26"
        )
        # Only the PDF deck: the answer must come from it.
        page.click("#deck input")
        page.get_by_role("option", name="nist-oscal-slides-2020-03-26", exact=True).click()
        page.fill("#question textarea", "What is the purpose of the OSCAL Lunch with the Developers?")
        page.press("#question textarea", "Enter")
        page.wait_for_selector("#slide mark", timeout=60_000)
        page.wait_for_selector("#page img", timeout=30_000)
        page.wait_for_timeout(1000)
        picture = Image.open(BytesIO(page.locator("#page img").screenshot())).convert("RGB")
        near = np.abs(np.asarray(picture, dtype=int) - np.array(QUOTE_EDGE[:3])).max(axis=2) <= 30
        edge = int(near.sum())
        assert edge > 50, "the quote's box is not drawn on the page"
        assert "nist-oscal-slides-2020-03-26.pdf" in page.inner_text("#slide .slide-source")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-pdf.png"))
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_link_opens_the_app_on_a_slide(browser, shipped_app):
    page = browser.new_page()
    page.goto(shipped_app + "?slide=21")
    page.wait_for_function(
        "() => (document.querySelector('#slide .slide-title') || {}).innerText === "
        "'Slide 21: 4. Information Network Villages'",
        timeout=60_000,
    )


def test_hostile_deck_shows_as_text_in_the_browser(browser, tmp_path):
    corpus = tmp_path / "hostile"
    corpus.mkdir()
    (corpus / "deck.md").write_text(
        "# Security\n\nThe portal rejects <img src=x onerror=alert(1)> in forms.\n\n<script>alert('x')</script>\n",
        encoding="utf-8",
    )
    process, url = start_app(tmp_path, "--corpus", str(corpus))
    try:
        page, alerts = ask_in_browser(browser, url, "What does the portal reject in forms?")
        assert "<img src=x onerror=alert(1)>" in page.inner_text("#slide")
        assert "<img src=x onerror=alert(1)>" in page.inner_text("#chat")
        assert page.locator("#slide img, #chat img[src='x']").count() == 0
        assert page.locator("#slide script").count() == 0
        assert alerts == []
    finally:
        process.terminate()
        process.wait(timeout=30)
