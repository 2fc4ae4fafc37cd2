"""Drug names in the KB: they join the MeSH concept, bring its DrugBank ID, and survive serialization."""
import bz2
import pickle
from pathlib import Path

import pytest
import spacy
import srsly

from medner.linking.component import ConceptLinker, add_linker
from medner.linking.evaluation import gold_mentions, score_gold_mentions
from medner.linking.kb import KBFileError, KnowledgeBase
from medner.linking.kb.names import salt_variants
from medner.ner.vocab.sources import read_drug_dictionary, read_mesh_descriptors

MESH = "D008687\tMetformin\nD009270\tNaloxone\nD007004\tHypoglycemic Agents\nD014859\tWarfarin\n"
DRUGS = {
    "drug_variant_to_canonical": {"metformin": ["metformin"], "glucophage": ["metformin"],
                                  "naloxone": ["naloxone"], "narcan": ["naloxone"], "zorbitol": ["zorbitol"],
                                  # the library has such names ("tradename \t = sirturo"): a tab once broke names.tsv.gz
                                  "narcan\tnasal spray": ["naloxone"]},
    "drug_canonical_to_data": {
        "metformin": {"name": "Metformin", "mesh_id": "D007004", "drugbank_id": "DB00331"},
        "naloxone": {"name": "Naloxone", "mesh_id": "D009270", "drugbank_id": "DB01183"},
        "zorbitol": {"name": "Zorbitol", "drugbank_id": "DB99999"},
    },
}


def build_kb(folder, with_drugs=True, mentions=(("Coumadin", "CHEMICAL", "D014859"),)):
    (folder / "mesh.tsv").write_text(MESH, encoding="utf8")
    vocab = list(read_mesh_descriptors(folder / "mesh.tsv"))
    if with_drugs:
        with bz2.open(folder / "drugs.pkl.bz2", "wb") as file_:
            pickle.dump(DRUGS, file_)
        mesh_names = {c.ids[0]: c.names[0] for c in vocab}
        vocab += list(read_drug_dictionary(folder / "drugs.pkl.bz2", mesh_names))
    return KnowledgeBase.build(vocab, mentions)


@pytest.fixture(scope="module")
def drug_kb(tmp_path_factory):
    return build_kb(tmp_path_factory.mktemp("drugs"))


def linked(nlp, text, mentions):
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(text.index(m), text.index(m) + len(m), label=label) for m, label in mentions]
    return nlp(doc)


def test_drug_names_join_the_mesh_concept_with_the_drugbank_id_appended(drug_kb, tmp_path):
    # 4 MeSH descriptors + Coumadin's concept is Warfarin's + one drug MeSH lacks: no duplicate Metformin concept
    assert len(drug_kb) == 5
    assert drug_kb.ids_of("D008687") == ["D008687", "DB00331"]
    assert drug_kb.ids_of("DB01183") == ["D009270", "DB01183"]
    assert [c.id for c in drug_kb.exact("Glucophage")] == ["D008687"]
    assert [c.id for c in drug_kb.exact("narcan")] == ["D009270"]
    # the class descriptor the library named for metformin gets neither its names nor its DrugBank ID
    assert drug_kb.ids_of("D007004") == ["D007004"] and not drug_kb.exact("glucophage")[1:]
    assert drug_kb.exact("zorbitol")[0].id == "DB99999"
    without = build_kb(tmp_path, with_drugs=False)
    assert not without.exact("Glucophage") and without.ids_of("D008687") == ["D008687"]


def test_linked_span_gets_concept_ids_and_drugbank_id(drug_kb):
    nlp = spacy.blank("en")
    add_linker(nlp, drug_kb, abbreviations=False)
    doc = linked(nlp, "Glucophage and Coumadin were given.", [("Glucophage", "MEDICATION"), ("Coumadin", "CHEMICAL")])
    assert [e.kb_id_ for e in doc.ents] == ["D008687", "D014859"]
    assert doc.ents[0]._.concept_ids == ["D008687", "DB00331"]
    assert doc.ents[0]._.drugbank_id == "DB00331"
    assert doc.ents[1]._.concept_ids == ["D014859"] and doc.ents[1]._.drugbank_id == ""


