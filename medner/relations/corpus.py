"""Gold relations of BC5CDR (chemical-induced disease) and PHEE (drug -> adverse effect), with accounting.

The entity readers in :mod:`medner.corpus.readers` give each document's text and
spans; this module adds the relations they skip, and counts every relation line
so that the numbers add up like the entity readers' ``FileReport``:

* BC5CDR ``CID`` lines (``PMID<TAB>CID<TAB>chemical MeSH<TAB>disease MeSH``) are
  document-level pairs of concept ids. Each line is ``kept`` or a ``duplicate``;
  a kept pair is also counted as ``mentioned`` (both ids appear among the
  document's mentions, ``|``-joined composite ids split) or not.
* PHEE ``Adverse_event`` events (``E1<TAB>Adverse_event:T4 arg:T3 arg2:T5``): the
  Drug -> Effect pairs of each event. Arguments are taken from the event line
  where it names them (a ``Treatment`` argument contributes the ``Drug`` spans it
  contains or ``has``); most events in this brat export name only their trigger,
  and then the event's arguments are the sentence's Drug and Effect spans not
  claimed by another event's arguments (``inferred``; ``Combination`` events,
  which group the drugs of one Treatment, claim nothing). Each event ends as
  ``paired``, ``no_drug`` or ``no_effect``; each pair is ``kept`` or a
  ``duplicate`` of a pair another event of the sentence gave. Discontinuous
  spans keep their fragments (``pairs_discontinuous`` counts the pairs with one).
"""
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

from ..corpus.readers import read_brat, read_pubtator
from ..corpus.records import CorpusFormatError, SourceDoc, SourceSpan

PathLike = Union[str, Path]
CID_LABEL = "CID"
ADE_LABEL = "ADVERSE_EFFECT"
PHEE_SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class ConceptPair:
    """A document-level relation between two concept ids (BC5CDR: chemical MeSH -> disease MeSH)."""

    head_id: str
    tail_id: str
    label: str = CID_LABEL
    line: Optional[int] = None


@dataclass(frozen=True)
class MentionPair:
    """A relation between two text-bound spans (PHEE: Drug -> Effect of one adverse event)."""

    head: SourceSpan
    tail: SourceSpan
    label: str = ADE_LABEL
    line: Optional[int] = None  # the event's line

    @property
    def key(self) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        return (self.head.start, self.head.end), (self.tail.start, self.tail.end)


@dataclass
class RelationDoc:
    """One document's text and spans (from the entity reader) and its gold relations."""

    source: SourceDoc
    concept_pairs: List[ConceptPair] = field(default_factory=list)
    mention_pairs: List[MentionPair] = field(default_factory=list)


@dataclass
class RelationReport:
    """Counts for one file or directory; ``adds_up`` checks every line/event ends in one outcome."""

    path: str
    docs: int = 0
    counts: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict:
        c = self.counts
        out = {"path": self.path, "docs": self.docs, **dict(sorted(c.items()))}
        if "relation_lines" in c:  # BC5CDR
            out["adds_up"] = c["kept"] + c["duplicate"] == c["relation_lines"] and \
                c["mentioned"] + c["unmentioned"] == c["kept"]
        else:  # PHEE
            out["adds_up"] = (c["paired"] + c["no_drug"] + c["no_effect"] == c["events"]
                              and c["explicit_args"] + c["inferred"] == c["events"]
                              and c["kept"] + c["duplicate"] == c["event_pairs"])
        return out


# ---------------------------------------------------------------- BC5CDR
_RELATION_LINE = re.compile(r"^([^\t|]+)\t([A-Za-z_]+)\t([^\t]*)\t([^\t]*)\s*$")


def read_cdr_relations(path: PathLike, report: Optional[RelationReport] = None) -> Iterator[RelationDoc]:
    """Read a BC5CDR PubTator file: documents from :func:`read_pubtator`, plus their ``CID`` pairs."""
    path = Path(path)
    report = report if report is not None else RelationReport(str(path))
    lines: Dict[str, List[Tuple[int, str, str, str]]] = defaultdict(list)
    with path.open(encoding="utf8") as file_:
        for line_no, raw in enumerate(file_, start=1):
            fields = raw.rstrip("\r\n").split("\t")
            if len(fields) < 2 or fields[1].lstrip("-").isdigit() or "|" in fields[0]:
                continue  # title/abstract/mention/blank line: the entity reader's business
            match = _RELATION_LINE.match(raw.rstrip("\r\n"))
            if not match:
                raise CorpusFormatError(path, line_no, "relation line needs 'PMID<TAB>TYPE<TAB>ID<TAB>ID'")
            pmid, kind, head, tail = match.groups()
            lines[pmid].append((line_no, kind, head, tail))
    seen_docs = set()
    for doc in read_pubtator(path):
        seen_docs.add(doc.id)
        report.docs += 1
        mentioned = {part for span in doc.spans for part in span.kb_id.split("|") if part}
        rel_doc, pairs = RelationDoc(doc), set()
        for line_no, kind, head, tail in lines.get(doc.id, []):
            report.counts["relation_lines"] += 1
            report.counts[f"type:{kind}"] += 1
            if (kind, head, tail) in pairs:
                report.counts["duplicate"] += 1
                continue
            pairs.add((kind, head, tail))
            report.counts["kept"] += 1
            both = head in mentioned and tail in mentioned
            report.counts["mentioned" if both else "unmentioned"] += 1
            rel_doc.concept_pairs.append(ConceptPair(head, tail, kind, line_no))
        report.counts["docs_with_relations"] += bool(rel_doc.concept_pairs)
        yield rel_doc
    orphans = set(lines) - seen_docs
    if orphans:
        pmid = sorted(orphans)[0]
        raise CorpusFormatError(path, lines[pmid][0][0], f"relation for document {pmid} which has no title line")


