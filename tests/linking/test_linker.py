"""medner_linker and its KB on a tiny vocabulary built in the test (no corpus, no model)."""
import json

import pytest
import spacy
from spacy.tokens import Span, SpanGroup

from medner.linking.component import ConceptLinker, add_linker, choose
from medner.corpus.align import FileReport, source_to_doc
from medner.corpus.readers import read_pubtator
from medner.linking.kb import Candidate, KBFileError, KnowledgeBase, normalise, split_composite
from medner.linking.evaluation import concept_f1, gold_mentions, score_gold_mentions
from medner.ner.vocab.sources import VocabularyFormatError, read_medic, read_mesh_descriptors

MEDIC = (
    "D001943|114480||Breast Neoplasms|Breast Cancer|Tumors, Breast\n"
    "D010051||Ovarian Neoplasms|Ovarian Cancer|Cancer of Ovary\n"
    "D010300||Parkinson Disease|Parkinson's Disease|Paralysis Agitans\n"
    "D006973||Hypertension|High Blood Pressure\n"
    "613097||Tooth Agenesis, Selective, 6|STHAG6\n"
)
MESH = "D014859\tWarfarin\nD009270\tNaloxone\nD003000\tClonidine\nD001943\tBreast Neoplasms\n"
TRAINING = [("Coumadin", "CHEMICAL", "D014859"), ("nimesulide", "CHEMICAL", "C012655"),
            ("hypertensive", "DISEASE", "D006973"), ("hypertensive", "DISEASE", "D006973")]


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab")
    (folder / "medic.txt").write_text(MEDIC, encoding="utf8")
    (folder / "mesh.tsv").write_text(MESH, encoding="utf8")
    vocab = list(read_medic(folder / "medic.txt")) + list(read_mesh_descriptors(folder / "mesh.tsv"))
    return KnowledgeBase.build(vocab, TRAINING)


def make_doc(text, ents, nlp=None):
    nlp = nlp or spacy.blank("en")
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(text.index(t), text.index(t) + len(t), label=label) for t, label in ents]
    return doc


def link(kb, text, ents, **config):
    doc = make_doc(text, ents)
    linker = ConceptLinker(kb=kb, **config)
    linker(doc)
    return doc, linker


def test_kb_build_merges_vocabularies_and_training_names(kb):
    # MeSH "Breast Neoplasms" is the MEDIC concept already; the C-chemical exists only in training
    assert len(kb) == 5 + 3 + 1
    assert kb.ids_of("OMIM:114480") == ["D001943", "OMIM:114480"]
    assert kb.ids_of("OMIM:613097") == ["OMIM:613097"]  # OMIM-only MEDIC concept gets the corpus prefix
    assert [c.id for c in kb.exact("coumadin")] == ["D014859"]
    assert kb.exact("NIMESULIDE")[0].id == "C012655"


def test_exact_normalised_and_fuzzy_links(kb):
    # salt_forms off: "warfarin sodium" is the fuzzy case here (with it, the salt-free variant is exact)
    doc, linker = link(kb, "Coumadin and warfarin sodium for parkinsons disease.", threshold=0.5, salt_forms=False, ents=
                       [("Coumadin", "CHEMICAL"), ("warfarin sodium", "CHEMICAL"), ("parkinsons disease", "DISEASE")])
    assert [e.kb_id_ for e in doc.ents] == ["D014859", "D014859", "D010300"]
    assert doc.ents[0]._.kb_candidates[0] == ("D014859", "Warfarin", 1.0)
    fuzzy_score = doc.ents[1]._.kb_candidates[0][2]
    assert 0.5 <= fuzzy_score < 1.0
    assert linker.stats["exact"] == 2 and linker.stats["fuzzy"] == 1 and linker.stats["linked"] == 3


