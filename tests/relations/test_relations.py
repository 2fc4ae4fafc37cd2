"""medner_relations: reader accounting, training, round trips, scorer, annotate/serve output."""
import json
from pathlib import Path

import pytest
from spacy.tokens import DocBin, Span
from spacy.training import Example
from typer.testing import CliRunner

from medner.annotate import read_records
from medner.cli import app
from medner.corpus.records import CorpusFormatError
from medner.relations.component import RELATIONS_KEY, get_relations, score_relations, set_relations
from medner.relations.corpus import RelationReport, read_cdr_relations, read_cdr_split, read_phee_relations
from medner.relations.evaluation import phee_scores
from medner.relations.features import candidate_pairs, mentions, sentence_ids
from ruler import ruler_nlp

ROOT = Path(__file__).resolve().parents[2]
CHEMICALS = ["cisplatin", "haloperidol", "lithium", "aspirin"]
DISEASES = ["renal failure", "hepatitis", "tremor", "headache"]


# ------------------------------------------------------------------ readers
@pytest.mark.parametrize("split,pairs", [("train", 1038), ("dev", 1012), ("test", 1066)])
def test_bc5cdr_cid_counts_match_the_corpus_paper(split, pairs):
    report = RelationReport(split)
    docs = read_cdr_split(ROOT / "assets" / "bc5cdr", split, report)
    counts = report.to_dict()
    assert counts["adds_up"] and counts["relation_lines"] == counts["kept"] == pairs
    assert sum(len(d.concept_pairs) for d in docs) == pairs and len(docs) == 500
    assert counts["mentioned"] == pairs  # every pair's ids are among the document's mentions


def test_cdr_duplicates_and_orphans_are_counted_or_named(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1|t|Lithium tremor.\n1|a|Lithium caused tremor.\n"
                    "1\t0\t7\tLithium\tChemical\tD1\n1\t8\t14\ttremor\tDisease\tD2\n"
                    "1\tCID\tD1\tD2\n1\tCID\tD1\tD2\n1\tCID\tD1\tD9\n\n", encoding="utf8")
    report = RelationReport("x")
    docs = list(read_cdr_relations(path, report))
    assert [(p.head_id, p.tail_id) for p in docs[0].concept_pairs] == [("D1", "D2"), ("D1", "D9")]
    counts = report.to_dict()
    assert (counts["kept"], counts["duplicate"], counts["unmentioned"], counts["adds_up"]) == (2, 1, 1, True)
    path.write_text("1|t|A.\n\n2\tCID\tD1\tD2\n", encoding="utf8")
    with pytest.raises(CorpusFormatError, match=r"x\.txt:3: "):
        list(read_cdr_relations(path))


def _brat(directory, name, text, ann):
    (directory / f"{name}.txt").write_text(text, encoding="utf8")
    (directory / f"{name}.ann").write_text(ann, encoding="utf8")


def test_phee_events_explicit_inferred_combination_and_discontinuous(tmp_path):
    # a: explicit arguments, the Drug inside the Treatment argument; b: a trigger-only event (inferred)
    # with a Combination event that must not claim its drugs and a discontinuous effect; c: no drug.
    _brat(tmp_path, "a", "Low doses of HU caused fever.",
          "T1\tTreatment 0 15\tLow doses of HU\nT2\tDrug 13 15\tHU\nT3\tEffect 23 28\tfever\n"
          "T4\tAdverse_event 16 22\tcaused\nE1\tAdverse_event:T4 arg:T1 arg2:T3\n")
    _brat(tmp_path, "b", "X and Y induced rash and itching.",
          "T1\tDrug 0 1\tX\nT2\tDrug 6 7\tY\nT3\tEffect 16 20;25 33\trash itching\nT5\tEffect 16 20\trash\n"
          "T4\tAdverse_event 8 15\tinduced\nT6\tCombination 2 5\tand\n"
          "E1\tAdverse_event:T4\nE2\tCombination:T6 arg:T1 arg2:T2\n")
    _brat(tmp_path, "c", "Fever occurred.", "T1\tEffect 0 5\tFever\nT2\tAdverse_event 6 14\toccurred\nE1\tAdverse_event:T2\n")
    report = RelationReport("phee")
    docs = {d.source.id: d for d in read_phee_relations(tmp_path, report)}
    assert [(p.head.text, p.tail.text) for p in docs["a"].mention_pairs] == [("HU", "fever")]
    assert sorted((p.head.text, p.tail.text) for p in docs["b"].mention_pairs) == [
        ("X", "rash"), ("X", "rash itching"), ("Y", "rash"), ("Y", "rash itching")]
    assert docs["c"].mention_pairs == []
    counts = report.to_dict()
    assert counts["adds_up"]
    assert (counts["events"], counts["explicit_args"], counts["inferred"], counts["paired"], counts["no_drug"]) == (3, 1, 2, 2, 1)
    assert counts["pairs_discontinuous"] == 2 and counts["other_event:Combination"] == 1


