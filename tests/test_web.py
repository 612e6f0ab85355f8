"""The asker's page in real headless Chromium (Debian's, driven by Playwright).

Screenshots of every test land in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import make_corpus
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from citeqa.config import Config
from citeqa.serve.app import create_app
from citeqa.store import build as builder

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
# Flags for a closed network: without the background-networking ones Chromium keeps
# trying to reach its update and sync hosts.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SOM = "By how much did the Kyrgyz som fall?"
TURKMEN = "Who is the new president of Turkmenistan?"
# Characters outside the Basic Multilingual Plane before the answer: one code point each
# in the API's offsets, two UTF-16 units each in a JavaScript string.
ROCKETS = "The launch 🚀 went well 🎉 and the crowd 😀 cheered. " \
          "In 1990 🛰 John Smith founded Acme in Boston, after leaving the navy."


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def live_url(seed_config, seed_index, nlp):
    with serving(create_app(seed_config, seed_index, nlp)) as url:
        yield url


@pytest.fixture(scope="module")
def ranker_url(seed_config, seed_index, nlp):
    """The seed index answered by the trained ranker alone (the neural reader off)."""
    with serving(create_app(replace(seed_config, reader=False), seed_index, nlp)) as url:
        yield url


@pytest.fixture(scope="module")
def rockets_url(tmp_path_factory, nlp):
    base = tmp_path_factory.mktemp("rockets")
    corpus = make_corpus(base / "corpus", {"rockets.txt": f"Rocket notes 🚀\n{ROCKETS}\n"})
    config = Config.load({"corpus": corpus, "index": base / "index"}, environ={})
    builder.build(config)
    with serving(create_app(config, None, nlp)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.errors = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
            and page.errors.append(m.text))
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert page.errors == [], page.errors


def ask_by_typing(page: Page, question: str) -> None:
    page.locator("#q").fill(question)
    page.keyboard.press("Enter")


def asked(url: str, question: str, explain: bool = False) -> dict:
    """The API's own response, to check the page against."""
    request = urllib.request.Request(
        url + "/ask", data=json.dumps({"question": question, "explain": explain}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as resp:
        return json.loads(resp.read())


def open_explanation(page: Page, url: str, question: str):
    page.goto(url + "/?q=" + question.replace(" ", "+"))
    expect(page.locator(".answer-text")).not_to_have_count(0)
    page.locator("#explain summary").click()
    body = page.locator("#explain-body")
    expect(body).to_contain_text("Decision: ")
    return body


def texts_of(locator) -> list[str]:
    """The texts of marked-up stretches without the entity labels the page adds."""
    return locator.evaluate_all("""nodes => nodes.map((node) => {
        const copy = node.cloneNode(true);
        copy.querySelectorAll(".ent-label").forEach((label) => label.remove());
        return copy.textContent;
    })""")


def column(table, n: int) -> list[str]:
    return table.locator(f"tbody tr > :nth-child({n})").all_text_contents()


def test_ask_by_typing_and_pressing_enter(page, live_url):
    page.goto(live_url + "/")
    expect(page.locator("#q")).to_be_focused()
    ask_by_typing(page, SOM)
    expect(page.locator(".answer-text")).to_have_text("15%")
    expect(page).to_have_url(re.compile(r"/\?q=By\+how\+much|/\?q=By%20how%20much"))
    expect(page.locator("#status")).to_contain_text("Answer: 15%")
    expect(page.locator(".answer-sentence .answer-hl")).to_have_text("15%")
    expect(page.locator(".answer-meta a.cite")).to_contain_text("central-asia-russia-ukraine#")
    first = page.locator(".passage").first
    expect(first.locator(".answer-hl")).to_have_count(1)
    expect(first.locator("mark.ent-GPE").first).to_be_visible()
    expect(first.locator(".term").first).to_be_visible()
    expect(page.locator(".legend")).to_contain_text("GPE")
    expect(page.locator(".fact h3").first).to_contain_text("Kyrgyzstan")
    expect(page.locator("#recent-list")).to_contain_text(SOM)


def test_shared_url_answers_on_load_and_citation_opens_the_passage(page, live_url):
    page.goto(live_url + "/?q=" + SOM.replace(" ", "+"))
    expect(page.locator(".answer-text")).to_have_text("15%")
    href = page.locator(".answer-meta a.cite").get_attribute("href")
    page.locator(".answer-meta a.cite").click()
    expect(page).to_have_url(live_url + href)
    target = page.locator(".doc-passage.target")
    expect(target).to_have_count(1)
    expect(target).to_contain_text("the somme in Kyrgyzstan has fallen by 15%")
    expect(target).to_be_in_viewport()
    expect(target).to_be_focused()
    expect(page.locator("#doc-title")).to_contain_text("Central Asian countries")


def test_fact_value_jumps_to_its_passage(page, live_url):
    page.goto(live_url + "/?q=" + SOM.replace(" ", "+"))
    link = page.locator(".fact .values a.cite").first
    expect(link).to_be_visible()
    passage_id = link.get_attribute("aria-label").removeprefix("cited in passage ")
    link.click()
    target = page.locator(f'[id="passage-{passage_id}"]')
    expect(target).to_have_class(re.compile("flash"))
    expect(target).to_be_focused()


def test_refusal_says_the_documents_do_not_cover_it(page, live_url):
    page.goto(live_url + "/")
    ask_by_typing(page, "Who is the prime minister of Canada?")
    expect(page.locator(".refusal")).to_have_text("The documents do not cover this question.")
    expect(page.locator(".reason")).to_contain_text("Canada")
    expect(page.locator("#status")).to_contain_text("No answer")
    expect(page.locator(".answer-text")).to_have_count(0)
    assert page.locator(".passage").count() == page.locator(".passage.weak").count()


@pytest.mark.parametrize("evil", ["<img src=x onerror=alert(1)>",
                                  "<script>alert('x')</script> Kazakhstan tenge?"])
def test_markup_in_a_question_is_shown_as_text_and_runs_nothing(page, live_url, evil):
    page.goto(live_url + "/")
    ask_by_typing(page, evil)
    expect(page.locator("#status")).not_to_have_text("")
    expect(page.locator("#status")).not_to_contain_text("Searching")
    expect(page.locator("#recent-list button").first).to_have_text(evil)
    assert page.locator("img").count() == 0
    assert page.locator("main script").count() == 0
    page.goto(live_url + "/?q=" + evil.replace(" ", "+"))
    expect(page.locator("#q")).to_have_value(evil)
    page.wait_for_timeout(300)
    assert page.dialogs == []


def test_keyboard_only(page, live_url):
    page.goto(live_url + "/")
    page.keyboard.type(SOM)  # the box has focus on load
    page.keyboard.press("Enter")
    expect(page.locator(".answer-text")).to_have_text("15%")
    for _ in range(40):  # Tab forward to the answer's citation
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.closest('.answer-meta') !== null")
        if focused:
            break
    else:
        raise AssertionError("the answer's citation is not reachable with Tab")
    page.keyboard.press("Enter")
    target = page.locator(".doc-passage.target")
    expect(target).to_be_focused()
    page.go_back()
    expect(page.locator(".answer-text")).to_have_text("15%")


def test_server_error_and_timeout_states(page, live_url):
    page.route("**/ask", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body=json.dumps({"error": {"code": "index_unavailable",
                                   "message": "no index yet: run 'citeqa index'"}})))
    page.goto(live_url + "/")
    ask_by_typing(page, SOM)
    expect(page.locator("#status")).to_have_text(
        "The question could not be answered: no index yet: run 'citeqa index'")
    expect(page.locator("#results")).to_be_hidden()

    page.unroute("**/ask")
    page.route("**/ask", lambda route: route.abort())
    ask_by_typing(page, SOM + " ")
    expect(page.locator("#status")).to_contain_text("Could not reach the citeqa server")

    def short_timeout(route):
        html = route.fetch().text().replace('content="15000"', 'content="400"')
        route.fulfill(status=200, content_type="text/html", body=html)

    page.unroute("**/ask")
    page.route(live_url + "/", short_timeout)
    page.route("**/ask", lambda route: None)  # never answers
    page.goto(live_url + "/")
    ask_by_typing(page, SOM)
    expect(page.locator("#status")).to_contain_text("did not answer within 0.4 seconds")
    expect(page.locator("#ask-button")).to_be_enabled()


def test_empty_question_is_explained(page, live_url):
    page.goto(live_url + "/")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Type a question first.")


def test_phone_width_has_no_horizontal_scroll(browser, live_url):
    context = browser.new_context(viewport={"width": 360, "height": 780})
    phone = context.new_page()
    phone.goto(live_url + "/?q=" + SOM.replace(" ", "+"))
    expect(phone.locator(".answer-text")).to_have_text("15%")
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


def test_unknown_document_page_says_so(page, live_url):
    page.goto(live_url + "/read/no-such-doc#p1")
    expect(page.locator("#read-status")).to_contain_text("no document with id 'no-such-doc'")


def test_a_passage_the_document_lacks_is_said_and_the_document_shown(page, live_url):
    page.goto(live_url + "/read/central-asia-russia-ukraine#p999")
    status = page.locator("#read-status")
    expect(status).to_have_text(re.compile(r"This document has no passage 999: it has \d+ "
                                           r"passages, shown below from the start\."))
    count = page.locator(".doc-passage").count()
    assert count > 1 and f"it has {count} passages" in status.text_content()
    expect(page.locator(".doc-passage.target")).to_have_count(0)


def test_back_to_the_empty_page_leaves_no_answer_behind(page, live_url):
    page.goto(live_url + "/")
    ask_by_typing(page, SOM)
    expect(page.locator("#status")).to_contain_text("Answer: 15%")
    page.go_back()
    expect(page).to_have_url(live_url + "/")
    expect(page.locator("#results")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("")
    expect(page.locator("#q")).to_have_value("")


def test_a_malformed_document_link_is_said(page, live_url):
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto(live_url + "/read/%E0%A4%A")
    expect(page.locator("#read-status")).to_have_text(
        "This document could not be opened: its address is not a valid link (a broken "
        "%-escape)")
    assert errors == []


def test_page_headers_are_strict(live_url):
    with urllib.request.urlopen(live_url + "/") as resp:
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        html = resp.read().decode()
    assert "<script>" not in html and " style=" not in html and "http" not in html.replace(
        'content="width=device-width', "")


def test_explanation_on_request(page, live_url):
    page.goto(live_url + "/?q=" + SOM.replace(" ", "+"))
    expect(page.locator(".answer-text")).to_have_text("15%")
    summary = page.locator("#explain summary")
    expect(summary).to_have_text("How was this answer chosen?")
    summary.focus()
    page.keyboard.press("Enter")  # a native disclosure: keyboard works as is
    body = page.locator("#explain-body")
    expect(body).to_contain_text("Decision: '15%' scored")
    expect(body).to_contain_text("“som” also as “somm”")
    expect(body.locator("table.candidates tbody tr").first.locator("th")).to_have_text("15%")
    ask_by_typing(page, "Who is the prime minister of Canada?")
    expect(page.locator("#explain summary")).to_have_text("Why is there no answer?")
    expect(page.locator("#explain")).not_to_have_attribute("open", "")
    page.locator("#explain summary").click()
    expect(page.locator("#explain-body")).to_contain_text("never mention")


def test_offsets_count_characters_beyond_the_basic_plane(page, rockets_url):
    question = "Who founded Acme?"
    [shown] = asked(rockets_url, question)["passages"]
    assert shown["text"] == ROCKETS
    page.goto(rockets_url + "/")
    ask_by_typing(page, question)
    expect(page.locator(".answer-text")).to_have_text("John Smith")
    expect(page.locator(".answer-sentence .answer-hl")).to_have_text("John Smith")
    passage = page.locator(".passage-text")
    assert texts_of(passage.locator(".answer-hl")) == ["John Smith"]
    expect(passage.locator(".term")).to_have_text(
        [ROCKETS[a - shown["start"]:b - shown["start"]] for a, b in shown["matches"]])
    assert texts_of(passage.locator("mark.ent")) == [e["text"] for e in shown["entities"]]
    assert "Boston" in texts_of(passage.locator("mark.ent"))
    assert texts_of(passage) == [ROCKETS]
    page.locator(".answer-meta a.cite").click()
    target = page.locator(".doc-passage.target p").first
    expect(target).to_be_visible()
    assert target.text_content() == ROCKETS


def test_a_newer_question_replaces_the_one_in_flight(page, live_url):
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append(route)  # never answered: only aborting it lets the page move on

    page.route("**/ask", hold_the_first)
    page.goto(live_url + "/")
    ask_by_typing(page, SOM)
    expect(page.locator("#status")).to_contain_text("Searching")
    ask_by_typing(page, TURKMEN)
    expect(page.locator(".answer-text")).to_have_text("Kalldahl Berdymukhamedov")
    expect(page).to_have_url(re.compile(r"/\?q=Who(\+|%20)is"))
    expect(page.locator("#q")).to_have_value(TURKMEN)
    expect(page.locator("#recent-list button")).to_have_text([TURKMEN])
    expect(page.locator("#status")).to_contain_text("Answer: Kalldahl Berdymukhamedov")
    assert len(held) == 1


def test_explanation_names_the_reader_that_chose(page, live_url):
    expected = asked(live_url, SOM, explain=True)["explain"]
    body = open_explanation(page, live_url, SOM)
    reader, ranker = expected["reader"]["version"], expected["ranker"]["version"]
    expect(body).to_contain_text(f"Answer chosen by the neural reader ({reader})")
    expect(body).not_to_contain_text("Answer chosen by the trained ranker")
    expect(body).to_contain_text("Decision: " + expected["decision"])
    spans = body.locator("table.spans")
    expect(spans.locator("caption")).to_contain_text("The neural reader's best spans, by score")
    best = sorted(expected["reading"]["spans"], key=lambda s: -s["score"])
    expect(spans.locator("tbody th")).to_have_text([s["text"] for s in best])
    assert column(spans, 2) == [f"{s['score']:.2f}" for s in best]
    assert column(spans, 4) == [f"{round(s['reader_p'] * 100)}%" for s in best]
    candidates = body.locator("table.candidates")
    expect(candidates.locator("caption")).to_have_text(
        f"The trained ranker's candidates ({ranker}), by its score")
    by_score = sorted(expected["candidates"], key=lambda c: -c["score"])
    assert [c["score"] for c in expected["candidates"]] != [c["score"] for c in by_score], \
        "the API already sorts the candidates: this test no longer shows the page sorts them"
    expect(candidates.locator("tbody th")).to_have_text([c["text"] for c in by_score])
    assert column(candidates, 3) == [f"{c['score']:.2f}" for c in by_score]


def test_explanation_without_the_reader_names_the_ranker(page, ranker_url):
    expected = asked(ranker_url, SOM, explain=True)["explain"]
    assert "reading" not in expected
    body = open_explanation(page, ranker_url, SOM)
    expect(body).to_contain_text(
        f"Answer chosen by the trained ranker ({expected['ranker']['version']})")
    expect(body).not_to_contain_text("neural reader")
    expect(body.locator("table.spans")).to_have_count(0)
    by_score = sorted(expected["candidates"], key=lambda c: -c["score"])
    candidates = body.locator("table.candidates")
    expect(candidates.locator("tbody th")).to_have_text([c["text"] for c in by_score])
    assert column(candidates, 3) == [f"{c['score']:.2f}" for c in by_score]
