"""The corpora medner ships: where their files are, their label schemas, their splits.

Label schema (documented in the README):

* BC5CDR: Chemical -> CHEMICAL, Disease -> DISEASE
* NCBI-disease: SpecificDisease, DiseaseClass, Modifier, CompositeMention -> DISEASE
* Corona2 (Kaggle Medical NER): Medicine -> MEDICATION, MedicalCondition -> DISEASE,
  Pathogen -> PATHOGEN
* MACCROBAT2020: Medication -> MEDICATION, Disease_disorder -> DISEASE,
  Therapeutic_procedure -> TREATMENT; its other 38 types are kept, upper-cased
  (Sign_symptom -> SIGN_SYMPTOM, Diagnostic_procedure -> DIAGNOSTIC_PROCEDURE, ...);
  its POLARITY attributes and History / Family_history spans become gold
  assertions (``medner.corpus.assertions``, docs/assertion.md)

Corona2 and MACCROBAT have no official split: documents are shuffled with a
fixed seed (``SPLIT_SEED``) after sorting by id and cut 80/10/10.
"""
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from spacy.language import Language

from .align import convert_documents
from .assertions import MACCROBAT_ASSERTIONS, AssertionSchema
from .readers import read_brat, read_dataturks_json, read_pubtator
from .records import SourceDoc
from .schema import CLINICAL_LABELS, PHEE_MISSING, maccrobat_clinical_label, phee_label

SPLITS = ("train", "dev", "test")
SPLIT_SEED = 20201
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def fixed_map(mapping: Dict[str, str]) -> Callable[[str], Optional[str]]:
    return mapping.get


def maccrobat_label(label: str) -> Optional[str]:
    return MACCROBAT_RENAMES.get(label, label.upper())


MACCROBAT_RENAMES = {
    "Medication": "MEDICATION",
    "Disease_disorder": "DISEASE",
    "Therapeutic_procedure": "TREATMENT",
}


@dataclass
class Dataset:
    """How to read one corpus from ``assets/<name>/`` into train/dev/test."""

    name: str
    description: str
    label_map: Callable[[str], Optional[str]]
    read_split: Callable[[Path, str], List[SourceDoc]]
    labels: Sequence[str] = field(default_factory=list)
    source: Dict[str, str] = field(default_factory=dict)  # name, url, license: goes into package meta
    assertion_schema: Optional[AssertionSchema] = None  # gold assertions -> doc.spans["assertion"]
    # A partial corpus: spans of these source labels make their tokens missing NER values.
    missing_labels: Sequence[str] = ()
    # Labels the schema leaves out on purpose are "outside" (counted), not unknown.
    outside_unmapped: bool = False
    # Its folder under assets/ when another dataset's files are read in another schema.
    asset_name: Optional[str] = None

    @property
    def asset_dir(self) -> str:
        return self.asset_name or self.name

    def convert(self, nlp: Language, sources: List[SourceDoc], strict: bool = False):
        """``(docs, file reports)`` of ``sources`` with this dataset's label map, assertions and missing labels."""
        return convert_documents(nlp, sources, label_map=self.label_map, strict=strict,
                                 assertion_schema=self.assertion_schema, missing_labels=self.missing_labels,
                                 outside_unmapped=self.outside_unmapped)

    def convert_split(self, nlp: Language, assets_root: Path, split: str):
        """``(docs, file reports)`` of one split, read from ``assets_root / asset_dir`` as convert does."""
        return self.convert(nlp, self.read_split(Path(assets_root) / self.asset_dir, split))


def seeded_split(docs: List[SourceDoc], split: str, seed: int = SPLIT_SEED) -> List[SourceDoc]:
    """Deterministic 80/10/10 split by document id (independent of file order)."""
    ordered = sorted(docs, key=lambda d: d.id)
    random.Random(seed).shuffle(ordered)
    n_train = round(len(ordered) * SPLIT_FRACTIONS[0])
    n_dev = round(len(ordered) * SPLIT_FRACTIONS[1])
    bounds = {"train": (0, n_train), "dev": (n_train, n_train + n_dev), "test": (n_train + n_dev, len(ordered))}
    lo, hi = bounds[split]
    return ordered[lo:hi]


def _pubtator_files(files: Dict[str, str]) -> Callable[[Path, str], List[SourceDoc]]:
    def read(asset_dir: Path, split: str) -> List[SourceDoc]:
        return list(read_pubtator(asset_dir / files[split]))
    return read


def _read_maccrobat(asset_dir: Path, split: str) -> List[SourceDoc]:
    return seeded_split(list(read_brat(asset_dir)), split)


def _read_phee(asset_dir: Path, split: str) -> List[SourceDoc]:
    return list(read_brat(asset_dir / split))


def _read_corona(asset_dir: Path, split: str) -> List[SourceDoc]:
    return seeded_split(list(read_dataturks_json(asset_dir / "Corona2.json")), split)


BC5CDR_FILES = {"train": "CDR_TrainingSet.PubTator.txt", "dev": "CDR_DevelopmentSet.PubTator.txt",
                "test": "CDR_TestSet.PubTator.txt"}
