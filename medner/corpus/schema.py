"""The clinical schema: the entity types a clinician reads a note for, and how each corpus maps onto it.

MACCROBAT2020 annotates 41 fine types of case-report language; most of them
(``Detailed_description``, ``Coreference``, ``Nonbiological_location``, ...) are
not what a user of clinical NER asks for, and they cost the model capacity and
produce odd labels on ordinary words. The clinical pipelines learn these
labels (docs/clinical.md has the table and the dev scores):

===============  ===================================  =========================
label            what                                  MACCROBAT type
===============  ===================================  =========================
MEDICATION       drugs, brand or generic, vaccines     Medication
DISEASE          diagnoses, disorders                  Disease_disorder
SIGN_SYMPTOM     symptoms and findings                 Sign_symptom
TREATMENT        therapeutic procedures                Therapeutic_procedure
TEST             diagnostic procedures, lab tests      Diagnostic_procedure
LAB_VALUE        a test's value or result              Lab_value
ANATOMY          body structures                       Biological_structure
DOSAGE           dose of a drug                        Dosage
FREQUENCY        how often                             Frequency
ROUTE            how given (PO, IV)                    Administration
DURATION         how long                              Duration
===============  ===================================  =========================

PHEE (adverse-drug-event arguments) gives MEDICATION (``Drug``), DOSAGE, ROUTE,
FREQUENCY (``Freq``) and DURATION; its other arguments (the adverse effect, the
treated disorder, the whole treatment phrase, the subject) hold diseases,
symptoms and drugs that it does not label as such: those tokens are *missing*
values (spaCy ``Doc.set_ents(missing=...)``), not "outside", so PHEE teaches
only what it annotates.
"""
from typing import Dict, Optional, Tuple

CLINICAL_LABELS: Tuple[str, ...] = (
    "MEDICATION", "DISEASE", "SIGN_SYMPTOM", "TREATMENT", "TEST", "LAB_VALUE",
    "ANATOMY", "DOSAGE", "FREQUENCY", "ROUTE", "DURATION",
)
# The types a clinician's first look is for: the page and the docs lead with these.
MAIN_CLINICAL_LABELS: Tuple[str, ...] = ("MEDICATION", "DISEASE", "SIGN_SYMPTOM", "TREATMENT", "TEST")

MACCROBAT_TO_CLINICAL: Dict[str, str] = {
    "Medication": "MEDICATION",
    "Disease_disorder": "DISEASE",
    "Sign_symptom": "SIGN_SYMPTOM",
    "Therapeutic_procedure": "TREATMENT",
    "Diagnostic_procedure": "TEST",
    "Lab_value": "LAB_VALUE",
    "Biological_structure": "ANATOMY",
    "Dosage": "DOSAGE",
    "Frequency": "FREQUENCY",
    "Administration": "ROUTE",
    "Duration": "DURATION",
}

PHEE_TO_CLINICAL: Dict[str, str] = {
    "Drug": "MEDICATION",
    "Dosage": "DOSAGE",
    "Route": "ROUTE",
    "Freq": "FREQUENCY",
    "Duration": "DURATION",
}
# PHEE arguments whose tokens may hold entities of the schema that PHEE does not label.
PHEE_MISSING: Tuple[str, ...] = (
    "Effect", "Treat-Disorder", "Sub-Disorder", "Treatment", "Subject", "Population", "Combination",
    "Age", "Gender", "Race", "Time_elapsed",
)
# PHEE labels no clinical type stands for: event triggers and cues (outside, as spaCy reads them).
PHEE_OUTSIDE: Tuple[str, ...] = (
    "Adverse_event", "Potential_therapeutic_event", "Speculation_cue", "Negation_cue", "Severity_cue",
)


def maccrobat_clinical_label(label: str) -> Optional[str]:
    """A MACCROBAT type in the clinical schema; None for the types the schema leaves out."""
    return MACCROBAT_TO_CLINICAL.get(label)


def phee_label(label: str) -> Optional[str]:
    """A PHEE argument in the clinical schema (None: not an entity of the schema)."""
    return PHEE_TO_CLINICAL.get(label)


# A pipeline trained on MACCROBAT's 41 types (0.2.0) names them upper-cased; the clinical
# names map to themselves.
_UPPER_TO_CLINICAL: Dict[str, str] = {k.upper(): v for k, v in MACCROBAT_TO_CLINICAL.items()}


def to_clinical_label(label: str) -> Optional[str]:
    """Any medner clinical label, old (``DIAGNOSTIC_PROCEDURE``) or new (``TEST``), in the clinical schema."""
    return label if label in CLINICAL_LABELS else _UPPER_TO_CLINICAL.get(label)
