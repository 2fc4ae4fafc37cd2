"""``medner.evaluation.ablation`` (scripts/ablate.py): systems scored alone and merged, on rule-based pipelines with known outputs."""
import json

import pytest
from ruler import ruler_nlp
from spacy.tokens import DocBin

from medner.evaluation.ablation import ablate, check_groups
from medner.evaluation.selection import pick_best_on_dev
from medner.tokenizer import blank_biomedical

TEXT = "Aspirin caused fever and renal failure."
GOLD = [("Aspirin", "CHEMICAL"), ("fever", "DISEASE"), ("renal failure", "DISEASE")]
SYSTEMS = {
    "a": {"CHEMICAL": ["aspirin"], "DISEASE": ["fever"]},
    "b": {"CHEMICAL": ["aspirin", "caused"], "DISEASE": ["renal failure"]},
    "c": {"CHEMICAL": ["aspirin"], "DISEASE": ["fever", "failure"]},
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablate")
    nlp = blank_biomedical()
    doc = nlp.make_doc(TEXT)
    doc.ents = [doc.char_span(TEXT.index(t), TEXT.index(t) + len(t), label=label) for t, label in GOLD]
    DocBin(docs=[doc]).to_disk(root / "gold.spacy")
    for name, terms in SYSTEMS.items():
        (root / name).mkdir()
        ruler_nlp(terms).to_disk(root / name / "model-best")
    (root / "a" / "train_time.json").write_text(json.dumps({"seconds": 10.0}))
    (root / "b" / "train_time.json").write_text(json.dumps({"seconds": 5.5}))
    return root


def test_ablate_scores_systems_and_merges(setup):
    systems = {name: setup / name / "model-best" for name in SYSTEMS}
    record = ablate(systems, [["a", "b"], ["a", "b", "c"]], setup / "gold.spacy", setup / "gold.spacy")
    rows = record["rows"]
    assert record["selected_on_dev"] == pick_best_on_dev(rows)
    # a: 2 of 2 right, 2 of 3 found
    assert rows["a"]["test"]["f1"] == pytest.approx(80.0)
    # b: aspirin and renal failure right, "caused" wrong
    assert rows["b"]["test"]["precision"] == pytest.approx(66.67)
    # a first, b fills the gaps: aspirin, fever, renal failure, caused
    assert rows["prefer_first(a>b)"]["test"]["recall"] == 100.0
    assert rows["prefer_first(a>b)"]["test"]["precision"] == 75.0
    # two of three agree only on aspirin and fever
    assert rows["vote>=2(a+b+c)"]["test"]["precision"] == 100.0
    assert rows["vote>=2(a+b+c)"]["test"]["f1"] == pytest.approx(80.0)
    # training time: a sum over members when all are known, else unknown
    assert rows["a"]["train_seconds"] == 10.0
    assert rows["prefer_first(a>b)"]["train_seconds"] == 15.5
    assert rows["vote>=2(a+b+c)"]["train_seconds"] is None
    assert set(rows) >= {"longest(a+b)", "vote>=2(a+b)", "vote>=1(a+b+c)"}


def test_ablate_rejects_unknown_merge_member(setup):
    with pytest.raises(ValueError, match="unknown \\['zzz'\\]"):
        check_groups({"a": setup / "a" / "model-best"}, [["a", "zzz"]])
    with pytest.raises(ValueError, match="needs 2\\+"):
        check_groups({"a": setup / "a" / "model-best"}, [["a"]])


def test_pick_best_on_dev_ignores_test():
    rows = {"x": {"dev": {"f1": 70.0}, "test": {"f1": 90.0}}, "y": {"dev": {"f1": 80.0}, "test": {"f1": 10.0}},
            "z": {"dev": {"f1": 80.0}, "test": {"f1": 99.0}}}
    assert pick_best_on_dev(rows) == "y"  # highest dev F1, first on ties; test never decides
    with pytest.raises(ValueError):
        pick_best_on_dev({})
