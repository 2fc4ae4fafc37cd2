"""`--model` resolution: shipped short names, installed packages, directories, one-line errors."""
import pytest
from typer.testing import CliRunner

from medner.annotate import pipelines
from medner.cli import app
from medner.annotate.pipelines import DEFAULT_PIPELINE, SHIPPED, PipelineNotFound, resolve
from ruler import ruler_nlp

runner = CliRunner()


@pytest.fixture
def nothing_installed(monkeypatch):
    monkeypatch.setattr(pipelines, "is_installed", lambda name: False)
    monkeypatch.setattr(pipelines, "installed_pipelines", lambda: ["en_core_web_sm"])


def test_short_name_resolves_to_its_installed_package(monkeypatch):
    monkeypatch.setattr(pipelines, "is_installed", lambda name: name == SHIPPED["bc5cdr"].package)
    assert resolve("bc5cdr") == "en_medner_bc5cdr_cnn_fast"


def test_no_name_means_the_default(monkeypatch):
    monkeypatch.setattr(pipelines, "is_installed", lambda name: True)
    assert resolve(None) == resolve("") == SHIPPED[DEFAULT_PIPELINE].package


def test_shipped_but_not_installed_says_how_to_install(nothing_installed):
    with pytest.raises(PipelineNotFound, match=r"en_medner_ncbi_disease_cnn_fast, which is not installed: pip install --no-index --find-links releases/"):
        resolve("ncbi")


def test_unknown_name_lists_shipped_and_installed(nothing_installed):
    with pytest.raises(PipelineNotFound) as error:
        resolve("en_medner_nonexistent")
    message = str(error.value)
    assert "\n" not in message
    assert "'en_medner_nonexistent'" in message and "clinical, bc5cdr, ncbi" in message and "en_core_web_sm" in message


def test_directory_without_config_is_refused(tmp_path):
    with pytest.raises(PipelineNotFound, match="is not a spaCy pipeline directory"):
        resolve(tmp_path)


def test_directory_resolves_to_absolute_path(tmp_path, monkeypatch):
    ruler_nlp({"Chemical": ["aspirin"]}).to_disk(tmp_path / "p")
    monkeypatch.chdir(tmp_path)
    assert resolve("p") == str((tmp_path / "p").resolve())


def test_cli_unknown_model_is_one_line_without_traceback(tmp_path, nothing_installed):
    (tmp_path / "a.txt").write_text("aspirin", encoding="utf-8")
    result = runner.invoke(app, ["annotate", str(tmp_path / "a.txt"), str(tmp_path / "out.jsonl"), "--model", "nope", "--no-progress"])
    assert result.exit_code == 1
    assert "No pipeline 'nope'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.errors.jsonl").exists()


def test_cli_print_shows_entities(tmp_path):
    ruler_nlp({"Chemical": ["aspirin"]}).to_disk(tmp_path / "p")
    (tmp_path / "a.txt").write_text("Take aspirin daily.", encoding="utf-8")
    result = runner.invoke(app, ["annotate", str(tmp_path / "a.txt"), str(tmp_path / "out.jsonl"), "-m", str(tmp_path / "p"), "--print", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "a.txt: 1 entities" in result.output
    assert "aspirin" in result.output and "Chemical" in result.output


def test_output_labels_follow_stash_and_merge():
    """The clinical pipeline's labels: MACCROBAT's, plus BC5CDR's CHEMICAL renamed, not BC5CDR's DISEASE."""
    from medner.release.packaging import output_labels

    nlp = ruler_nlp({"MEDICATION": ["aspirin"], "SIGN_SYMPTOM": ["fever"]})
    nlp.add_pipe("medner_stash_entities", name="stash_a", config={"spans_key": "a"})
    second = nlp.add_pipe("entity_ruler", name="ruler_b")
    second.add_patterns([{"label": "CHEMICAL", "pattern": "warfarin"}, {"label": "DISEASE", "pattern": "stroke"}])
    nlp.add_pipe("medner_stash_entities", name="stash_b",
                 config={"spans_key": "b", "labels": ["CHEMICAL"], "label_map": {"CHEMICAL": "MEDICATION_X"}})
    assert output_labels(nlp) == []  # everything stashed, nothing merged back yet
    nlp.add_pipe("medner_merge_entities", config={"sources": ["a", "b"]})
    assert output_labels(nlp) == ["MEDICATION", "MEDICATION_X", "SIGN_SYMPTOM"]


def test_pipeline_wheels_require_the_extra_their_components_need():
    """A CNN pipeline needs plain medner; one with a transformer component needs medner[transformers]."""
    from medner.release.packaging import medner_requirement

    nlp = ruler_nlp({"Chemical": ["aspirin"]})
    assert medner_requirement(nlp, "0.2.0") == "medner>=0.2.0,<0.3.0"
    nlp.add_pipe("hf_token_classifier")
    assert medner_requirement(nlp, "0.2.0") == "medner[transformers]>=0.2.0,<0.3.0"
