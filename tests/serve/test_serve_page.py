"""The page of `medner serve` in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

One server and one browser session for all checks: load the page, paste the
clinical example sentences, annotate, and check displaCy's view (Warfarin
marked MEDICATION in its colour), the table (the rows the pipeline's own
records give), the label toggles (the mission's main types checked first,
the others one click away), the JSON download, a text-file upload,
picking the second pipeline, a limit error shown on the page, and that no
request leaves the service (no CDN, no web font).
"""
import json
from pathlib import Path

import pytest
from spacy.language import Language

from medner.annotate import doc_entities
from medner.serve.app import create_app
from medner.serve.options import ServeOptions
from ruler import ruler_nlp
from serve_helpers import running_server

CHROMIUM = Path("/usr/bin/chromium")
SENTENCES = Path(__file__).resolve().parents[2] / "assets" / "examples" / "clinical_sentences.txt"
MEDICATIONS = ["Aspirin", "Ibuprofen", "Metformin", "Lisinopril", "Atorvastatin", "Warfarin", "Acetaminophen",
               "Amoxicillin", "Levothyroxine", "penicillin", "insulin"]
CONDITIONS = ["diabetes", "pneumonia", "hypertension", "infection", "chronic obstructive pulmonary disease",
              "pulmonary embolism", "fever", "headache", "blood clots"]
MAX_TEXT_CHARS = 5_000


@Language.component("medner_test_scored_spans")
def scored_spans(doc):
    """Copy doc.ents to doc.spans["medner"] with a score and source per span, as the merge component does."""
    doc.spans["medner"] = list(doc.ents)
    group = doc.spans["medner"]
    group.attrs["scores"] = [0.9] * len(group)
    group.attrs["sources"] = ["ruler"] * len(group)
    return doc


def hex_to_rgb(color: str) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture(scope="module")
def page_session(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail("headless Chromium is missing: run `bash scripts/install_browser.sh` (Debian: apt-get install -y chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright

    clinical = ruler_nlp({"MEDICATION": MEDICATIONS, "CONDITION": CONDITIONS})
    drugs_only = ruler_nlp({"DRUG": MEDICATIONS})
    drugs_only.add_pipe("medner_test_scored_spans")
    app = create_app(ServeOptions(max_text_chars=MAX_TEXT_CHARS), {"clinical-rules": clinical, "drug-rules": drugs_only})
    with running_server(app) as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(url + "/")
        page.wait_for_function("document.querySelectorAll('#pipeline option').length === 2")
        text = SENTENCES.read_text(encoding="utf-8")
        page.fill("#text", text)
        page.click("#annotate")
        page.wait_for_selector("#view mark")
        yield {"page": page, "url": url, "text": text, "nlp": clinical, "requested": requested,
               "tmp": tmp_path_factory.mktemp("page")}
        context.close()
        browser.close()


def table_rows(page):
    return page.eval_on_selector_all(
        "#entities tbody tr:not([hidden])",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))",
    )


def test_warfarin_is_highlighted_as_medication_in_its_colour(page_session):
    page = page_session["page"]
    mark = page.locator("#view mark", has_text="Warfarin")
    assert mark.count() == 1
    assert mark.evaluate("m => m.firstChild.textContent") == "Warfarin"
    assert mark.locator("span").inner_text() == "MEDICATION"
    colour = page.evaluate("fetch('./info').then(r => r.json()).then(i => i.pipelines[0].colors.MEDICATION)")
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") == hex_to_rgb(colour)
    # MEDICATION is one of the mission's main types and starts checked; CONDITION is not
    assert page.locator("#status").inner_text() == "12 entities found by clinical-rules (11 more of unchecked labels)"


def test_table_has_one_row_per_entity_of_the_pipeline(page_session):
    page, text, nlp = page_session["page"], page_session["text"], page_session["nlp"]
    every = doc_entities(nlp(text))
    assert len(every) == 23  # 12 medications, 11 conditions in the 20 sentences
    expected = [[e["label"], e["text"], str(e["start"]), str(e["end"])] for e in every if e["label"] == "MEDICATION"]
    assert len(expected) == 12
    assert [h.strip() for h in page.locator("#entities thead th").all_inner_texts()] == ["Label", "Text", "Start", "End"]  # no Score column: the ruler gives none
    rows = table_rows(page)
    assert rows == expected
    assert ["MEDICATION", "Warfarin"] in [row[:2] for row in rows]


def toggles(page):
    return page.eval_on_selector_all(
        "#label-toggles label",
        "ls => ls.map(l => [l.dataset.label, l.querySelector('input').checked, l.querySelector('.n').textContent])",
    )