def test_phee_test_split_adds_up():
    report = RelationReport("test")
    docs = list(read_phee_relations(ROOT / "assets" / "phee" / "test", report))
    counts = report.to_dict()
    assert counts["adds_up"] and counts["docs"] == 968 == len(docs)
    assert counts["kept"] == sum(len(d.mention_pairs) for d in docs) > 1000


# ------------------------------------------------------------------ component
TRAIN_TEXTS = [
    ("{c} induced {d}.", True), ("{d} after {c} treatment.", True), ("{c}-induced {d} was seen.", True),
    ("{c} was given for {d}.", False), ("{d} was treated with {c}.", False), ("{c} prevents {d}.", False),
]


def _gold_doc(nlp, text, positive):
    doc = nlp(text)
    chem = [e for e in doc.ents if e.label_ == "CHEMICAL"][0]
    dis = [e for e in doc.ents if e.label_ == "DISEASE"][0]
    set_relations(doc, [(chem, dis, "ADVERSE_EFFECT", None, None, None)] if positive else [])
    return doc


@pytest.fixture(scope="module")
def trained():
    nlp = ruler_nlp({"CHEMICAL": CHEMICALS, "DISEASE": DISEASES})
    docs = [_gold_doc(nlp, t.format(c=c, d=d), pos) for t, pos in TRAIN_TEXTS for c in CHEMICALS for d in DISEASES]
    rel = nlp.add_pipe("medner_relations", config={"level": "mention", "label": "ADVERSE_EFFECT",
                                                   "label_pairs": [["CHEMICAL", "DISEASE"]], "priors": False,
                                                   "regularization": 10.0})
    examples = []
    for doc in docs:
        x = doc.copy()
        del x.spans[RELATIONS_KEY]
        examples.append(Example(x, doc))
    rel.initialize(lambda: examples)
    return nlp


TEXT = "Lithium induced tremor. Aspirin was given for headache."


def _pairs(doc):
    return [(doc.text[slice(*r["head"])], doc.text[slice(*r["tail"])], r["label"]) for r in doc._.relations]


def test_trained_component_finds_the_induced_pair_only(trained):
    doc = trained(TEXT)
    assert _pairs(doc) == [("Lithium", "tremor", "ADVERSE_EFFECT")]
    assert 0.5 <= doc._.relations[0]["score"] <= 1.0


def test_round_trip_disk_bytes_and_docbin(trained, tmp_path):
    expected = trained(TEXT)._.relations
    trained.to_disk(tmp_path / "p")
    import spacy
    assert spacy.load(tmp_path / "p")(TEXT)._.relations == expected
    rel = trained.get_pipe("medner_relations")
    copy = type(rel)("copy").from_bytes(rel.to_bytes())
    assert copy.weights == rel.weights and copy.cfg == rel.cfg
    bin_ = DocBin()  # span groups (and their attrs) travel without store_user_data
    bin_.add(trained(TEXT))
    again = list(DocBin().from_bytes(bin_.to_bytes()).get_docs(trained.vocab))[0]
    assert again._.relations == expected


def test_missing_weights_file_is_named(trained, tmp_path):
    trained.to_disk(tmp_path / "p")
    (tmp_path / "p" / "medner_relations" / "model.json").unlink()
    import spacy
    with pytest.raises(ValueError, match="model.json"):
        spacy.load(tmp_path / "p")


def test_untrained_component_says_so():
    nlp = ruler_nlp({"CHEMICAL": CHEMICALS})
    nlp.add_pipe("medner_relations")
    with pytest.raises(ValueError, match="not trained"):
        nlp("lithium")


