"""The bad-input battery (``medner.bench.battery``) on a tiny version of every shipped pipeline.

Pipelines (``tests/pipelines.py``): ``cnn`` (configs/cnn.cfg), ``trf``
(configs/trf.cfg on a tiny BERT), ``hf`` (configs/hf_pipeline.cfg on a tiny
keyword BERT with a 128-piece window) and ``combined``
(configs/combined_clinical.cfg). For every case of ``battery_cases()`` and
every pipeline: no exception; ``doc.text`` is the input; every entity and span
is the text at its offsets; ``nlp(text)`` == ``nlp.pipe([text])``; and, in one
``n_process=2`` call per pipeline with all cases but the 1M-character one,
the same entities as one process.

The 1,000,000-character document runs on all four pipelines (a few seconds
each with the tiny models): no crash, bounded memory, and for the pipelines
with ``hf_token_classifier`` the keywords in the last sentence, far past the
first 128-piece window, are found at their exact offsets (nothing truncated).
"""
import re

import pytest

from medner.bench.battery import DEFAULT_TAIL, battery_cases, check_doc, failures, run_battery, run_case
from pipelines import HF_BASED, HF_FILLS_ENTS, NAMES

# RSS growth allowed while one pipeline processes the 1M-character document.
# Measured with the tiny pipelines: cnn ~240 MB, trf ~500 MB, hf ~140 MB,
# combined ~180 MB; a regression to e.g. one quadratic attention matrix or
# per-character objects would exceed it.
LONG_DOC_RSS_LIMIT_MB = 1200

CASES = battery_cases(long_chars=0)  # all but the long document
# Not "emoji_and_combining": BERT's WordPiece keeps "aspirin💊" as one word, and a word with an
# out-of-vocabulary character becomes a single [UNK] piece, so the model never sees "aspirin" there
# (a property of the word-piece vocabulary, the same with real BERT models; see the report).
KEYWORD_CASES = ("control_and_nul", "right_to_left", "crlf", "lone_cr", "html")


@pytest.mark.parametrize("name", NAMES)
def test_battery(tiny_pipelines, name):
    nlp = tiny_pipelines.load(name)
    report = run_battery(nlp, CASES, multiprocess=True)
    assert set(report["cases"]) == set(CASES)
    assert failures(report) == []
    assert report["ok"]
    # the multiprocess check really ran over every case
    assert report["multiprocess"]["cases"] == list(CASES)
    if name in HF_BASED:
        # the keyword model's predictions are known: "aspirin" is a CHEMICAL wherever it is a word
        for case in KEYWORD_CASES:
            text = CASES[case]
            found = {(s, e, label) for s, e, label in report["cases"][case]["entities"]["spans:hf"]}
            for match in re.finditer(r"(?<![^\W_])aspirin(?![^\W_])", text):
                # entities cover whole spaCy tokens: "aspirin\x00" and "\u202easpirin" are one token each
                assert any(
                    s <= match.start() and e >= match.end() and e - s <= 8 and label == "CHEMICAL" for s, e, label in found
                ), (case, match.start(), sorted(found))
            if name in HF_FILLS_ENTS:
                assert report["cases"][case]["entities"]["ents"], case  # doc.ents set (overwrite / merge)
        # combining accents: "Fe\u0301ver" is lower-cased and accent-stripped to "fever"
        emoji = CASES["emoji_and_combining"]
        start = emoji.index("Fe\u0301ver")
        assert (start, start + 6, "DISEASE") in [tuple(x) for x in report["cases"]["emoji_and_combining"]["entities"]["spans:hf"]]
        # one spaCy token of 100k characters that the word-piece tokenizer splits into 25k pieces:
        # its first piece is "aspirin", so the whole token (all but the final "." suffix) is one CHEMICAL
        dotted = report["cases"]["no_spaces_dotted"]["entities"]["spans:hf"]
        assert (0, len(CASES["no_spaces_dotted"]) - 1, "CHEMICAL") in [tuple(x) for x in dotted]
        # every repeated token is found, none lost across windows
        assert len(report["cases"]["repeated_token"]["entities"]["spans:hf"]) == 5000


def test_check_doc_detects_problems(tiny_pipelines):
    """The checker itself: a doc whose text differs, or an entity off the text, is reported."""
    nlp = tiny_pipelines.load("hf")
    doc = nlp("aspirin for fever")
    assert check_doc("aspirin for fever", doc) == []
    assert check_doc("aspirin for fever ", doc)  # text differs
    broken = run_case(nlp, "broken", None)  # not a string: recorded, not raised
    assert not broken["ok"] and broken["problems"]


@pytest.mark.parametrize("name", NAMES)
def test_long_document(tiny_pipelines, name):
    nlp = tiny_pipelines.load(name)
    text = battery_cases(no_space_chars=10)["long_document"]
    assert len(text) == 1_000_000 and len(text) <= nlp.max_length
    result = run_case(nlp, "long_document", text, compare_pipe=name in HF_BASED)
    assert result["ok"], result["problems"]
    assert result["rss_growth_mb"] < LONG_DOC_RSS_LIMIT_MB, result
    if name in HF_BASED:
        tail_start = len(text) - len(DEFAULT_TAIL)
        expected = [
            (tail_start + DEFAULT_TAIL.index("aspirin"), tail_start + DEFAULT_TAIL.index("aspirin") + 7, "CHEMICAL"),
            (tail_start + DEFAULT_TAIL.index("fever"), tail_start + DEFAULT_TAIL.index("fever") + 5, "DISEASE"),
        ]
        assert [tuple(x) for x in result["entities"]["spans:hf"]] == expected
        if name in HF_FILLS_ENTS:
            assert [tuple(x) for x in result["entities"]["ents"]][-2:] == expected
        stats = result["stats"]["medner.hf.stats"]
        assert stats["pieces"] > 100 * 128  # far more than one window
        assert stats["unplaced_pieces"] == 0 and stats["tokens_without_pieces"] == 0


def test_battery_command(tmp_path):
    """``medner battery``: a JSON report per pipeline, exit 1 when one fails (here: does not load)."""
    import json

    from ruler import ruler_nlp
    from typer.testing import CliRunner

    from medner.cli import app

    ruler_nlp({"CHEMICAL": ["aspirin"], "DISEASE": ["renal failure"]}).to_disk(tmp_path / "ruler")
    options = ["--long-chars", "0", "--no-space-chars", "200", "--no-multiprocess", "--chunked-max-chars", "0"]
    report_path = tmp_path / "battery.json"
    result = CliRunner().invoke(app, ["battery", str(tmp_path / "ruler"), "-o", str(report_path), *options])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    (pipeline,) = report["pipelines"]
    assert report["ok"] and pipeline["ok"] and set(pipeline["cases"]) == set(battery_cases(long_chars=0))
    assert pipeline["cases"]["crlf"]["entity_counts"]["ents"] == 2  # aspirin, renal failure
    missing = tmp_path / "no_such_pipeline"
    result = CliRunner().invoke(app, ["battery", str(tmp_path / "ruler"), str(missing), "-o", str(report_path), *options])
    assert result.exit_code == 1
    report = json.loads(report_path.read_text())
    assert not report["ok"] and str(missing) in report["pipelines"][1]["load_error"]