def test_a_label_threshold_overrides_the_threshold_for_that_label_only(kb):
    text, ents = "warfarin sodium and parkinsons disease.", [("warfarin sodium", "CHEMICAL"), ("parkinsons disease", "DISEASE")]
    doc, _ = link(kb, text, ents, threshold=0.5, salt_forms=False, label_thresholds={"CHEMICAL": 0.999})
    assert [e.kb_id_ for e in doc.ents] == ["", "D010300"]  # the fuzzy chemical is NIL, the exact disease linked
    assert doc.ents[0]._.kb_candidates[0][0] == "D014859"  # its candidates are kept
    doc, _ = link(kb, text, ents, threshold=0.999, salt_forms=False, label_thresholds={"CHEMICAL": 0.5})
    assert [e.kb_id_ for e in doc.ents] == ["D014859", "D010300"]


def test_linker_options_are_checked_once_with_one_line_errors():
    with pytest.raises(ValueError, match=r"label_thresholds\['CHEMICAL'\] must be between 0 and 1, got 1.5"):
        ConceptLinker(label_thresholds={"CHEMICAL": 1.5})
    with pytest.raises(TypeError, match="treshold"):
        ConceptLinker(treshold=0.5)
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match=r"\[medner_linker\] n_candidates must be at least 1, got 0"):
        nlp.add_pipe("medner_linker", config={"n_candidates": 0})
    linker = nlp.add_pipe("medner_linker", name="linker", config={"label_thresholds": {"DISEASE": 0.7}})
    assert linker.options.threshold_for("DISEASE") == 0.7 and linker.options.threshold_for("CHEMICAL") == 0.8
    assert linker.cfg["label_types"] == {"CHEMICAL": ["CHEMICAL"], "MEDICATION": ["CHEMICAL"], "DISEASE": ["DISEASE"]}


def test_exact_hits_keep_their_exact_concepts_unless_candidates_are_filled(kb):
    text, ents = "Warfarin and warfarin sodium.", [("Warfarin", "CHEMICAL"), ("warfarin sodium", "CHEMICAL")]
    exact_only, _ = link(kb, text, ents, threshold=0.5, salt_forms=False, label_types={})
    filled, _ = link(kb, text, ents, threshold=0.5, salt_forms=False, label_types={}, fill_candidates=True)
    assert [e.kb_id_ for e in exact_only.ents] == [e.kb_id_ for e in filled.ents] == ["D014859", "D014859"]
    assert [c[0] for c in exact_only.ents[0]._.kb_candidates] == ["D014859"]  # no TF-IDF search for an exact name
    assert len(filled.ents[0]._.kb_candidates) > 1 and filled.ents[0]._.kb_candidates[0] == ("D014859", "Warfarin", 1.0)
    assert exact_only.ents[1]._.kb_candidates == filled.ents[1]._.kb_candidates  # a fuzzy mention is searched either way


def test_label_aware_search_keeps_chemicals_and_diseases_apart(kb):
    doc, _ = link(kb, "Hypertension was treated.", [("Hypertension", "CHEMICAL")])
    assert doc.ents[0].kb_id_ != "D006973"
    doc, _ = link(kb, "Hypertension was treated.", [("Hypertension", "CHEMICAL")], label_types={})
    assert doc.ents[0].kb_id_ == "D006973"


def test_composite_mention_gets_every_part(kb):
    assert split_composite("breast and ovarian cancer") == ["breast cancer", "ovarian cancer"]
    doc, linker = link(kb, "Risk of breast and ovarian cancer rises.", [("breast and ovarian cancer", "DISEASE")])
    assert doc.ents[0].kb_id_ == "D001943|D010051"
    assert linker.stats["composite"] == 1
    ids = [c[0] for c in doc.ents[0]._.kb_candidates]
    assert {"D001943", "D010051"} <= set(ids)


def test_nil_below_threshold_keeps_candidates_and_counts(kb):
    doc, linker = link(kb, "A zyxwvut qqq finding.", [("zyxwvut qqq", "DISEASE")], threshold=0.5)
    assert doc.ents[0].kb_id_ == ""
    assert linker.stats["nil"] == 1 and linker.stats["linked"] == 0


