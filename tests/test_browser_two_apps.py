"""Two app processes on one Milvus server, as two replicas behind a load balancer would run:
both answer alike, and a deck added in one's page is answered by the other at its next question.

The server is Milvus Lite's own gRPC server, started as a separate process (the
``milvus_server`` fixture of test_stores.py); both apps are ``python app.py --store URL``
on one shared decks folder, the real model, driven in Debian's Chromium.
"""

import shutil
import time

import pytest
from browser_support import ROOT, start_app
from conftest import DATA
from test_browser_library import BUDGET, PDF, ask, open_page, shot
from test_stores import milvus_server  # noqa: F401 - the fixture, for this module too

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_two_apps_on_one_store_answer_alike_and_see_a_deck_added_in_one(browser, milvus_server, tmp_path):  # noqa: F811
    corpus = tmp_path / "decks"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "egov_korea.md", corpus)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    shutil.copy(DATA / PDF, uploads)
    apps = []
    try:
        for name in ("first", "second"):
            (tmp_path / name).mkdir()
            apps.append(start_app(tmp_path / name, "--corpus", str(corpus), "--store", milvus_server))
        (_, first_url), (_, second_url) = apps
        first, first_alerts = open_page(browser, first_url)
        second, second_alerts = open_page(browser, second_url)
        first_answer, second_answer = ask(first, BUDGET), ask(second, BUDGET)
        assert first_answer.startswith("29,052 (KRW 100 million)")  # the deck's Budget slide, 2005 total
        assert second_answer == first_answer

        upload = first.locator("#add-deck").locator("xpath=preceding-sibling::input[@type='file'][1]")
        upload.set_input_files([str(uploads / PDF)])
        first.wait_for_function(
            "() => document.querySelector('#deck-status').innerText.startsWith('Added ')", timeout=400_000
        )
        added = time.monotonic()
        # The second app's page was opened before the deck was added; its next question reads the new index.
        message = ask(second, "What is the purpose of the OSCAL Lunch with the Developers?")
        seen_after = time.monotonic() - added
        assert "nist-oscal-slides-2020-03-26 · Slide" in message, message
        # Its slide browser follows the new index: the cited slide is shown, numbered within its deck.
        second.wait_for_selector("#slide mark", timeout=30_000)
        assert PDF in second.inner_text("#slide .slide-source")
        assert "in nist-oscal-slides-2020-03-26" in second.inner_text("#where")
        assert seen_after < 60
        shot(second, "two-apps-second-sees-the-deck.png")
        assert first_alerts == [] and second_alerts == []
    finally:
        for process, _ in apps:
            process.terminate()
            process.wait(timeout=30)