def test_label_toggles_start_with_the_main_types_and_the_others_are_one_click_away(page_session):
    page = page_session["page"]
    assert toggles(page) == [["CONDITION", False, "(11)"], ["MEDICATION", True, "(12)"]]
    assert page.locator("#view mark", has_text="pneumonia").count() == 0
    page.check("#label-toggles label[data-label=CONDITION] input")  # one click: annotated again with both
    page.wait_for_function("document.querySelector('#status').textContent === '23 entities found by clinical-rules'")
    rows = table_rows(page)
    assert len(rows) == 23 and page.locator("#count").inner_text() == "23 entities"
    assert page.locator("#view mark", has_text="pneumonia").locator("span").inner_text() == "CONDITION"
    page.uncheck("#label-toggles label[data-label=MEDICATION] input")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('11 entities')")
    assert page.locator("#status").inner_text() == "11 entities found by clinical-rules (12 more of unchecked labels)"
    assert {row[0] for row in table_rows(page)} == {"CONDITION"}
    assert page.locator("#view mark", has_text="Warfarin").count() == 0
    page.click("#all-labels")
    page.wait_for_function("document.querySelector('#status').textContent === '23 entities found by clinical-rules'")
    assert toggles(page) == [["CONDITION", True, "(11)"], ["MEDICATION", True, "(12)"]]


def test_download_is_the_service_json(page_session):
    page, text, nlp = page_session["page"], page_session["text"], page_session["nlp"]
    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == "medner-annotations.json"
    path = page_session["tmp"] / "download.json"
    download.save_as(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["pipeline"] == "clinical-rules" and data["errors"] == 0
    assert data["documents"][0]["entities"] == doc_entities(nlp(text))


def test_upload_a_text_file_and_pick_the_other_pipeline(page_session):
    page = page_session["page"]
    note = page_session["tmp"] / "note.txt"
    note.write_text("Started Warfarin and Metformin today.", encoding="utf-8")
    page.set_input_files("#file", str(note))
    page.wait_for_function("document.querySelector('#text').value.startsWith('Started Warfarin')")
    page.select_option("#pipeline", "drug-rules")
    page.click("#annotate")
    page.wait_for_function("document.querySelector('#status').textContent.includes('by drug-rules')")
    assert table_rows(page) == [["DRUG", "Warfarin", "8", "16", "0.900"], ["DRUG", "Metformin", "21", "30", "0.900"]]
    assert page.locator("#entities thead th").all_inner_texts()[-1].strip() == "Score"
    with page.expect_download() as download_info:
        page.click("#download")
    path = page_session["tmp"] / "upload.json"
    download_info.value.save_as(path)
    assert json.loads(path.read_text(encoding="utf-8"))["documents"][0]["id"] == "note.txt"


def test_a_limit_error_is_shown_on_the_page(page_session):
    page = page_session["page"]
    page.fill("#text", "x" * (MAX_TEXT_CHARS + 1))
    page.click("#annotate")
    page.wait_for_selector("#status.error")
    assert page.locator("#status").inner_text() == (
        "413: text 0 (id 'pasted-text') has 5,001 characters; the limit is 5,000 characters per text (--max-text-chars)"
    )


def test_nothing_is_requested_from_another_site(page_session):
    requested, url = page_session["requested"], page_session["url"]
    assert any(u.endswith("/static/app.js") for u in requested) and any(u.endswith("/annotate") for u in requested)
    outside = [u for u in requested if not (u.startswith(url + "/") or u.startswith("blob:" + url))]
    assert outside == []


def test_id_and_assertion_columns_appear_when_the_records_have_them(page_session):
    """Records of pipelines with the linker and assertion components carry kb_id and assertion."""
    page = page_session["page"]
    page.evaluate("""renderTable([
        {start: 0, end: 8, text: "Warfarin", label: "MEDICATION", source: "ents", score: null, kb_id: "D014859", assertion: "present"},
        {start: 13, end: 21, text: "diabetes", label: "CONDITION", source: "ents", score: null, kb_id: null, assertion: "negated"}],
        {MEDICATION: "#7aecec", CONDITION: "#feca74"})""")
    headers = [h.strip() for h in page.locator("#entities thead th").all_inner_texts()]
    assert headers == ["Label", "Text", "Start", "End", "ID", "Assertion"]
    assert table_rows(page) == [["MEDICATION", "Warfarin", "0", "8", "D014859", "present"],
                                ["CONDITION", "diabetes", "13", "21", "", "negated"]]
