"""Learned candidate re-ranker (issue 20): features on real strings, the scorer, the linker's switch,
saving the weights inside the pipeline and one-line errors for a missing or broken weights file."""
import json

import numpy as np
import pytest
import spacy
import srsly

from medner.linking.component import ConceptLinker, add_linker
from medner.linking.kb import Candidate
from medner.linking.reranker import (FEATURES, Reranker, RerankerFileError, concept_features, coverage, head_match,
                                     mention_forms, word_overlap)

MEDIC = (
    "D006331||Heart Diseases|Cardiac Diseases|Disease, Heart\n"
    "D009449||Neurocirculatory Asthenia|Cardiac Asthenia|Asthenia, Cardiac\n"
    "D007674||Kidney Diseases|Renal Diseases\n"
    "D009369||Neoplasms|Tumors\n"
)


@pytest.fixture(scope="module")
def kb(medic_kb):
    # training mentions: "Heart Diseases" named 3 times, so its prior is 3
    return medic_kb(MEDIC, [("heart disease", "DISEASE", "D006331")] * 3)


def weights(**named):
    """A re-ranker whose weights are 0 except the named features."""
    return Reranker([named.get(f, 0.0) for f in FEATURES], 0.0)


def test_word_features_on_real_strings():
    assert word_overlap("heart disease", "heart disease risk") == pytest.approx(2 / 3)
    assert word_overlap("cardiac apoptosis", "heart disease") == 0.0
    assert coverage("kidney failure acute", "kidney failure") == pytest.approx(2 / 3)  # mention words the name has
    assert coverage("kidney failure", "kidney failure acute") == 1.0
    assert head_match("inherited c9 deficiency", "c9 deficiency") == 1.0
    assert head_match("masseter muscle rigidity", "muscle spasticity") == 0.0
    # the organ and disease-head variants, normalised, the mention first
    assert mention_forms("renal lesions") == ["renal lesion", "renal disease", "kidney lesion", "kidney disease"]
    assert mention_forms("cardiac apoptosis") == ["cardiac apoptosis", "heart apoptosis"]


def test_concept_features_rows(kb):
    candidates = [Candidate("D009449", "Neurocirculatory Asthenia", 0.64), Candidate("D006331", "Heart Diseases", 0.58)]
    rows = concept_features(kb, "cardiac diseases risk", candidates)
    assert rows.shape == (2, len(FEATURES))
    row = dict(zip(FEATURES, rows[1]))
    assert row["tfidf"] == pytest.approx(0.58) and row["rank"] == 1.0 and row["gap"] == pytest.approx(0.06)
    assert row["word_overlap"] == pytest.approx(2 / 3)  # "cardiac disease" of "cardiac disease risk"
    assert row["mention_coverage"] == pytest.approx(2 / 3) and row["name_coverage"] == 1.0
    assert row["head_match"] == 0.0  # no name ends in "risk"
    assert row["log_prior"] == 0.0  # the most used of the candidates
    assert row["preferred"] == 0.0  # best name "cardiac disease", preferred "heart disease"
    first = dict(zip(FEATURES, rows[0]))
    assert first["rank"] == 0.0 and first["gap"] == 0.0
    assert first["word_overlap"] == pytest.approx(1 / 4)  # "cardiac" of "cardiac asthenia" / "cardiac disease risk"
    assert first["log_prior"] == pytest.approx(-np.log1p(3))  # never used, the other 3 times


