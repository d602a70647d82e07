"""End to end in a real headless browser: adding a deck in the app, and the Evals tab."""

import json
import shutil

import pytest
from browser_support import ARTIFACTS, ROOT, start_app

pytestmark = [pytest.mark.browser, pytest.mark.model]

HARBOR = """\
# Harbor Authority Annual Report

- The harbor handled 1,240 container ships in 2019
- Night pilots guide ships past the breakwater
"""
QUESTION = "How long does export customs clearance take now?"


@pytest.fixture
def evals_copy(tmp_path):
    """The project's eval folder, copied, with the shipped set cut to its first eight questions:
    a run in the browser is quick, and writes its reports into the copy."""
    evals = tmp_path / "evals"
    evals.mkdir()
    for part in ("sets", "decks", "reports"):
        shutil.copytree(ROOT / "evals" / part, evals / part, ignore=shutil.ignore_patterns("report-*"))
    lines = (ROOT / "evals" / "known_facts.jsonl").read_text(encoding="utf-8").splitlines()[:8]
    (evals / "known_facts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return evals


def open_app(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector("#slide .slide-title", timeout=60_000)
    return page, alerts


def test_the_evals_tab_shows_reports_links_failures_adds_a_thumb_down_and_runs(
    browser, tmp_path, evals_copy, shipped_index
):
    process, url = start_app(tmp_path, "--evals", str(evals_copy), "--index", str(shipped_index))
    try:
        page, alerts = open_app(browser, url)
        page.fill("#question textarea", QUESTION)
        page.press("#question textarea", "Enter")
        page.wait_for_selector("#slide mark", timeout=60_000)
        page.locator("#chat button[aria-label='Dislike']").last.click()
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('feedback was saved')")

        page.get_by_role("tab", name="Evals").click()
        # The headline in plain words comes first; the tables are folded under Details.
        page.wait_for_function(
            "() => document.querySelector('#evals-headline').innerText.startsWith('Right on ')", timeout=30_000
        )
        assert "questions the decks answer" in page.inner_text("#evals-headline")
        assert not page.locator("#eval-metrics").is_visible()
        page.screenshot(path=str(ARTIFACTS / "evals-headline.png"))
        page.locator("#evals-details").get_by_text("Details").first.click()
        page.wait_for_selector("#eval-metrics table", timeout=30_000)
        shipped = json.loads((evals_copy / "reports" / "latest.json").read_text(encoding="utf-8"))
        overview = page.inner_text("#evals-overview")
        assert "shipped (served)" in overview
        assert all(p.stem in overview for p in (evals_copy / "sets").glob("*.jsonl"))
        assert f"answer accuracy\t{shipped['answer_accuracy']:.3f}" in page.inner_text("#eval-metrics")
        # The plots load lazily, as they come into view.
        page.locator("#eval-curve").scroll_into_view_if_needed()
        page.wait_for_selector("#eval-curve img", timeout=30_000)
        page.locator("#reader-plot").scroll_into_view_if_needed()
        page.wait_for_selector("#reader-plot img", timeout=30_000)
        # Each failure links to its cited slide in the chat.
        link = page.locator("#eval-failures a").first
        href, label = link.get_attribute("href"), link.inner_text()
        assert href.startswith("?deck=")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "evals.png"), full_page=True)
        opened = browser.new_page()
        opened.goto(url + href)
        opened.wait_for_function(
            "label => (document.querySelector('#slide .slide-title') || {}).innerText === label",
            arg=label,
            timeout=60_000,
        )

        # The thumb down is listed, and completed into the served corpus's eval set.
        assert QUESTION in page.inner_text("#downvotes")
        page.click("#downvote-pick input")
        page.get_by_role("option", name=QUESTION).click()
        page.fill("#form-answers textarea", "2-min")
        page.fill("#form-evidence textarea", "After: 2-min")
        page.click("#form-add")
        page.wait_for_function("() => document.querySelector('#form-status').innerText.includes('make train')")
        added = json.loads((evals_copy / "known_facts.jsonl").read_text(encoding="utf-8").splitlines()[-1])
        assert (added["question"], added["answers"], added["evidence"]) == (QUESTION, ["2-min"], "After: 2-min")

        # A run of the served set, with its progress in the page, writes the reports the tab shows.
        page.click("#run-eval")
        page.wait_for_function(
            "() => document.querySelector('#run-status').innerText.includes('asked')", timeout=60_000
        )
        page.screenshot(path=str(ARTIFACTS / "evals-running.png"))
        page.wait_for_function(
            "() => document.querySelector('#run-status').innerText.startsWith('Ran shipped: 9 questions')",
            timeout=240_000,
        )
        page.wait_for_function(
            "() => document.querySelector('#eval-metrics').innerText.includes('9 questions')", timeout=30_000
        )
        # The run writes under the data folder; the committed reports stay as they were.
        written = json.loads((tmp_path / "data" / "reports" / "latest.json").read_text(encoding="utf-8"))
        assert written["n"] == 9
        assert json.loads((evals_copy / "reports" / "latest.json").read_text(encoding="utf-8")) == shipped
        assert f"answer accuracy\t{written['answer_accuracy']:.3f}" in page.inner_text("#eval-metrics")
        assert alerts == []
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_deck_added_in_the_app_is_answered_at_once(browser, tmp_path):
    # The app on the shipped deck: the shipped corpus is measured, so the deck goes to the
    # workspace in the data folder (start_app points EGOV_QA_DATA at tmp_path / "data").
    shipped = sorted(p.name for p in (ROOT / "corpus").iterdir())
    corpus = tmp_path / "data" / "decks"
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "broken.pdf").write_bytes(b"not a pdf at all")
    (uploads / "harbor.md").write_text(HARBOR, encoding="utf-8")
    process, url = start_app(tmp_path)
    try:
        page, alerts = open_app(browser, url)
        assert "up to 32 MB" in page.inner_text("#deck-status")
        upload = page.locator("#add-deck").locator("xpath=preceding-sibling::input[@type='file'][1]")
        # A file the loader cannot read gets its message, and nothing is copied.
        upload.set_input_files(str(uploads / "broken.pdf"))
        page.wait_for_function(
            "() => document.querySelector('#deck-status').innerText.includes('was not added')", timeout=60_000
        )
        assert "broken.pdf was not added: not a readable PDF" in page.inner_text("#deck-status")
        assert not (corpus / "broken.pdf").exists()

        upload.set_input_files(str(uploads / "harbor.md"))
        page.wait_for_function(
            "() => /passages embedded|Reading 1 file/.test(document.querySelector('#deck-status').innerText)",
            timeout=60_000,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "deck-adding.png"))
        page.wait_for_function(
            "() => document.querySelector('#deck-status').innerText.startsWith('Added harbor (1 slide)')",
            timeout=240_000,
        )
        assert (corpus / "harbor.md").read_text(encoding="utf-8") == HARBOR
        assert sorted(p.name for p in (ROOT / "corpus").iterdir()) == shipped
        page.wait_for_function("() => document.querySelector('#app-title').innerText === 'Ask egov_korea and harbor'")
        page.fill("#question textarea", "How many container ships did the harbor handle in 2019?")
        page.press("#question textarea", "Enter")
        page.wait_for_selector("#slide mark", timeout=60_000)
        assert "1,240 container" in page.inner_text("#slide mark")
        assert "harbor.md" in page.inner_text("#slide .slide-source")
        assert "harbor · Slide 1: Harbor Authority Annual Report" in page.inner_text("#chat")
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "deck-added.png"))
        # The deck filter offers it, so questions can be kept to it.
        assert page.locator("#deck").is_visible()
        assert alerts == []
    finally:
        process.terminate()
        process.wait(timeout=30)
