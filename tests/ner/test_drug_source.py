"""The drug-named-entity-recognition dictionary as a vocabulary: safe loading, MeSH IDs kept only for the drug itself."""
import bz2
import collections
import os
import pickle

import pytest

from medner.ner.vocab.sources import VocabularyFormatError, load_drug_dictionary, read_drug_dictionary

# The library's layout (2.0.9): variant -> canonical names, canonical -> record. Metformin's
# library MeSH ID is its class (D007004 "Hypoglycemic Agents"); naloxone's names the drug.
DRUGS = {
    "drug_variant_to_canonical": {
        "metformin": ["metformin"], "glucophage": ["metformin"], "metformin hydrochloride": ["metformin"],
        "naloxone": ["naloxone"], "narcan": ["naloxone"],
        "zorbitol": ["zorbitol"],
    },
    "drug_canonical_to_data": {
        "metformin": {"name": "Metformin", "mesh_id": "D007004", "drugbank_id": "DB00331"},
        "naloxone": {"name": "Naloxone", "mesh_id": "D009270", "drugbank_id": "DB01183", "synonyms": ["naloxona"]},
        "zorbitol": {"name": "Zorbitol", "mesh_id": "D007004"},
    },
}
MESH_NAMES = {"D007004": "Hypoglycemic Agents", "D008687": "Metformin", "D009270": "Naloxone"}


def write_pickle(path, data):
    with bz2.open(path, "wb") as file_:
        pickle.dump(data, file_)
    return path


@pytest.fixture
def drug_file(tmp_path):
    return write_pickle(tmp_path / "drug_ner_dictionary.pkl.bz2", DRUGS)


def test_class_mesh_id_is_kept_out_and_the_drug_descriptor_is_found_by_name(drug_file):
    concepts = {c.names[0]: c for c in read_drug_dictionary(drug_file, MESH_NAMES)}
    # metformin: the library's D007004 is the class; the descriptor named "Metformin" is taken instead
    assert concepts["Metformin"].ids == ["D008687", "DB00331"]
    assert {"glucophage", "metformin hydrochloride"} <= set(concepts["Metformin"].names)
    # naloxone: the library's MeSH ID names the drug itself, so it stays
    assert concepts["Naloxone"].ids == ["D009270", "DB01183"]
    assert "naloxona" in concepts["Naloxone"].names
    # a drug with only a class MeSH ID and no DrugBank ID keeps neither a wrong ID nor is dropped
    assert concepts["Zorbitol"].ids == ["DRUG:zorbitol"]
    assert all(c.extends_known and c.type == "CHEMICAL" for c in concepts.values())


def test_without_mesh_names_the_library_ids_are_taken_as_given(drug_file):
    concepts = {c.names[0]: c for c in read_drug_dictionary(drug_file)}
    assert concepts["Metformin"].ids == ["D007004", "DB00331"]


def test_pickle_with_an_object_is_refused_in_one_line_naming_the_file(tmp_path):
    path = write_pickle(tmp_path / "evil.pkl.bz2", {"drug_variant_to_canonical": collections.OrderedDict(),
                                                    "drug_canonical_to_data": {}})
    with pytest.raises(VocabularyFormatError) as err:
        load_drug_dictionary(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "collections.OrderedDict" in message and "\n" not in message


def test_code_running_pickle_never_runs(tmp_path):
    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    path = write_pickle(tmp_path / "code.pkl.bz2", {"drug_variant_to_canonical": RunsCode(), "drug_canonical_to_data": {}})
    with pytest.raises(VocabularyFormatError, match=r"code\.pkl\.bz2: drug dictionary holds a \w+\.system object"):
        load_drug_dictionary(path)
    assert not (tmp_path / "ran").exists()


def test_missing_key_wrong_shape_and_not_a_pickle_are_named(tmp_path):
    path = write_pickle(tmp_path / "partial.pkl.bz2", {"drug_variant_to_canonical": {}})
    with pytest.raises(VocabularyFormatError, match=r"partial\.pkl\.bz2: drug dictionary lacks \['drug_canonical_to_data'\]"):
        load_drug_dictionary(path)
    path = write_pickle(tmp_path / "list.pkl.bz2", {"drug_variant_to_canonical": [], "drug_canonical_to_data": {}})
    with pytest.raises(VocabularyFormatError, match=r"list\.pkl\.bz2: .*drug_variant_to_canonical is a list"):
        load_drug_dictionary(path)
    path = write_pickle(tmp_path / "str.pkl.bz2", {"drug_variant_to_canonical": {"x": "x"}, "drug_canonical_to_data": {}})
    with pytest.raises(VocabularyFormatError, match=r"str\.pkl\.bz2: variant 'x' maps to 'x'"):
        list(read_drug_dictionary(path))
    (tmp_path / "plain.txt").write_text("not bz2", encoding="utf8")
    with pytest.raises(VocabularyFormatError, match=r"plain\.txt: not a bz2 pickle"):
        load_drug_dictionary(tmp_path / "plain.txt")