def test_reranker_changes_the_winner_where_the_weights_say_so(kb, link_one):
    span, linker = link_one(kb, "cardiac apoptosis")
    assert linker.stats["fuzzy"] == 1
    before = [c[0] for c in span._.kb_candidates]
    # TF-IDF's best is Heart Diseases ("cardiac diseases"), the concept training mentions used 3 times
    assert len(before) == 2 and span.kb_id_ == before[0] == "D006331"
    # a negative weight on the training prior: the best never-used candidate (TF-IDF's second) wins
    span, linker = link_one(kb, "cardiac apoptosis", rerank=True, reranker=weights(log_prior=-5.0))
    assert span.kb_id_ == before[1] != before[0]
    assert [c[0] for c in span._.kb_candidates] == before[1:] + before[:1]  # ties keep the TF-IDF order
    assert linker.stats["reranked"] == 1
    # a positive weight on the rank: the last candidate wins, whatever the prior says
    span, _ = link_one(kb, "cardiac apoptosis", rerank=True, reranker=weights(rank=5.0, log_prior=1.0))
    assert span.kb_id_ == before[-1]
    # weights that follow the TF-IDF rank keep the order; the switch off or the label not listed: untouched
    span, linker = link_one(kb, "cardiac apoptosis", rerank=True, reranker=weights(rank=-5.0, log_prior=5.0))
    assert [c[0] for c in span._.kb_candidates] == before and linker.stats["reranked"] == 0
    span, _ = link_one(kb, "cardiac apoptosis", rerank=False, reranker=weights(log_prior=-5.0))
    assert span.kb_id_ == before[0]
    span, _ = link_one(kb, "cardiac apoptosis", rerank=True, rerank_labels=["CHEMICAL"], reranker=weights(log_prior=-5.0))
    assert span.kb_id_ == before[0]


def test_exact_matches_are_not_reranked(kb, link_one):
    span, linker = link_one(kb, "Cardiac Asthenia", rerank=True, reranker=weights(log_prior=5.0, rank=5.0))
    assert span.kb_id_ == "D009449" and linker.stats["exact"] == 1 and linker.stats["reranked"] == 0


def test_weights_are_saved_in_the_pipeline(kb, tmp_path):
    nlp = spacy.blank("en")
    linker = add_linker(nlp, kb, abbreviations=False, config={"rerank": True, "threshold": 0.0})
    reranker_path = tmp_path / "weights.json"
    weights(log_prior=-5.0, tfidf=1.5).to_disk(reranker_path)
    linker.initialize(reranker_path=str(reranker_path))
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "medner_linker" / "reranker.json").is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("medner_linker").reranker.weights.tolist() == linker.reranker.weights.tolist()
    doc = loaded.make_doc("cardiac apoptosis")
    doc.ents = [doc.char_span(0, len(doc.text), label="DISEASE")]
    assert loaded(doc).ents[0].kb_id_ not in ("", "D006331")  # re-ranked away from TF-IDF's best
    # to_bytes / from_bytes carry the weights too
    fresh = ConceptLinker(rerank=True, threshold=0.0).from_bytes(linker.to_bytes())
    assert fresh.reranker.to_dict() == linker.reranker.to_dict()
    assert fresh.kb is not None and len(fresh.kb) == len(kb)


def test_missing_or_corrupt_weights_are_one_line_errors(kb, tmp_path, link_one):
    missing = tmp_path / "nope.json"
    with pytest.raises(RerankerFileError, match=r"^\[medner_linker\] .*nope.json: re-ranker weights file not found$"):
        ConceptLinker(kb=kb, rerank=True).initialize(reranker_path=str(missing))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf8")
    with pytest.raises(RerankerFileError, match=r"broken.json: not valid JSON") as err:
        Reranker.from_disk(broken)
    assert "\n" not in str(err.value)
    other = tmp_path / "other.json"
    other.write_text(json.dumps(dict(weights().to_dict(), features=["tfidf"])), encoding="utf8")
    with pytest.raises(RerankerFileError, match=r"other.json: .*features \['tfidf'\] differ"):
        Reranker.from_disk(other)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"format": "something"}), encoding="utf8")
    with pytest.raises(RerankerFileError, match=r"wrong.json: format 'something', expected 'medner-reranker/1'"):
        Reranker.from_disk(wrong)
    with pytest.raises(RerankerFileError, match=r"re-ranker bytes: not valid JSON"):
        ConceptLinker(kb=kb).from_bytes(srsly.msgpack_dumps({"reranker": b"\xff"}))  # a packed pipeline's bad weights
    # switched on without weights: the linker says so before linking
    with pytest.raises(ValueError, match=r"rerank is on but no re-ranker weights are loaded"):
        link_one(kb, "cardiac apoptosis", rerank=True)
