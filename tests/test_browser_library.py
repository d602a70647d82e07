"""A library of decks in a real headless browser: the shipped Markdown deck, a PowerPoint deck and
a PDF added in the app; slides numbered per deck, citations naming their deck, the short answer
first, plain words, deck management, and a phone. Screenshots go to test-artifacts/."""

import re
import shutil

import pytest
from browser_support import ARTIFACTS, ROOT, start_app
from conftest import DATA

pytestmark = [pytest.mark.browser, pytest.mark.model]

PDF = "nist-oscal-slides-2020-03-26.pdf"
PPTX = "nist-oscal-high-level-overview-2018-01.pptx"
BUDGET = "What was the total e-Government budget in 2005?"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The app on a folder of its own holding the shipped deck and a PowerPoint deck; the PDF is added
    in the first test, through the page."""
    tmp_path = tmp_path_factory.mktemp("library")
    corpus = tmp_path / "decks"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "egov_korea.md", corpus)
    shutil.copy(DATA / PPTX, corpus)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    shutil.copy(DATA / PDF, uploads)
    (uploads / "broken.pdf").write_bytes(b"not a pdf at all")
    process, url = start_app(tmp_path, "--corpus", str(corpus))
    yield url, corpus, uploads
    process.terminate()
    process.wait(timeout=30)


def open_page(browser, url, viewport=None):
    page = browser.new_page(viewport=viewport or {"width": 1400, "height": 1000})
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector("#slide .slide-title", timeout=60_000)
    return page, alerts


def ask(page, question: str) -> str:
    """Ask ``question`` and wait for its answer; returns the answer's text."""
    rows = page.locator("#chat .message-row").count() + 2
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function("n => document.querySelectorAll('#chat .message-row').length >= n", arg=rows, timeout=90_000)
    page.wait_for_timeout(500)
    return page.locator("#chat .message-row").last.inner_text()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / name))


def title_of(page) -> str:
    return page.inner_text("#slide .slide-title")


def test_1_several_files_are_added_at_once_with_progress_and_a_refusal_said(browser, library):
    url, corpus, uploads = library
    page, alerts = open_page(browser, url)
    assert page.inner_text("#app-title") == "Ask egov_korea and nist-oscal-high-level-overview-2018-01"
    # Every text the status line shows is recorded as the page changes it: a count shown for a
    # tenth of a second (a small deck's last batch) is seen even where polling would miss it.
    page.evaluate(
        """() => {
            window.statusSeen = [];
            const status = document.querySelector('#deck-status');
            new MutationObserver(() => window.statusSeen.push(status.innerText)).observe(
                status, {subtree: true, childList: true, characterData: true});
        }"""
    )
    upload = page.locator("#add-deck").locator("xpath=preceding-sibling::input[@type='file'][1]")
    upload.set_input_files([str(uploads / PDF), str(uploads / "broken.pdf")])
    page.wait_for_function(
        "() => /passages embedded|^Added /.test(document.querySelector('#deck-status').innerText)",
        timeout=60_000,
    )
    shot(page, "library-adding.png")
    page.wait_for_function(
        "() => document.querySelector('#deck-status').innerText.startsWith('Added ')", timeout=400_000
    )
    # The bar counted the passages as they were embedded (this deck takes two batches).
    seen = page.evaluate("() => window.statusSeen")
    passages = [text for text in seen if "passages embedded" in text]
    assert any(re.search(r"[1-9][0-9]*/[0-9]+ passage", text) for text in passages), passages
    status = page.inner_text("#deck-status")
    assert status.startswith("Added nist-oscal-slides-2020-03-26 (")
    assert "broken.pdf was not added: not a readable PDF" in status
    assert (corpus / PDF).is_file() and not (corpus / "broken.pdf").exists()
    page.wait_for_function(
        "() => document.querySelector('#app-title').innerText === "
        "'Ask egov_korea, nist-oscal-high-level-overview-2018-01 and nist-oscal-slides-2020-03-26'"
    )
    page.wait_for_function(
        "() => document.title === "
        "'egov-qa: Ask egov_korea, nist-oscal-high-level-overview-2018-01 and nist-oscal-slides-2020-03-26'"
    )
    shot(page, "library-added.png")
    assert alerts == []