def test_abbreviation_links_through_its_long_form(kb):
    import medner.abbreviations.component  # noqa: F401  (doc._.abbreviations, span._.long_form)

    text = "Patients with Parkinson disease (PD) were seen. PD worsened."
    doc = make_doc(text, [("Parkinson disease", "DISEASE")])
    second_pd = text.rindex("PD")
    doc.ents = list(doc.ents) + [doc.char_span(second_pd, second_pd + 2, label="DISEASE")]
    short = doc.char_span(second_pd, second_pd + 2)
    short._.long_form = doc.char_span(14, 31)
    without = ConceptLinker(kb=kb, abbreviations=False, threshold=0.5)
    without(doc)
    assert doc.ents[1].kb_id_ != "D010300"
    linker = ConceptLinker(kb=kb, threshold=0.5)
    linker(doc)
    assert [e.kb_id_ for e in doc.ents] == ["D010300", "D010300"]
    assert linker.stats["abbreviation"] == 1


def test_span_group_and_bad_mentions(kb):
    nlp = spacy.blank("en")
    text = "糖尿病 and " + "x" * 10_000 + " and Naloxone"
    doc = nlp.make_doc(text)
    spans = [doc[0:1], doc[2:3], doc[4:5], doc[1:1]]
    for s in spans[:3]:
        s.label_ = "CHEMICAL"
    doc.spans["found"] = SpanGroup(doc, name="found", spans=[Span(doc, s.start, s.end, label="CHEMICAL") for s in spans])
    linker = ConceptLinker(kb=kb, spans_key="found")
    linker(doc)
    assert [s.kb_id_ for s in doc.spans["found"]] == ["", "", "D009270", ""]
    assert linker.stats["too_long"] == 1 and linker.stats["empty"] == 1 and linker.stats["nil"] == 3


def test_choose_prefers_exact_whole_over_parts():
    whole = [Candidate("D1", "A and B", 1.0)]
    parts = [[Candidate("D2", "A", 1.0)], [Candidate("D3", "B", 1.0)]]
    assert choose(whole, None, parts, 0.5)[0] == "D1"
    assert choose([Candidate("D1", "x", 0.6)], None, parts, 0.5)[0] == "D2|D3"


def test_pipeline_round_trip_keeps_kb_and_predictions(kb, tmp_path):
    nlp = spacy.blank("en")
    add_linker(nlp, kb, abbreviations=False, config={"threshold": 0.3})
    before = nlp(make_doc("Coumadin and breast and ovarian cancer.", [("Coumadin", "CHEMICAL"), ("breast and ovarian cancer", "DISEASE")]))
    nlp.to_disk(tmp_path / "pipe")
    loaded = spacy.load(tmp_path / "pipe")
    after = loaded(make_doc("Coumadin and breast and ovarian cancer.", [("Coumadin", "CHEMICAL"), ("breast and ovarian cancer", "DISEASE")], loaded))
    assert [e.kb_id_ for e in after.ents] == [e.kb_id_ for e in before.ents] == ["D014859", "D001943|D010051"]
    # the KB stores the TF-IDF matrix as float16: ids and order survive, scores to 1e-3
    assert [c[:2] for c in after.ents[0]._.kb_candidates] == [c[:2] for c in before.ents[0]._.kb_candidates]
    assert [c[2] for c in after.ents[0]._.kb_candidates] == pytest.approx([c[2] for c in before.ents[0]._.kb_candidates], abs=1e-3)
    assert loaded.get_pipe("medner_linker").cfg["threshold"] == 0.3