def test_concept_candidates_group_mentions_by_kb_id():
    nlp = ruler_nlp({"CHEMICAL": CHEMICALS, "DISEASE": DISEASES})
    doc = nlp("Lithium and lithium caused tremor. Tremor persisted.")
    doc.ents = [Span(doc, e.start, e.end, e.label_, kb_id={"lithium": "D1", "tremor": "D2"}[e.text.lower()])
                for e in doc.ents]
    cands = candidate_pairs(mentions(doc, list(doc.ents), sentence_ids(doc)), [["CHEMICAL", "DISEASE"]], "concept")
    assert [(c.head_key, c.tail_key, len(c.heads), len(c.tails)) for c in cands] == [("D1", "D2", 2, 2)]
    assert sentence_ids(doc)[-2] == 1  # "Tremor persisted." is the second sentence


# ------------------------------------------------------------------ scorer
def test_scorer_on_a_hand_made_doc():
    nlp = ruler_nlp({"CHEMICAL": CHEMICALS, "DISEASE": DISEASES})
    gold = nlp("Lithium induced tremor and headache; aspirin for hepatitis.")
    li, tremor, headache, aspirin, hep = gold.ents
    set_relations(gold, [(li, tremor, "CID", None, None, None), (li, headache, "CID", None, None, None)])
    pred = gold.copy()
    set_relations(pred, [(pred.ents[0], pred.ents[1], "CID", 0.9, None, None),
                         (pred.ents[3], pred.ents[4], "CID", 0.6, None, None)])
    scores = score_relations([Example(pred, gold)])
    assert scores == {"rel_p": 0.5, "rel_r": 0.5, "rel_f": 0.5}
    from spacy import registry
    assert registry.scorers.get("medner.relations_scorer.v1")() is score_relations


def test_phee_exact_and_overlap_scores():
    gold = {"d": [(((0, 5),), ((10, 20),)), (((0, 5),), ((30, 35), (40, 45)))]}
    pred = {"d": [((0, 5), (10, 20)), ((0, 4), (30, 45)), ((50, 55), (10, 20))]}
    scores = phee_scores(pred, gold)
    assert (scores["exact"]["tp"], scores["exact"]["pred"], scores["exact"]["gold"]) == (1, 3, 2)
    assert (scores["overlap"]["pred_matched"], scores["overlap"]["gold_matched"]) == (2, 2)


# ------------------------------------------------------------------ annotate output
def test_annotate_jsonl_has_relations(trained, tmp_path):
    trained.to_disk(tmp_path / "model")
    texts = [TEXT, "No drugs here."]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)), encoding="utf8")
    result = CliRunner().invoke(app, ["annotate", str(inp), str(tmp_path / "out.jsonl"), "--model",
                                      str(tmp_path / "model"), "--no-progress"])
    assert result.exit_code == 0, result.output
    records = read_records(tmp_path / "out.jsonl")
    first = records[0]
    assert [(TEXT[slice(*r["head"])], TEXT[slice(*r["tail"])], r["label"]) for r in first["relations"]] == [
        ("Lithium", "tremor", "ADVERSE_EFFECT")]
    offsets = {(e["start"], e["end"]) for e in first["entities"]}
    assert all(tuple(r["head"]) in offsets and tuple(r["tail"]) in offsets for r in first["relations"])
    assert records[1]["relations"] == []


def test_serve_returns_the_relations_of_medner_annotate(trained):
    import httpx

    from medner.annotate import Item, doc_to_record
    from medner.serve.app import create_app
    from medner.serve.options import ServeOptions
    from serve_helpers import running_server

    options = ServeOptions(max_body_bytes=20_000, max_text_chars=2_000, max_texts=10, request_timeout_s=10.0,
                           batch_docs=8, batch_wait_ms=5.0, max_chars=2_000, max_batch_chars=10_000)
    with running_server(create_app(options, {"relations": trained})) as (url, _):
        with httpx.Client(base_url=url, timeout=30) as client:
            [record] = client.post("/annotate", json={"text": TEXT}).json()["documents"]
    assert record["relations"] == doc_to_record(trained(TEXT), Item(0, TEXT, {}, "test"))["relations"]
    assert [(TEXT[slice(*r["head"])], TEXT[slice(*r["tail"])]) for r in record["relations"]] == [("Lithium", "tremor")]
