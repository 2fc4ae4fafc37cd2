"""``KnowledgeBase``: concepts, their names, exact lookup and char n-gram TF-IDF nearest neighbours.

Small by design (a few MB on disk, seconds to load, no download): names and
ids are gzip-compressed text, the TF-IDF model is its n-gram list and float32
IDF weights, and the sparse name matrix is stored float16 with int32 indices. Search needs
numpy only (``medner.linking.kb.tfidf``), so pipelines with the linker install with
spaCy and nothing heavier.
Every search is label-aware when asked: each name carries the type of the
source that gave it (MEDIC -> DISEASE, MeSH descriptors outside MEDIC ->
CHEMICAL, a training mention -> its label).
"""
import gzip
import io
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import srsly

from medner.ner.vocab.sources import VocabConcept, read_drug_dictionary, read_medic, read_mesh_descriptors

from .names import key_of_normalised, lower, normalise, word_key
from .tfidf import CharTfidf, InvertedIndex, SparseRows

PathLike = Union[str, Path]
KB_FORMAT = "medner-kb/2"
FILES = ("meta.json", "concepts.tsv.gz", "names.tsv.gz", "tfidf.npz")


def load_vocabulary(medic: PathLike, mesh: PathLike, drugs: Optional[PathLike] = None) -> Tuple[List[VocabConcept], int, int]:
    """The KB's vocabulary: MEDIC + MeSH descriptors (+ the drug dictionary's drugs), with how many drugs were
    added and how many left out.

    A drug with neither a MeSH nor a DrugBank ID ("DRUG:name") is left out: as its own concept it
    took mentions from real MeSH concepts (BC5CDR dev chemical -0.3).
    """
    vocab = list(read_medic(medic)) + list(read_mesh_descriptors(mesh))
    if not drugs:
        return vocab, 0, 0
    drug_concepts = list(read_drug_dictionary(drugs, {c.ids[0]: c.names[0] for c in vocab if c.type == "CHEMICAL"}))
    identified = [c for c in drug_concepts if not c.ids[0].startswith("DRUG:")]
    return vocab + identified, len(identified), len(drug_concepts) - len(identified)


class KBFileError(ValueError):
    """A KB file that is missing or cannot be read; the message names the file."""


@dataclass(frozen=True)
class Candidate:
    """One ranked candidate: concept id (primary), its preferred name, a score in [0, 1]."""

    id: str
    name: str
    score: float

    def as_tuple(self) -> Tuple[str, str, float]:
        return (self.id, self.name, round(float(self.score), 4))