def test_nlp_to_bytes_keeps_the_kb(kb):
    """``nlp.to_bytes()`` used to drop the linker's KB: the copy linked nothing."""
    nlp = spacy.blank("en")
    add_linker(nlp, kb, abbreviations=False, config={"threshold": 0.3})
    ents = [("Coumadin", "CHEMICAL"), ("breast and ovarian cancer", "DISEASE")]
    before = nlp(make_doc("Coumadin and breast and ovarian cancer.", ents))
    copy = spacy.blank("en")
    copy.add_pipe("medner_linker", config={"threshold": 0.3})
    copy.from_bytes(nlp.to_bytes())
    after = copy(make_doc("Coumadin and breast and ovarian cancer.", ents, copy))
    assert [e.kb_id_ for e in after.ents] == [e.kb_id_ for e in before.ents] == ["D014859", "D001943|D010051"]
    assert len(copy.get_pipe("medner_linker").kb) == len(kb)


def test_missing_or_corrupt_kb_file_is_named(kb, tmp_path):
    kb.to_disk(tmp_path / "kb")
    (tmp_path / "kb" / "names.tsv.gz").write_bytes(b"not gzip")
    with pytest.raises(KBFileError, match=r"names\.tsv\.gz: not a readable gzip"):
        KnowledgeBase.from_disk(tmp_path / "kb")
    kb.to_disk(tmp_path / "kb2")
    (tmp_path / "kb2" / "tfidf.npz").unlink()
    with pytest.raises(KBFileError, match=r"tfidf\.npz: knowledge base file missing"):
        KnowledgeBase.from_disk(tmp_path / "kb2")
    kb.to_disk(tmp_path / "kb3")
    (tmp_path / "kb3" / "tfidf.npz").write_bytes(b"PK broken")
    with pytest.raises(KBFileError, match=r"tfidf\.npz: cannot read"):
        KnowledgeBase.from_disk(tmp_path / "kb3")
    with pytest.raises(KBFileError, match="knowledge base directory not found"):
        KnowledgeBase.from_disk(tmp_path / "nowhere")


def test_bad_vocabulary_line_names_file_and_line(tmp_path):
    path = tmp_path / "medic.txt"
    path.write_text("D1||Name\nno separator here\n", encoding="utf8")
    with pytest.raises(VocabularyFormatError, match=r"medic\.txt:2: expected"):
        list(read_medic(path))


def test_linker_without_kb_says_so():
    with pytest.raises(ValueError, match="no knowledge base loaded"):
        ConceptLinker()(make_doc("Naloxone.", [("Naloxone", "CHEMICAL")]))


def test_normalise_spelling_case_and_plurals():
    assert normalise("Parkinson's Disease") == normalise("parkinson disease") == "parkinson disease"
    assert normalise("anaemias") == normalise("Anemia")
    assert normalise("diabetes") == "diabetes"


def test_pubtator_ids_reach_span_kb_id(tmp_path, nlp):
    path = tmp_path / "a.txt"
    path.write_text("1|t|Naloxone and nalozone.\n1|a|x\n1\t0\t8\tNaloxone\tChemical\tD009270\n"
                    "1\t13\t21\tnalozone\tChemical\t-1\n", encoding="utf8")
    source = next(read_pubtator(path))
    report = FileReport(path=str(path))
    doc = source_to_doc(nlp, source, report)
    assert [e.kb_id_ for e in doc.ents] == ["D009270", ""]
    assert report.to_dict()["kb_ids"] == {"source": 1, "kept": 1}


def test_scores_accuracy_and_concept_f1(kb):
    gold = make_doc("Coumadin and breast and ovarian cancer.", [("Coumadin", "CHEMICAL"), ("breast and ovarian cancer", "DISEASE")])
    gold.ents = [Span(gold, e.start, e.end, label=e.label_, kb_id=i) for e, i in zip(gold.ents, ["D014859", "D001943|OMIM:114480"])]
    mentions = gold_mentions([gold])
    predicted = make_doc(gold.text, [("Coumadin", "CHEMICAL"), ("breast and ovarian cancer", "DISEASE")])
    ConceptLinker(kb=kb)(predicted)
    scores = score_gold_mentions(kb, mentions, [predicted], seen={"coumadin"})
    assert scores["CHEMICAL/all"]["acc1"] == 100.0 and "CHEMICAL/unseen" not in scores
    # predicted D001943|D010051 overlaps the gold concept (acc1) but is not the same set (strict)
    assert scores["DISEASE/all"] == {"n": 1, "nil": 0, "acc1": 100.0, "acc1_strict": 0.0, "acc5": 100.0}
    f1 = concept_f1(kb, [gold], [predicted], ["DISEASE"])["DISEASE"]
    assert (f1["tp"], f1["fp"], f1["fn"]) == (1, 1, 0)