def test_2_citations_name_their_deck_and_slides_are_numbered_within_it(browser, library):
    url, *_ = library
    page, alerts = open_page(browser, url)
    page.click("#deck input")
    page.get_by_role("option", name="nist-oscal-slides-2020-03-26", exact=True).click()
    message = ask(page, "What is the purpose of the OSCAL Lunch with the Developers?")
    page.wait_for_selector("#slide mark", timeout=30_000)
    label = page.locator("#citations label").first.inner_text()
    found = re.match(r"1\. nist-oscal-slides-2020-03-26 · Slide (\d+): ", label)
    assert found, label
    number = int(found.group(1))
    assert f"nist-oscal-slides-2020-03-26 · Slide {number}:" in message
    assert title_of(page).startswith(f"Slide {number}:")
    where = re.search(r"Slide (\d+) of (\d+) in nist-oscal-slides-2020-03-26", page.inner_text("#where"))
    assert where and int(where.group(1)) == number and int(where.group(2)) < 60, page.inner_text("#where")
    href = page.locator("#link a").get_attribute("href")
    assert href == f"?deck={PDF}&slide={number}"
    shot(page, "chat-library.png")
    # "Go to slide" counts within the deck shown.
    page.fill("#goto input", "2")
    page.wait_for_function("() => document.querySelector('#slide .slide-title').innerText.startsWith('Slide 2:')")
    assert PDF in page.inner_text("#slide .slide-source")
    # The deck chooser opens another deck's first slide.
    page.click("#browse-deck input")
    page.get_by_role("option", name="nist-oscal-high-level-overview-2018-01", exact=True).click()
    page.wait_for_function(
        "name => document.querySelector('#slide .slide-source').innerText.includes(name)", arg=PPTX, timeout=30_000
    )
    assert title_of(page).startswith("Slide 1")
    assert "in nist-oscal-high-level-overview-2018-01" in page.inner_text("#where")
    assert alerts == []
    # A link names the deck and its slide.
    opened, _ = open_page(browser, url + "?deck=nist-oscal-high-level-overview-2018-01&slide=3")
    opened.wait_for_function(
        "() => document.querySelector('#slide .slide-title').innerText.startsWith('Slide 3')", timeout=30_000
    )
    assert PPTX in opened.inner_text("#slide .slide-source")


def test_3_the_short_answer_comes_first_then_the_quote_and_its_chip(browser, library):
    url, *_ = library
    page, alerts = open_page(browser, url)
    ask(page, BUDGET)
    answer = page.locator("#chat .message-row").last
    assert answer.locator("p").first.inner_text() == "29,052 (KRW 100 million)"
    assert answer.locator("p strong").first.inner_text() == "29,052 (KRW 100 million)"
    text = answer.inner_text()
    assert "“Total | 2002: 19,208 | 2005: 29,052" in text and "egov_korea · Slide 8: Budget" in text
    assert answer.locator("code").first.inner_text() == "1"
    page.wait_for_selector("#slide mark", timeout=30_000)
    shot(page, "chat.png")  # docs/chat.png
    # A follow-up says what it was taken with; a question cut at the limit says so.
    message = ask(page, "And in 2010?")
    assert "Taken with your previous question: What was the total e-Government budget in 2010?" in message
    message = ask(page, BUDGET + " Please also tell me" + " about the budget and the fund" * 20)
    assert "Your question was" in message and "were read" in message
    shot(page, "chat-short-answer.png")
    assert alerts == []


def test_4_an_abstention_over_several_decks_says_so_in_plain_words(browser, library):
    url, *_ = library
    page, alerts = open_page(browser, url)
    message = ask(page, "How many astronauts live on the Moon base?")
    assert message.startswith("The decks do not say.")
    assert "confidence" not in message.split("Closest slides:")[0]
    assert re.search(r"No slide mentions|The closest slide", message), message
    closest = message.split("Closest slides:")[1]
    assert len(re.findall(r"^\s*\d+\s+\S.* · Slide \d+", closest, flags=re.M)) >= 2, closest
    shot(page, "chat-abstention.png")
    assert alerts == []


