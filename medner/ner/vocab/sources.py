"""Readers for the vocabularies the KB is built from (all offline files under assets/).

Each yields plain records; ``medner.linking.kb.base.KnowledgeBase.build`` decides how
they become concepts and names.
"""
import bz2
import builtins
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

PathLike = Union[str, Path]


class VocabularyFormatError(ValueError):
    """A vocabulary line that cannot be read; the message names the file and line."""


@dataclass
class VocabConcept:
    """One concept: its identifiers (first = primary), its names (first = preferred), its type."""

    ids: List[str]
    names: List[str]
    type: str
    # Names and ids of a concept whose id is known already join that concept (drug names
    # for a MeSH descriptor) instead of being skipped.
    extends_known: bool = False


def _lines(path: Path) -> Iterator[Tuple[int, str]]:
    """(line number, line without its end) for every non-blank line of a UTF-8 file."""
    with path.open(encoding="utf8") as file_:
        for line_no, raw in enumerate(file_, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                yield line_no, line


def medic_id(raw: str) -> str:
    """MEDIC writes OMIM numbers bare ("613097"); the corpora write "OMIM:613097"."""
    raw = raw.strip()
    if raw.startswith("MESH:"):
        raw = raw[5:]
    return f"OMIM:{raw}" if raw.isdigit() else raw


def read_medic(path: PathLike) -> Iterator[VocabConcept]:
    """CTD MEDIC in BioSyn's layout: ``IDS||NAME|SYNONYM|...`` (``IDS`` ``|``-joined)."""
    path = Path(path)
    for line_no, line in _lines(path):
        ids_part, sep, names_part = line.partition("||")
        ids = [medic_id(i) for i in ids_part.split("|") if i.strip()]
        ids.sort(key=lambda i: i.startswith("OMIM:"))  # MeSH id primary, as the corpora use it
        names = [n.strip() for n in names_part.split("|") if n.strip()]
        if not sep or not ids or not names:
            raise VocabularyFormatError(f"{path}:{line_no}: expected 'IDS||NAME|SYNONYM...', got {line[:80]!r}")
        yield VocabConcept(ids=ids, names=names, type="DISEASE")


def read_mesh_descriptors(path: PathLike, type_: str = "CHEMICAL") -> Iterator[VocabConcept]:
    """``D-ID<TAB>preferred name``, one descriptor a line."""
    path = Path(path)
    for line_no, line in _lines(path):
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise VocabularyFormatError(f"{path}:{line_no}: expected 'ID<TAB>NAME', got {line[:80]!r}")
        yield VocabConcept(ids=[fields[0].strip()], names=[fields[1].strip()], type=type_)


def read_training_mentions(dataset: str, asset_dir: PathLike, splits: Tuple[str, ...] = ("train",)) -> Iterator[Tuple[str, str, str]]:
    """(mention text, schema label, gold ID) for every mention of ``splits`` that has one ID.

    Composite mentions (``|``-joined IDs) are skipped: their text names
    several concepts. Combination IDs (``D009794+D007592``) are kept whole.
    """
    from medner.corpus.datasets import DATASETS

    spec = DATASETS[dataset]
    for split in splits:
        for doc in spec.read_split(Path(asset_dir), split):
            for span in doc.spans:
                label = spec.label_map(span.label)
                if not span.kb_id or "|" in span.kb_id or label is None:
                    continue
                yield doc.text[span.start:span.end], label, span.kb_id


# drug-named-entity-recognition's dictionary is a pickle: read it with an unpickler that
# builds only plain containers and scalars, so a tampered file cannot run code.
_SAFE_PICKLE_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool"}


class _UnsafePickleError(pickle.UnpicklingError):
    """The pickle asks for an object other than plain containers and scalars."""


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == "builtins" and name in _SAFE_PICKLE_BUILTINS:
            return getattr(builtins, name)
        raise _UnsafePickleError(f"holds a {module}.{name} object; only plain data (dicts, lists, strings, numbers) is read")


def load_drug_dictionary(path: PathLike) -> dict:
    """The raw dictionary of drug-named-entity-recognition (``drug_ner_dictionary.pkl.bz2``):
    ``drug_variant_to_canonical`` (variant -> canonical names) and ``drug_canonical_to_data``.

    Every failure is one ``VocabularyFormatError`` line that names ``path``."""
    path = Path(path)
    try:
        with bz2.open(path, "rb") as file_:
            data = _PlainUnpickler(file_).load()
    except _UnsafePickleError as err:
        raise VocabularyFormatError(f"{path}: drug dictionary {err}") from None
    except (OSError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise VocabularyFormatError(f"{path}: not a bz2 pickle of drug-named-entity-recognition: {err}") from None
    missing = {"drug_variant_to_canonical", "drug_canonical_to_data"} - set(data if isinstance(data, dict) else ())
    if missing:
        raise VocabularyFormatError(f"{path}: drug dictionary lacks {sorted(missing)}")
    for key in ("drug_variant_to_canonical", "drug_canonical_to_data"):
        if not isinstance(data[key], dict):
            raise VocabularyFormatError(f"{path}: drug dictionary's {key} is a {type(data[key]).__name__}, expected a dict")
    return data


def read_drug_dictionary(path: PathLike, mesh_names: Optional[Dict[str, str]] = None,
                         concept_type: str = "CHEMICAL") -> Iterator[VocabConcept]:
    """One concept per canonical drug: its name variants (canonical first) and its identifiers.

    ``ids`` are the DrugBank ID (``DB00331``) and the MeSH ID; the library's MeSH ID is
    often the drug's class (metformin -> D007004 "Hypoglycemic Agents"), so with
    ``mesh_names`` (MeSH ID -> preferred name) a MeSH ID is kept only where the
    descriptor names the drug itself (its name or a variant), and a descriptor whose
    name is one of the drug's names is taken where the library gives none or a class.
    A drug with neither ID gets ``DRUG:<canonical name>``.
    """
    data = load_drug_dictionary(path)
    mesh_by_name = {name.lower(): mesh for mesh, name in (mesh_names or {}).items()}
    variants: Dict[str, List[str]] = {}
    for variant, canonicals in data["drug_variant_to_canonical"].items():
        if isinstance(canonicals, str) or not isinstance(canonicals, (list, tuple, set)):
            raise VocabularyFormatError(f"{path}: variant {variant!r} maps to {canonicals!r}, expected a list of drug names")
        for canonical in canonicals:
            variants.setdefault(canonical, []).append(variant)
    for canonical, record in data["drug_canonical_to_data"].items():
        if not isinstance(record, dict):
            raise VocabularyFormatError(f"{path}: drug {canonical!r} has a {type(record).__name__} record, expected a dict")
        names = [record.get("name") or canonical] + [v for v in variants.get(canonical, []) if v != canonical]
        names += [s for s in record.get("synonyms", []) if isinstance(s, str)]
        # A few variants hold tabs or line breaks: one space, as text has them.
        names = [" ".join(name.split()) for name in names if name.strip()]
        lowered = {n.lower() for n in names} | {canonical.lower()}
        ids = []
        mesh_id = record.get("mesh_id")
        if mesh_id and (mesh_names is None or mesh_names.get(mesh_id, "").lower() in lowered):
            ids.append(mesh_id)
        else:
            named = next((mesh_by_name[n.lower()] for n in names if n.lower() in mesh_by_name), None)
            if named:
                ids.append(named)
        if record.get("drugbank_id"):
            ids.append(record["drugbank_id"])
        yield VocabConcept(ids=ids or [f"DRUG:{canonical}"], names=list(dict.fromkeys(names)), type=concept_type,
                           extends_known=True)