def test_annotate_writes_kb_id_candidates_and_html(kb, tmp_path):
    from typer.testing import CliRunner

    from medner.annotate import read_records
    from medner.cli import app
    from ruler import ruler_nlp

    nlp = ruler_nlp({"CHEMICAL": ["Coumadin"], "DISEASE": ["breast and ovarian cancer", "zyxwvut"]})
    add_linker(nlp, kb, abbreviations=False)
    nlp.to_disk(tmp_path / "pipe")
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "d1", "text": "Coumadin; breast and ovarian cancer; zyxwvut."}) + "\n", encoding="utf8")
    result = CliRunner().invoke(app, ["annotate", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), "--model", str(tmp_path / "pipe"),
                                      "--candidates", "2", "--html", str(tmp_path / "out.html"), "--no-progress"])
    assert result.exit_code == 0, result.output
    entities = read_records(tmp_path / "out.jsonl")[0]["entities"]
    assert [e["kb_id"] for e in entities] == ["D014859", "D001943|D010051", None]
    assert entities[0]["candidates"][0] == {"id": "D014859", "name": "Warfarin", "score": 1.0}
    assert all(len(e["candidates"]) <= 2 for e in entities)
    assert "D014859" in (tmp_path / "out.html").read_text(encoding="utf8")


def test_annotate_names_a_missing_kb_file_in_one_line(kb, tmp_path):
    from typer.testing import CliRunner

    from medner.cli import app

    nlp = spacy.blank("en")
    add_linker(nlp, kb, abbreviations=False)
    nlp.to_disk(tmp_path / "pipe")
    (tmp_path / "pipe" / "medner_linker" / "kb" / "tfidf.npz").unlink()
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "d1", "text": "Naloxone."}) + "\n", encoding="utf8")
    result = CliRunner().invoke(app, ["annotate", str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"),
                                      "--model", str(tmp_path / "pipe"), "--no-progress"])
    assert result.exit_code == 1
    assert "tfidf.npz: knowledge base file missing" in " ".join(result.output.split())
    assert "--gpu-id" not in result.output and "Traceback" not in result.output


def test_neoplasm_synonym_variant_finds_the_mesh_name(kb):
    doc, linker = link(kb, "A breast carcinoma was removed.", [("breast carcinoma", "DISEASE")], variants=False, threshold=0.0)
    whole_score = doc.ents[0]._.kb_candidates[0][2]
    doc, linker = link(kb, "A breast carcinoma was removed.", [("breast carcinoma", "DISEASE")], threshold=0.0)
    assert doc.ents[0].kb_id_ == "D001943"
    assert doc.ents[0]._.kb_candidates[0][2] == 1.0 > whole_score
    assert linker.stats["variant"] == 1


def test_unlisted_labels_can_be_left_unlinked(kb):
    """A clinical pipeline links MEDICATION and DISEASE, not its LAB_VALUE or location spans."""
    text = "Warfarin was given by the physician for hypertension."
    ents = [("Warfarin", "MEDICATION"), ("physician", "NONBIOLOGICAL_LOCATION"), ("hypertension", "DISEASE")]
    doc, linker = link(kb, text, ents, threshold=0.0, link_unlisted_labels=False)
    assert [(e.text, e.kb_id_) for e in doc.ents] == [("Warfarin", "D014859"), ("physician", ""), ("hypertension", "D006973")]
    assert linker.stats["unlisted_label"] == 1 and doc.ents[1]._.kb_candidates in (None, [])
    doc, _ = link(kb, text, ents, threshold=0.0)  # default: every label is searched
    assert doc.ents[1]._.kb_candidates