# ---------------------------------------------------------------- PHEE
def _span_ids(ann_path: Path) -> Dict[str, int]:
    """brat T id -> its line number (``SourceSpan.line``), to resolve event arguments."""
    ids = {}
    with ann_path.open(encoding="utf8") as file_:
        for line_no, raw in enumerate(file_, start=1):
            if raw.startswith("T"):
                ids[raw.split("\t", 1)[0]] = line_no
    return ids


def _events_and_links(ann_path: Path) -> Tuple[List[Tuple[int, str, List[Tuple[str, str]]]], Dict[str, set]]:
    events, has = [], defaultdict(set)
    with ann_path.open(encoding="utf8") as file_:
        for line_no, raw in enumerate(file_, start=1):
            fields = raw.rstrip("\r\n").split("\t")
            if raw.startswith("E") and len(fields) >= 2:
                parts = fields[1].split()
                if not parts or ":" not in parts[0]:
                    raise CorpusFormatError(ann_path, line_no, "event line needs 'ID<TAB>TYPE:TRIGGER [ROLE:ARG ...]'")
                kind = parts[0].split(":", 1)[0]
                args = [tuple(p.split(":", 1)) for p in parts[1:] if ":" in p]
                events.append((line_no, kind, args))
            elif raw.startswith("R") and len(fields) >= 2:
                parts = fields[1].split()
                if len(parts) == 3 and parts[0] == "has":
                    has[parts[1].partition(":")[2]].add(parts[2].partition(":")[2])
    return events, has


def _inside(inner: SourceSpan, outer: SourceSpan) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def read_phee_relations(directory: PathLike, report: Optional[RelationReport] = None) -> Iterator[RelationDoc]:
    """Read one PHEE split directory (brat ``.txt``/``.ann``): spans and the Drug -> Effect pairs of its adverse events."""
    directory = Path(directory)
    report = report if report is not None else RelationReport(str(directory))
    for doc in read_brat(directory):
        report.docs += 1
        ann_path = Path(doc.path)
        by_line = {span.line: span for span in doc.spans}
        by_id = {tid: by_line[line] for tid, line in _span_ids(ann_path).items() if line in by_line}
        events, has = _events_and_links(ann_path)

        def drugs_of(tid: str) -> List[SourceSpan]:
            span = by_id.get(tid)
            if span is None:
                return []
            if span.label == "Drug":
                return [span]
            if span.label == "Treatment":
                linked = [by_id[t] for t in has.get(tid, ()) if t in by_id and by_id[t].label == "Drug"]
                inside = [s for s in doc.spans if s.label == "Drug" and _inside(s, span)]
                return list({id(s): s for s in linked + inside}.values())
            return []

        claimed = set()  # ids of spans named (directly or inside a Treatment) by some event's arguments
        for _, kind, args in events:
            if kind == "Combination":
                continue  # a drug combination is part of a Treatment, not an event with its own effect
            for _, tid in args:
                claimed.update(id(s) for s in drugs_of(tid))
                if tid in by_id:
                    claimed.add(id(by_id[tid]))
        rel_doc, keys = RelationDoc(doc), set()
        for line_no, kind, args in events:
            if kind != "Adverse_event":
                report.counts[f"other_event:{kind}"] += 1
                continue
            report.counts["events"] += 1
            if args:
                report.counts["explicit_args"] += 1
                drugs = [d for _, tid in args for d in drugs_of(tid)]
                effects = [by_id[tid] for _, tid in args if tid in by_id and by_id[tid].label == "Effect"]
            else:
                report.counts["inferred"] += 1
                drugs = [s for s in doc.spans if s.label == "Drug" and id(s) not in claimed]
                effects = [s for s in doc.spans if s.label == "Effect" and id(s) not in claimed]
            if not drugs:
                report.counts["no_drug"] += 1
                continue
            if not effects:
                report.counts["no_effect"] += 1
                continue
            report.counts["paired"] += 1
            for drug in {id(d): d for d in drugs}.values():
                for effect in effects:
                    pair = MentionPair(drug, effect, ADE_LABEL, line_no)
                    report.counts["event_pairs"] += 1
                    if pair.key in keys:
                        report.counts["duplicate"] += 1
                        continue
                    keys.add(pair.key)
                    report.counts["kept"] += 1
                    report.counts["pairs_discontinuous"] += drug.is_discontinuous or effect.is_discontinuous
                    rel_doc.mention_pairs.append(pair)
        yield rel_doc


def read_phee_split(asset_dir: PathLike, split: str, report: Optional[RelationReport] = None) -> List[RelationDoc]:
    if split not in PHEE_SPLITS:
        raise ValueError(f"PHEE split must be one of {PHEE_SPLITS}, got {split!r}")
    return list(read_phee_relations(Path(asset_dir) / split, report))


CDR_FILES = {"train": "CDR_TrainingSet.PubTator.txt", "dev": "CDR_DevelopmentSet.PubTator.txt",
             "test": "CDR_TestSet.PubTator.txt"}


def read_cdr_split(asset_dir: PathLike, split: str, report: Optional[RelationReport] = None) -> List[RelationDoc]:
    if split not in CDR_FILES:
        raise ValueError(f"BC5CDR split must be one of {tuple(CDR_FILES)}, got {split!r}")
    return list(read_cdr_relations(Path(asset_dir) / CDR_FILES[split], report))