def test_a_training_id_that_wins_the_name_still_gets_the_drugs_drugbank_id(tmp_path):
    # BC5CDR's gold "atorvastatin" is C065179; MeSH's Atorvastatin descriptor is the concept with DB01076
    kb = build_kb(tmp_path, mentions=[("glucophage", "CHEMICAL", "C000123")])
    nlp = spacy.blank("en")
    add_linker(nlp, kb, abbreviations=False)
    doc = linked(nlp, "Glucophage and naloxone.", [("Glucophage", "MEDICATION"), ("naloxone", "CHEMICAL")])
    assert doc.ents[0].kb_id_ == "C000123"
    assert doc.ents[0]._.concept_ids == ["C000123", "DB00331"] and doc.ents[0]._.drugbank_id == "DB00331"
    assert doc.ents[1]._.concept_ids == ["D009270", "DB01183"]


def test_to_bytes_round_trip_keeps_the_drugbank_id(drug_kb):
    nlp = spacy.blank("en")
    add_linker(nlp, drug_kb, abbreviations=False, config={"threshold": 0.5})
    data = nlp.to_bytes()
    loaded = spacy.blank("en")
    loaded.add_pipe("medner_linker", config={"threshold": 0.5, "abbreviations": False})
    loaded.from_bytes(data)
    assert len(loaded.get_pipe("medner_linker").kb) == len(drug_kb)
    doc = linked(loaded, "Narcan reversed it.", [("Narcan", "CHEMICAL")])
    assert doc.ents[0].kb_id_ == "D009270" and doc.ents[0]._.drugbank_id == "DB01183"
    assert [c.id for c in loaded.get_pipe("medner_linker").kb.exact("Narcan nasal spray")] == ["D009270"]


def test_linker_bytes_without_kb_or_broken_are_refused(drug_kb):
    with pytest.raises(ValueError, match="cannot save a linker without a knowledge base"):
        ConceptLinker().to_bytes()
    with pytest.raises(KBFileError, match="knowledge base bytes: missing concepts.tsv.gz, names.tsv.gz, tfidf.npz"):
        KnowledgeBase.from_bytes(srsly.msgpack_dumps({"meta.json": b"{}"}))


def test_salt_and_ester_words_are_dropped_only_as_a_variant():
    assert salt_variants("metformin hydrochloride") == ["metformin"]
    assert salt_variants("Sodium valproate") == ["valproate"]
    assert salt_variants("betamethasone dipropionate") == ["betamethasone"]
    assert salt_variants("metformin") == [] and salt_variants("sodium") == []


def test_salt_form_links_to_the_parent_drug(tmp_path):
    (tmp_path / "mesh.tsv").write_text(MESH, encoding="utf8")
    kb = KnowledgeBase.build(read_mesh_descriptors(tmp_path / "mesh.tsv"),
                             [("ondansetron hydrochloride", "CHEMICAL", "D017294")])
    text, mention = "Metformin hydrochloride was started.", [("Metformin hydrochloride", "CHEMICAL")]
    nlp = spacy.blank("en")
    without = ConceptLinker(kb=kb, abbreviations=False, salt_forms=False, threshold=0.0)
    doc = linked_with(without, nlp, text, mention)
    # fuzzy only: the "hydrochloride" n-grams cost the right concept its score (below the 0.8 default threshold)
    assert without.stats["fuzzy"] == 1 and dict((c[0], c[2]) for c in doc.ents[0]._.kb_candidates).get("D008687", 0) < 0.8
    with_salts = ConceptLinker(kb=kb, abbreviations=False, threshold=0.0, salt_forms=True)
    doc = linked_with(with_salts, nlp, text, mention)
    assert doc.ents[0].kb_id_ == "D008687" and doc.ents[0]._.kb_candidates[0][2] == 1.0
    assert with_salts.stats["variant"] == 1


def linked_with(linker, nlp, text, mentions):
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(text.index(m), text.index(m) + len(m), label=label) for m, label in mentions]
    return linker(doc)


