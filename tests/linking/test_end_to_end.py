"""End-to-end concept F1 on a shipped-style pipeline (its own linker replaced by one over the given KB), and
scripts/configure_pipeline.py, which saves such a pipeline with other linker settings."""
import json
import subprocess
import sys
import pytest
import spacy
from spacy.tokens import DocBin

from medner.linking.component import add_linker
from medner.linking.experiments import LinkingEvaluationError, end_to_end_report
from medner.linking.kb import KnowledgeBase

TEXT = "Warfarin caused bleeding. Naloxone was given."


def _kb(names):
    return KnowledgeBase.build([], [(name, label, kb_id) for name, label, kb_id in names])


@pytest.fixture()
def shipped(tmp_path):
    """A rule-based 'NER' with a linker (threshold 0.5, a KB that knows only warfarin) and a component after it."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "CHEMICAL", "pattern": "Warfarin"}, {"label": "CHEMICAL", "pattern": "Naloxone"},
                        {"label": "DISEASE", "pattern": "bleeding"}])
    add_linker(nlp, _kb([("warfarin", "CHEMICAL", "D014859")]), abbreviations=False, config={"threshold": 0.5})
    nlp.add_pipe("sentencizer")  # stands for the relations component a release puts after the linker
    nlp.to_disk(tmp_path / "pipeline")
    gold = nlp.make_doc(TEXT)
    gold.ents = [gold.char_span(0, 8, "CHEMICAL", kb_id="D014859"), gold.char_span(16, 24, "DISEASE", kb_id="D006470"),
                 gold.char_span(26, 34, "CHEMICAL", kb_id="D009270")]
    (tmp_path / "corpus" / "bc5cdr").mkdir(parents=True)
    DocBin(docs=[gold]).to_disk(tmp_path / "corpus" / "bc5cdr" / "dev.spacy")
    return tmp_path


def test_shipped_linker_is_replaced_with_its_settings_over_the_given_kb(shipped):
    kb = _kb([("warfarin", "CHEMICAL", "D014859"), ("naloxone", "CHEMICAL", "D009270"), ("bleeding", "DISEASE", "D006470")])
    report = end_to_end_report(shipped / "pipeline", kb, shipped / "kb", "bc5cdr", "dev", [0.8], corpus_dir=shipped / "corpus")
    assert report["replaced_components"] == ["medner_linker", "sentencizer"]
    assert report["linker_config"]["threshold"] == 0.5 and report["linker_config"]["abbreviations"] is False
    scores = report["runs"]["0.8"]["concept_f1"]
    # the given KB knows all three concepts: every (document, id) pair is found; the shipped KB knew only warfarin
    assert scores["bc5cdr_chemical"]["f"] == pytest.approx(100.0) and scores["bc5cdr_disease"]["f"] == pytest.approx(100.0)


def test_a_missing_pipeline_is_one_clear_error(tmp_path):
    with pytest.raises(LinkingEvaluationError, match="not a pipeline directory or an installed package"):
        end_to_end_report(tmp_path / "no_such_pipeline", _kb([]), tmp_path, "bc5cdr", "dev", [0.8], corpus_dir=tmp_path)


def test_a_drugbank_only_concept_is_nil_for_the_mesh_measure(shipped):
    # the KB knows naloxone only by its DrugBank ID: a false positive for the plain measure, NIL for MeSH
    kb = _kb([("warfarin", "CHEMICAL", "D014859"), ("naloxone", "CHEMICAL", "DB01183"), ("bleeding", "DISEASE", "D006470")])
    run = end_to_end_report(shipped / "pipeline", kb, shipped / "kb", "bc5cdr", "dev", [0.8], corpus_dir=shipped / "corpus")["runs"]["0.8"]
    plain, mesh = run["concept_f1"]["bc5cdr_chemical"], run["concept_f1_mesh"]["bc5cdr_chemical"]
    assert (plain["tp"], plain["fp"], plain["fn"]) == (1, 1, 1)
    assert (mesh["tp"], mesh["fp"], mesh["fn"]) == (1, 0, 1)


def test_best_thresholds_on_dev_and_a_per_label_run(shipped):
    kb = _kb([("warfarin", "CHEMICAL", "D014859"), ("naloxone", "CHEMICAL", "D009270"), ("bleeding", "DISEASE", "D006470")])
    report = end_to_end_report(shipped / "pipeline", kb, shipped / "kb", "bc5cdr", "dev", [0.0, 0.8], corpus_dir=shipped / "corpus",
                               label_thresholds={"CHEMICAL": 0.9})
    assert set(report["runs"]) == {"0.0", "0.8", "per_label"}
    assert report["runs"]["per_label"]["label_thresholds"] == {"CHEMICAL": 0.9}
    assert report["runs"]["0.8"]["label_thresholds"] == {}  # the sweep is not shadowed by a configured label threshold
    assert report["best_thresholds"] == {"CHEMICAL": 0.0, "DISEASE": 0.0}  # every value scores 100 here: the first wins


def test_configure_pipeline_saves_settings_the_packaged_config_does_not_list(shipped, tmp_path):
    # the saved pipeline's config has no fill_candidates line (as a 0.3.0 wheel's): the script still sets it
    config = (shipped / "pipeline" / "config.cfg").read_text()
    (shipped / "pipeline" / "config.cfg").write_text("\n".join(l for l in config.splitlines() if not l.startswith("fill_candidates")))
    out = tmp_path / "configured"
    run = lambda *args: subprocess.run([sys.executable, "scripts/configure_pipeline.py", str(shipped / "pipeline"), str(out), *args],  # noqa: E731
                                       capture_output=True, text=True)
    done = run("--components.medner_linker.fill_candidates", "true", "--components.medner_linker.label_thresholds", json.dumps({"CHEMICAL": 0.9}))
    assert done.returncode == 0, done.stderr
    linker = spacy.load(out).get_pipe("medner_linker")
    assert linker.cfg["fill_candidates"] is True and linker.cfg["label_thresholds"] == {"CHEMICAL": 0.9}
    assert linker.cfg["threshold"] == 0.5  # the rest of the saved settings kept
    bad = run("--components.medner_linker.n_candidates", "0")
    assert bad.returncode == 1 and "n_candidates must be at least 1, got 0" in " ".join(bad.stdout.split())
    assert "Traceback" not in bad.stderr