def test_5_on_a_phone_the_question_the_short_answer_and_the_slide_show_together(browser, library):
    url, *_ = library
    page, alerts = open_page(browser, url, PHONE)
    ask(page, BUDGET)
    page.wait_for_selector("#slide mark", timeout=30_000)
    page.wait_for_timeout(1000)
    shot(page, "chat-phone.png")
    rows = page.locator("#chat .message-row")
    asked, short = rows.nth(rows.count() - 2), rows.last.locator("p strong").first
    chat = page.locator("#chat").bounding_box()
    for element in (asked, short):
        box = element.bounding_box()
        # On screen, and inside the chat's visible part (not scrolled away in it).
        assert box and chat["y"] <= box["y"] and box["y"] + box["height"] <= chat["y"] + chat["height"], box
    for element in (page.locator("#question textarea"), page.locator("#slide .slide-title")):
        box = element.bounding_box()
        assert box and 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    # Nothing is drawn over anything else: the buttons under the question share one row.
    clear, add = page.locator("#clear").bounding_box(), page.locator("#add-deck").bounding_box()
    assert abs(clear["y"] - add["y"]) < 4
    assert alerts == []


def test_6_a_deck_is_renamed_removed_and_replaced_in_the_app(browser, library, tmp_path):
    url, corpus, _ = library
    page, alerts = open_page(browser, url)
    page.locator("#decks").get_by_text("Decks (3)").click()
    page.click("#manage-deck input")
    page.get_by_role("option", name="nist-oscal-high-level-overview-2018-01", exact=True).click()
    page.fill("#deck-title textarea, #deck-title input", "OSCAL overview")
    page.click("#rename-deck")
    page.wait_for_function(
        "() => document.querySelector('#manage-status').innerText.includes('is shown as OSCAL overview')"
    )
    page.wait_for_function(
        "() => document.querySelector('#app-title').innerText === "
        "'Ask egov_korea, OSCAL overview and nist-oscal-slides-2020-03-26'"
    )
    listed = page.inner_text("#deck-list")
    assert re.search(r"OSCAL overview \(nist-oscal-high-level-overview-2018-01\.pptx, \d+ slides\)", listed)
    assert re.search(r"nist-oscal-slides-2020-03-26 \(nist-oscal-slides-2020-03-26\.pdf, \d+ slides, added 20", listed)
    shot(page, "library-decks.png")
    page.click("#manage-deck input")
    page.get_by_role("option", name="nist-oscal-slides-2020-03-26", exact=True).click()
    page.click("#remove-deck")
    page.wait_for_function(
        "() => document.querySelector('#manage-status').innerText.startsWith('Removed ')", timeout=400_000
    )
    page.wait_for_function(
        "() => document.querySelector('#app-title').innerText === 'Ask egov_korea and OSCAL overview'"
    )
    assert not (corpus / PDF).exists()
    # Replace a deck with a new version of it: answers come from the new one.
    newer = tmp_path / "egov_korea.md"
    newer.write_text((corpus / "egov_korea.md").read_text(encoding="utf-8").replace("29,052", "29,060"), "utf-8")
    page.click("#manage-deck input")
    page.get_by_role("option", name="egov_korea", exact=True).click()
    page.locator("#replace-deck").locator("xpath=preceding-sibling::input[@type='file'][1]").set_input_files(str(newer))
    page.wait_for_function(
        "() => document.querySelector('#manage-status').innerText.startsWith('Replaced egov_korea')", timeout=400_000
    )
    assert "29,060" in (corpus / "egov_korea.md").read_text(encoding="utf-8")
    assert ask(page, BUDGET).startswith("29,060 (KRW 100 million)")
    assert alerts == []


def test_7_a_login_is_asked_for_before_anything_is_served(browser, tmp_path, shipped_index):
    from egov_qa.app.login import hash_password

    process, url = start_app(tmp_path, "--index", str(shipped_index), "--auth", f"ana:{hash_password('s3cret')}")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("input[type='password']", timeout=60_000)
        assert page.locator("#slide").count() == 0
        page.locator("input[type='text']").first.fill("ana")
        page.fill("input[type='password']", "wrong")
        page.get_by_role("button", name="Login").click()
        page.wait_for_timeout(1500)
        assert page.locator("#slide").count() == 0
        assert "Incorrect Credentials" in page.inner_text("body")
        shot(page, "login.png")
        # The form is emptied after a wrong try: both are typed again.
        page.locator("input[type='text']").first.fill("ana")
        page.fill("input[type='password']", "s3cret")
        page.get_by_role("button", name="Login").click()
        page.wait_for_selector("#slide .slide-title", timeout=60_000)
    finally:
        process.terminate()
        process.wait(timeout=30)