def test_gold_scoring_reports_the_drug_subset(drug_kb):
    nlp = spacy.blank("en")
    text = "Glucophage, Narcan and Coumadin."
    doc = nlp.make_doc(text)
    doc.ents = [doc.char_span(text.index(m), text.index(m) + len(m), label="CHEMICAL", kb_id=i)
                for m, i in [("Glucophage", "D008687"), ("Narcan", "D009270"), ("Coumadin", "D014859")]]
    mentions = gold_mentions([doc])
    ConceptLinker(kb=drug_kb, abbreviations=False).link_docs([doc])
    scores = score_gold_mentions(drug_kb, mentions, [doc], seen={"coumadin", "narcan"},
                                 subsets={"drugs": {"glucophage", "narcan"}})
    assert scores["CHEMICAL/drugs"]["n"] == 2 and scores["CHEMICAL/drugs"]["acc1"] == 100.0
    assert scores["CHEMICAL/drugs_unseen"]["n"] == 1 and scores["CHEMICAL/all"]["n"] == 3


def test_drug_names_leave_the_tfidf_weights_of_the_other_names_alone(drug_kb, tmp_path):
    # 80k drug names once shifted every IDF weight and cost BC5CDR dev disease 0.5 acc@1
    without = build_kb(tmp_path, with_drugs=False)
    for gram in without.tfidf.ngrams:
        assert drug_kb.tfidf.idf[drug_kb.tfidf.vocabulary[gram]] == pytest.approx(without.tfidf.idf[without.tfidf.vocabulary[gram]])
    assert "hag" in drug_kb.tfidf.vocabulary and "hag" not in without.tfidf.vocabulary  # "glucophage" is still searchable
    assert drug_kb.meta["idf_names"] == len(without.names)
    vocab = list(read_mesh_descriptors(tmp_path / "mesh.tsv"))
    with bz2.open(tmp_path / "drugs.pkl.bz2", "wb") as file_:
        pickle.dump(DRUGS, file_)
    vocab += list(read_drug_dictionary(tmp_path / "drugs.pkl.bz2", {c.ids[0]: c.names[0] for c in vocab}))
    everything = KnowledgeBase.build(vocab, extension_idf=True)
    assert everything.meta["idf_names"] == len(everything.names) > len(without.names)


def test_build_kb_script_leaves_out_drugs_without_ids_and_names_a_bad_dictionary(tmp_path):
    from script_cli import run_script

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "medic.txt").write_text("D006973||Hypertension|High Blood Pressure\n", encoding="utf8")
    (tmp_path / "mesh.tsv").write_text(MESH, encoding="utf8")
    drugs = {"drug_variant_to_canonical": dict(DRUGS["drug_variant_to_canonical"], quuxol=["quuxol"]),
             "drug_canonical_to_data": dict(DRUGS["drug_canonical_to_data"], quuxol={"name": "Quuxol"})}
    with bz2.open(tmp_path / "drugs.pkl.bz2", "wb") as file_:
        pickle.dump(drugs, file_)
    common = ["--medic", tmp_path / "medic.txt", "--mesh", tmp_path / "mesh.tsv",
              "--mentions", f"ncbi_disease:{root / 'assets' / 'ncbi_disease'}:dev"]
    result = run_script("build_kb", tmp_path / "kb", *common, "--drugs", tmp_path / "drugs.pkl.bz2")
    assert result.returncode == 0, result.output
    assert "3 drugs added, 1 without a MeSH or DrugBank ID left out" in result.output
    kb = KnowledgeBase.from_disk(tmp_path / "kb")
    assert kb.meta["drugs_left_out_without_id"] == 1 and not kb.exact("quuxol")
    assert kb.ids_of("D008687") == ["D008687", "DB00331"]
    (tmp_path / "bad.pkl.bz2").write_bytes(b"not a pickle")
    result = run_script("build_kb", tmp_path / "kb2", *common, "--drugs", tmp_path / "bad.pkl.bz2")
    assert result.returncode == 1 and "bad.pkl.bz2: not a bz2 pickle" in result.output
    assert "Traceback" not in result.output