BC5CDR_SOURCE = {"name": "BioCreative V CDR (BC5CDR)", "url": "https://biocreative.bioinformatics.udel.edu/tasks/biocreative-v/track-3-cdr/",
                 "license": "public domain (NLM); cite Li et al. 2016 and Wei et al. 2015"}
MACCROBAT_SOURCE = {"name": "MACCROBAT2020", "url": "https://github.com/Saieiei/NLP/tree/main/MACCROBAT2020 (mirror of the figshare collection)",
                    "license": "CC BY 4.0; cite Caufield et al. 2019"}
PHEE_SOURCE = {"name": "PHEE", "url": "https://github.com/ZhaoyueSun/PHEE (data/clean @ 41489b0)",
               "license": "MIT; cite Sun et al. 2022 (EMNLP Findings)"}

DATASETS: Dict[str, Dataset] = {
    "bc5cdr": Dataset(
        name="bc5cdr",
        description="BioCreative V CDR: chemicals and diseases in 1,500 PubMed abstracts",
        label_map=fixed_map({"Chemical": "CHEMICAL", "Disease": "DISEASE"}),
        read_split=_pubtator_files(BC5CDR_FILES),
        labels=["CHEMICAL", "DISEASE"],
        source=BC5CDR_SOURCE,
    ),
    "ncbi_disease": Dataset(
        name="ncbi_disease",
        description="NCBI Disease corpus: disease mentions in 793 PubMed abstracts",
        label_map=fixed_map({t: "DISEASE" for t in ("SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention")}),
        read_split=_pubtator_files({
            "train": "NCBItrainset_corpus.txt",
            "dev": "NCBIdevelopset_corpus.txt",
            "test": "NCBItestset_corpus.txt",
        }),
        labels=["DISEASE"],
        source={"name": "NCBI Disease corpus", "url": "https://github.com/spyysalo/ncbi-disease/tree/master/original-data",
                "license": "public domain (NLM); cite Dogan et al. 2014"},
    ),
    "maccrobat": Dataset(
        name="maccrobat",
        description="MACCROBAT2020: 200 clinical case reports, 41 entity types",
        label_map=maccrobat_label,
        read_split=_read_maccrobat,
        assertion_schema=MACCROBAT_ASSERTIONS,
        source=MACCROBAT_SOURCE,
    ),
    "maccrobat_clinical": Dataset(
        name="maccrobat_clinical",
        description="MACCROBAT2020 in the clinical schema (11 types: medications, diseases, symptoms, "
                    "treatments, tests, lab values, anatomy, dosage, frequency, route, duration)",
        label_map=maccrobat_clinical_label,
        read_split=_read_maccrobat,
        labels=list(CLINICAL_LABELS),
        assertion_schema=MACCROBAT_ASSERTIONS,
        outside_unmapped=True,
        asset_name="maccrobat",
        source=MACCROBAT_SOURCE,
    ),
    "phee": Dataset(
        name="phee",
        description="PHEE: adverse-drug-event arguments in 4,827 case-report sentences (drugs, dosage, route, "
                    "frequency, duration; partial: other argument tokens are missing values)",
        label_map=phee_label,
        read_split=_read_phee,
        labels=["MEDICATION", "DOSAGE", "ROUTE", "FREQUENCY", "DURATION"],
        missing_labels=PHEE_MISSING,
        outside_unmapped=True,
        source=PHEE_SOURCE,
    ),
    "phee_chemical": Dataset(
        name="phee_chemical",
        description="PHEE's drugs as extra CHEMICAL examples for the BC5CDR schema (partial: its other "
                    "arguments, which hold diseases and chemicals it does not label, are missing values)",
        label_map=fixed_map({"Drug": "CHEMICAL"}),
        read_split=_read_phee,
        labels=["CHEMICAL"],
        missing_labels=PHEE_MISSING,
        outside_unmapped=True,
        asset_name="phee",
        source=PHEE_SOURCE,
    ),
    "bc5cdr_clinical": Dataset(
        name="bc5cdr_clinical",
        description="BC5CDR's chemicals as extra MEDICATION examples for the clinical schema (partial: its diseases, "
                    "which include symptoms, are missing values)",
        label_map=fixed_map({"Chemical": "MEDICATION"}),
        read_split=_pubtator_files(BC5CDR_FILES),
        labels=["MEDICATION"],
        missing_labels=("Disease",),
        asset_name="bc5cdr",
        source=BC5CDR_SOURCE,
    ),
    "corona2": Dataset(
        name="corona2",
        description="Kaggle Medical NER (Corona2.json): 31 passages, medicines, conditions, pathogens",
        label_map=fixed_map({"Medicine": "MEDICATION", "MedicalCondition": "DISEASE", "Pathogen": "PATHOGEN"}),
        read_split=_read_corona,
        labels=["MEDICATION", "DISEASE", "PATHOGEN"],
        source={"name": "Kaggle Medical NER (Corona2.json)", "url": "https://github.com/ShaikhMuhammad891/NLP-7 (mirror of the Kaggle dataset)",
                "license": "published without an explicit licence"},
    ),
}