class KnowledgeBase:
    """Concepts (primary id, alternative ids, preferred name, type) and their names.

    ``name_concept[i]`` is the concept of name ``i``, ``name_type[i]`` the index
    into ``types`` of the source that gave it, ``name_prior[i]`` how often the
    training mentions used it for that concept (0 for vocabulary names), which
    orders concepts that share a name.
    """

    def __init__(
        self,
        concept_ids: List[List[str]],
        concept_names: List[str],
        concept_types: List[str],
        names: List[str],
        name_concept: Sequence[int],
        name_type: Sequence[int],
        name_prior: Sequence[int],
        types: List[str],
        ngram_range: Tuple[int, int] = (3, 3),
        meta: Optional[dict] = None,
        tfidf: Optional[Tuple[List[str], np.ndarray, SparseRows]] = None,
        normalised_names: Optional[List[str]] = None,
        idf_rows: Optional[Sequence[bool]] = None,
    ):
        self.concept_ids = concept_ids
        self.concept_names = concept_names
        self.concept_types = concept_types
        self.names = names
        self.name_concept = np.asarray(name_concept, dtype=np.int32)
        self.name_type = np.asarray(name_type, dtype=np.int8)
        self.name_prior = np.asarray(name_prior, dtype=np.int32)
        self.types = types
        self.ngram_range = tuple(ngram_range)
        self.meta = dict(meta or {})
        self.id_to_concept: Dict[str, int] = {}
        for i, ids in enumerate(concept_ids):
            for id_ in ids:
                self.id_to_concept.setdefault(id_, i)
        self._index_names(normalised_names)
        if tfidf is None:
            self._fit_tfidf(idf_rows)
        else:
            self._set_tfidf(*tfidf)

    # ------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        concepts: Iterable[VocabConcept],
        training_mentions: Iterable[Tuple[str, str, str]] = (),
        ngram_range: Tuple[int, int] = (3, 3),
        meta: Optional[dict] = None,
        extension_idf: bool = False,
    ) -> "KnowledgeBase":
        """Merge vocabularies (earlier wins for a shared id) and training mentions into one KB.

        A vocabulary concept whose ids are all known already is skipped (MeSH
        descriptors that MEDIC holds), unless it ``extends_known`` (a drug of the
        drug dictionary: its names and DrugBank ID join the MeSH concept); a training mention whose id is unknown
        creates a concept (supplementary ``C…`` chemicals, ``+`` combinations).
        Names that only an ``extends_known`` vocabulary gave do not count in the TF-IDF
        weights unless ``extension_idf``: 80k drug names would shift the IDF of every n-gram
        and with it the fuzzy ranking of disease names (BC5CDR dev disease -0.5 acc@1).
        """
        started = time.perf_counter()
        concept_ids: List[List[str]] = []
        concept_names: List[str] = []
        concept_types: List[str] = []
        id_to_concept: Dict[str, int] = {}
        rows: Dict[Tuple[str, int, str], List] = {}  # (normalised, concept, type) -> [name, prior, counts in IDF]
        types: List[str] = []

        def add_name(text: str, concept: int, type_: str, prior: int, idf: bool = True) -> None:
            text = _one_line(text)  # a tab or newline inside a name would break names.tsv.gz
            key = (normalise(text), concept, type_)
            if not key[0]:
                return
            if type_ not in types:
                types.append(type_)
            row = rows.setdefault(key, [text, 0, False])
            row[1] += prior
            row[2] = row[2] or idf or extension_idf

        def add_concept(ids: List[str], name: str, type_: str) -> int:
            concept_ids.append(list(ids))
            concept_names.append(_one_line(name))
            concept_types.append(type_)
            for id_ in ids:
                id_to_concept.setdefault(id_, len(concept_ids) - 1)
            return len(concept_ids) - 1

        n_vocab = 0
        for concept in concepts:
            known = [id_to_concept[i] for i in concept.ids if i in id_to_concept]
            if known and concept.extends_known:
                # A drug whose MeSH descriptor is in already: its names and DrugBank ID join that concept.
                index = known[0]
                for id_ in concept.ids:
                    if id_ not in id_to_concept:
                        concept_ids[index].append(id_)
                        id_to_concept[id_] = index
                for name in concept.names:
                    add_name(name, index, concept.type, 0, idf=False)
                continue
            if len(known) == len(concept.ids):
                continue
            index = add_concept(concept.ids, concept.names[0], concept.type)
            n_vocab += 1
            for name in concept.names:
                add_name(name, index, concept.type, 0, idf=not concept.extends_known)
        n_mentions = 0
        for text, label, id_ in training_mentions:
            n_mentions += 1
            index = id_to_concept.get(id_)
            if index is None:
                index = add_concept([id_], text, label)
            add_name(text, index, label, 1)
        ordered = sorted(rows.items(), key=lambda kv: (kv[0][1], -kv[1][1], kv[0][0]))
        info = dict(meta or {})
        info.update({"vocabulary_concepts": n_vocab, "training_mentions": n_mentions,
                     "idf_names": sum(row[2] for _, row in ordered)})
        kb = cls(
            concept_ids=concept_ids,
            concept_names=concept_names,
            concept_types=concept_types,
            names=[row[0] for _, row in ordered],
            name_concept=[key[1] for key, _ in ordered],
            name_type=[types.index(key[2]) for key, _ in ordered],
            name_prior=[row[1] for _, row in ordered],
            types=types,
            ngram_range=ngram_range,
            meta=info,
            idf_rows=[row[2] for _, row in ordered],
        )
        kb.meta["build_seconds"] = round(time.perf_counter() - started, 2)
        return kb

    def _index_names(self, normalised_names: Optional[List[str]] = None) -> None:
        # saved with the names: normalising 90k names is most of a cold load
        self.normalised_names = normalised_names or [normalise(n) for n in self.names]
        # how often training mentions named each concept: breaks ties between equal names
        self.concept_prior = np.bincount(self.name_concept, weights=self.name_prior,
                                         minlength=len(self.concept_ids)).astype(np.int32)
        self.exact_index: Dict[str, List[int]] = {}
        for i, key in enumerate(self.normalised_names):
            self.exact_index.setdefault(key, []).append(i)
        self._lower_index: Optional[Dict[str, List[int]]] = None
        self._word_index: Optional[Dict[str, List[int]]] = None
        self._concept_name_rows: Optional[Tuple[np.ndarray, np.ndarray]] = None

    @property
    def lower_index(self) -> Dict[str, List[int]]:
        """Case-folded name -> name rows, built on first use (only ``exact_mode="lower"`` needs it)."""
        if self._lower_index is None:
            self._lower_index = {}
            for i, name in enumerate(self.names):
                self._lower_index.setdefault(lower(name), []).append(i)
        return self._lower_index

    @property
    def word_index(self) -> Dict[str, List[int]]:
        """Word-order-free key (``names.word_key``) -> name rows, built on first use (``mode="words"``)."""
        if self._word_index is None:
            self._word_index = {}
            for i, key in enumerate(self.normalised_names):
                words = key_of_normalised(key)
                if words:
                    self._word_index.setdefault(words, []).append(i)
        return self._word_index

    def _fit_tfidf(self, idf_rows: Optional[Sequence[bool]] = None) -> None:
        self.tfidf, matrix = CharTfidf.fit(self.normalised_names, self.ngram_range, idf_rows)
        self._set_matrix(matrix)

    def query_vectors(self, texts: Sequence[str]) -> SparseRows:
        """L2-normalised TF-IDF rows whose norm includes n-grams no KB name has.

        Without that, "warfarin sodium" against a KB without "sodium" would
        score 1.0 with "warfarin": unknown n-grams get the highest IDF weight.
        """
        return self.tfidf.transform([normalise(t) for t in texts])

    def _set_tfidf(self, ngrams: List[str], idf: np.ndarray, matrix: SparseRows) -> None:
        self.tfidf = CharTfidf(ngrams, idf, self.ngram_range)
        self._set_matrix(matrix)

    def _set_matrix(self, matrix: SparseRows) -> None:
        self.name_matrix = matrix
        self.index = InvertedIndex(matrix)
        self._type_masks: Dict[Tuple[int, ...], np.ndarray] = {}

    def _mask_for(self, type_ids: Optional[Tuple[int, ...]]) -> Optional[np.ndarray]:
        """Which names a search restricted to ``type_ids`` may return (None: all)."""
        if not type_ids:
            return None
        if type_ids not in self._type_masks:
            self._type_masks[type_ids] = np.isin(self.name_type, type_ids)
        return self._type_masks[type_ids]

    def type_ids(self, types: Optional[Iterable[str]]) -> Optional[Tuple[int, ...]]:
        """Indices of the named types this KB has (None: search every name)."""
        if types is None:
            return None
        return tuple(sorted(self.types.index(t) for t in types if t in self.types)) or None

    # ------------------------------------------------------------ search
    def exact(self, text: str, type_ids: Optional[Tuple[int, ...]] = None, mode: str = "normalised") -> List[Candidate]:
        """Concepts with a name equal to ``text``, most used first.

        ``mode``: "lower" (case-folded text), "normalised" (``names.normalise``) or "words"
        (``names.word_key``: the same set of words in any order, "of the in with a an" aside).
        """
        if mode == "lower":
            index, key = self.lower_index, lower(text)
        elif mode == "words":
            index, key = self.word_index, word_key(text)
        else:
            index, key = self.exact_index, normalise(text)
        hits = index.get(key, ())
        if type_ids:
            hits = [i for i in hits if self.name_type[i] in type_ids]
        order = sorted(hits, key=lambda i: (-self.name_prior[i], -self.concept_prior[self.name_concept[i]],
                                            self.name_concept[i]))
        return self._dedupe((i, 1.0) for i in order)

    def search(self, texts: Sequence[str], k: int = 5, type_ids: Optional[Tuple[int, ...]] = None,
               prior_weight: float = 0.0, chunk: int = 128) -> List[List[Candidate]]:
        """Top ``k`` concepts per text by cosine similarity of char n-gram TF-IDF vectors.

        ``prior_weight`` adds up to that much to the ranking score of concepts
        the training mentions used often (log-scaled); reported scores stay
        cosines. Queries run ``chunk`` at a time, so the dense score block
        keeps memory bounded.
        """
        allowed = self._mask_for(type_ids)
        results: List[List[Candidate]] = []
        width = k * 4
        max_prior = np.log1p(max(1, int(self.concept_prior.max(initial=0))))
        for offset in range(0, len(texts), chunk):
            queries = self.query_vectors(texts[offset:offset + chunk])
            for row in range(queries.shape[0]):
                # inverted index: only names sharing an n-gram with the query are looked at
                names, values = self.index.scores(*queries.row(row), allowed=allowed)
                if len(values) > width:
                    keep = np.argpartition(-values, width - 1)[:width]
                    names, values = names[keep], values[keep]
                keep = values > 0
                names, values = names[keep], values[keep]
                prior = self.concept_prior[self.name_concept[names]]
                ranking = np.round(values + prior_weight * np.log1p(prior) / max_prior, 3)
                order = np.lexsort((-prior, -ranking))
                results.append(self._dedupe(zip(names[order], values[order]))[:k])
        return results

    def _dedupe(self, scored_names) -> List[Candidate]:
        seen, out = set(), []
        for name_index, score in scored_names:
            concept = int(self.name_concept[name_index])
            if concept in seen:
                continue
            seen.add(concept)
            out.append(Candidate(self.concept_ids[concept][0], self.concept_names[concept], min(1.0, float(score))))
        return out

    def normalised_names_of(self, concept_id: str) -> List[str]:
        """The normalised names of the concept whose (any) id is ``concept_id`` (empty when unknown)."""
        index = self.id_to_concept.get(concept_id)
        if index is None:
            return []
        if self._concept_name_rows is None:  # built on first use (the learned re-ranker needs it)
            order = np.argsort(self.name_concept, kind="stable")
            starts = np.searchsorted(self.name_concept[order], np.arange(len(self.concept_ids) + 1))
            self._concept_name_rows = (order, starts)
        order, starts = self._concept_name_rows
        return [self.normalised_names[i] for i in order[starts[index]:starts[index + 1]]]

    def prior_of(self, concept_id: str) -> int:
        """How often training mentions named the concept whose (any) id is ``concept_id`` (0 when unknown)."""
        index = self.id_to_concept.get(concept_id)
        return 0 if index is None else int(self.concept_prior[index])

    def ids_of(self, concept_id: str) -> List[str]:
        """All identifiers of the concept whose primary (or any) id is ``concept_id``."""
        index = self.id_to_concept.get(concept_id)
        return [concept_id] if index is None else self.concept_ids[index]

    def __len__(self) -> int:
        return len(self.concept_ids)

    # ------------------------------------------------------------ disk
    def to_disk(self, path: PathLike) -> None:
        """Write the four ``FILES`` to directory ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = dict(self.meta, format=KB_FORMAT, types=self.types, ngram_range=list(self.ngram_range),
                    concepts=len(self.concept_ids), names=len(self.names))
        (path / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf8")
        concept_lines = ("\t".join(["|".join(ids), name, type_]) for ids, name, type_ in
                         zip(self.concept_ids, self.concept_names, self.concept_types))
        _write_gz_lines(path / "concepts.tsv.gz", concept_lines)
        name_lines = (f"{name}\t{key}\t{c}\t{t}\t{p}" for name, key, c, t, p in
                      zip(self.names, self.normalised_names, self.name_concept, self.name_type, self.name_prior))
        _write_gz_lines(path / "names.tsv.gz", name_lines)
        matrix = self.name_matrix
        with (path / "tfidf.npz").open("wb") as file_:
            np.savez_compressed(
                file_, ngrams=np.array("\n".join(self.tfidf.ngrams)), idf=self.tfidf.idf.astype(np.float32),
                data=matrix.data.astype(np.float16), indices=matrix.indices.astype(np.int32),
                indptr=matrix.indptr.astype(np.int32), shape=np.array(matrix.shape),
            )

    @classmethod
    def from_disk(cls, path: PathLike) -> "KnowledgeBase":
        """Read a KB written by ``to_disk``; ``KBFileError`` names the missing or broken file."""
        path = Path(path)
        if not path.is_dir():
            raise KBFileError(f"{path}: knowledge base directory not found")
        for name in FILES:
            if not (path / name).is_file():
                raise KBFileError(f"{path / name}: knowledge base file missing")
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise KBFileError(f"{path / 'meta.json'}: not valid JSON ({err})")
        if meta.get("format") != KB_FORMAT:
            raise KBFileError(f"{path / 'meta.json'}: format {meta.get('format')!r}, expected {KB_FORMAT!r}")
        concept_ids, concept_names, concept_types = [], [], []
        for line_no, line in _read_gz_lines(path / "concepts.tsv.gz", fields=3):
            concept_ids.append(line[0].split("|"))
            concept_names.append(line[1])
            concept_types.append(line[2])
        names, normalised_names, name_concept, name_type, name_prior = [], [], [], [], []
        for line_no, line in _read_gz_lines(path / "names.tsv.gz", fields=5):
            try:
                c, t, p = int(line[2]), int(line[3]), int(line[4])
            except ValueError:
                raise KBFileError(f"{path / 'names.tsv.gz'}:{line_no}: concept, type and prior must be integers")
            if not (0 <= c < len(concept_ids) and 0 <= t < len(meta["types"])):
                raise KBFileError(f"{path / 'names.tsv.gz'}:{line_no}: concept {c} or type {t} out of range")
            names.append(line[0])
            normalised_names.append(line[1])
            name_concept.append(c)
            name_type.append(t)
            name_prior.append(p)
        try:
            with np.load(path / "tfidf.npz", allow_pickle=False) as arrays:
                ngrams = str(arrays["ngrams"]).split("\n")
                idf = arrays["idf"]
                n_rows, n_columns = (int(n) for n in arrays["shape"])
                matrix = SparseRows(arrays["data"].astype(np.float32), arrays["indices"].astype(np.int32),
                                    arrays["indptr"].astype(np.int64), n_columns)
                if matrix.shape[0] != n_rows or (len(matrix.indices) and matrix.indices.max() >= n_columns):
                    raise ValueError(f"arrays do not form a {n_rows} x {n_columns} matrix")
        except Exception as err:  # zip, key or shape errors: all mean the file is broken
            raise KBFileError(f"{path / 'tfidf.npz'}: cannot read the TF-IDF arrays ({type(err).__name__}: {err})")
        if matrix.shape != (len(names), len(ngrams)) or len(idf) != len(ngrams):
            raise KBFileError(f"{path / 'tfidf.npz'}: matrix {matrix.shape} does not match {len(names)} names x {len(ngrams)} n-grams")
        return cls(concept_ids, concept_names, concept_types, names, name_concept, name_type, name_prior,
                   types=list(meta["types"]), ngram_range=tuple(meta["ngram_range"]), meta=meta,
                   tfidf=(ngrams, idf, matrix), normalised_names=normalised_names)

    def to_bytes(self) -> bytes:
        """The ``FILES`` of ``to_disk``, byte for byte, in one msgpack map (``nlp.to_bytes`` keeps the KB)."""
        with tempfile.TemporaryDirectory() as tmp:
            self.to_disk(tmp)
            return srsly.msgpack_dumps({name: (Path(tmp) / name).read_bytes() for name in FILES})

    @classmethod
    def from_bytes(cls, data: bytes) -> "KnowledgeBase":
        """Read bytes written by ``to_bytes``; the checks of ``from_disk`` apply."""
        try:
            files = srsly.msgpack_loads(data)
        except Exception as err:  # msgpack raises several unrelated types for broken input
            raise KBFileError(f"knowledge base bytes: not a msgpack map ({type(err).__name__}: {err})")
        missing = [name for name in FILES if not isinstance(files, dict) or not isinstance(files.get(name), bytes)]
        if missing:
            raise KBFileError(f"knowledge base bytes: missing {', '.join(missing)}")
        with tempfile.TemporaryDirectory() as tmp:
            for name in FILES:
                (Path(tmp) / name).write_bytes(files[name])
            return cls.from_disk(tmp)


def _one_line(text: str) -> str:
    """``text`` with every run of whitespace (tabs, newlines) as one space: a safe TSV field."""
    return " ".join(text.split())


def _write_gz_lines(path: Path, lines: Iterable[str]) -> None:
    # mtime=0: the same KB gives the same bytes (reproducible checksums)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        with io.TextIOWrapper(gz, encoding="utf8") as text:
            for line in lines:
                text.write(line.replace("\n", " ") + "\n")


def _read_gz_lines(path: Path, fields: int):
    try:
        with gzip.open(path, "rt", encoding="utf8") as file_:
            content = file_.read()
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise KBFileError(f"{path}: not a readable gzip text file ({err})")
    for line_no, line in enumerate(content.split("\n"), start=1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != fields:
            raise KBFileError(f"{path}:{line_no}: expected {fields} tab-separated fields, got {len(parts)}")
        yield line_no, parts
