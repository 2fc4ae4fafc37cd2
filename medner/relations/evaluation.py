"""Relation evaluation the official ways, with the co-occurrence baselines beside the model.

* BC5CDR CID: sets of (PMID, chemical MeSH id, disease MeSH id) over the test
  documents, micro P/R/F (the BioCreative V evaluation). A predicted pair whose
  side has no concept id (a mention the linker left NIL) cannot be submitted and
  is left out (counted as ``no_id``).
* PHEE: Drug -> Effect pairs per sentence, ``exact`` (both spans' offsets equal
  the gold argument's extent) and ``overlap`` (each side overlaps the gold
  argument: a predicted pair is right when it overlaps some gold pair, a gold
  pair is found when some predicted pair overlaps it).

Baselines: every candidate pair (same label pairs as the model) that co-occurs
in a sentence, or in the document (BC5CDR only).
"""
import time
from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc

from ..tokenizer import count_text_words
from .component import get_relations, prf
from .features import candidate_pairs, mentions, sentence_ids

Pair = Tuple[Tuple[int, int], Tuple[int, int]]


def _round(scores: dict) -> dict:
    return {k: round(100 * v, 2) if k in ("p", "r", "f") else v for k, v in scores.items()}


def cdr_predicted_set(docs: Iterable[Doc], counts: Optional[Counter] = None) -> set:
    """(doc id, head id, tail id) of every predicted relation with concept ids on both sides."""
    out = set()
    for doc in docs:
        for r in get_relations(doc):
            head, tail = r.get("head_id"), r.get("tail_id")
            if not head or not tail or head.startswith("text:") or tail.startswith("text:"):
                if counts is not None:
                    counts["no_id"] += 1
                continue
            out.add((doc.user_data["medner_id"], head, tail))
    return out


def cdr_cooccurrence(docs: Iterable[Doc], label_pairs: Sequence[Sequence[str]], scope: str) -> set:
    """Baseline: concept pairs that co-occur in a sentence (``scope="sentence"``) or the document."""
    out = set()
    for doc in docs:
        ms = mentions(doc, list(doc.ents), sentence_ids(doc))
        for c in candidate_pairs(ms, label_pairs, "concept"):
            if c.head_key.startswith("text:") or c.tail_key.startswith("text:"):
                continue
            if scope == "document" or {m.sent for m in c.heads} & {m.sent for m in c.tails}:
                out.add((doc.user_data["medner_id"], c.head_key, c.tail_key))
    return out


def set_scores(predicted: set, gold: set) -> dict:
    return _round(prf(len(predicted & gold), len(predicted), len(gold)))


def phee_predicted_pairs(docs: Iterable[Doc]) -> Dict[str, List[Pair]]:
    return {doc.user_data["medner_id"]: [(tuple(r["head"]), tuple(r["tail"])) for r in get_relations(doc)]
            for doc in docs}


def phee_cooccurrence(docs: Iterable[Doc], label_pairs: Sequence[Sequence[str]]) -> Dict[str, List[Pair]]:
    """Baseline: every (head, tail) entity pair with allowed labels in one sentence."""
    out = {}
    for doc in docs:
        ents = list(doc.ents)
        ms = mentions(doc, ents, sentence_ids(doc))
        pairs = []
        for c in candidate_pairs(ms, label_pairs, "mention"):
            h, t = ents[c.heads[0].index], ents[c.tails[0].index]
            pairs.append(((h.start_char, h.end_char), (t.start_char, t.end_char)))
        out[doc.user_data["medner_id"]] = sorted(set(pairs))
    return out


def _overlaps(span: Tuple[int, int], fragments: Sequence[Tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in fragments)


def _extent(fragments: Sequence[Tuple[int, int]]) -> Tuple[int, int]:
    return min(s for s, _ in fragments), max(e for _, e in fragments)


def phee_scores(predicted: Dict[str, List[Pair]], gold: Dict[str, List[tuple]]) -> dict:
    """Exact and overlap P/R/F of Drug -> Effect pairs (gold sides as fragment lists)."""
    tp_exact = n_pred = n_gold = pred_hit = gold_hit = 0
    for doc_id, gold_pairs in gold.items():
        preds = set(predicted.get(doc_id, []))
        gold_exact = {(_extent(h), _extent(t)) for h, t in gold_pairs}
        n_pred += len(preds)
        n_gold += len(gold_exact)
        tp_exact += len(preds & gold_exact)
        pred_hit += sum(any(_overlaps(ph, gh) and _overlaps(pt, gt) for gh, gt in gold_pairs) for ph, pt in preds)
        gold_hit += sum(any(_overlaps(ph, gh) and _overlaps(pt, gt) for ph, pt in preds)
                        for gh, gt in {(tuple(h), tuple(t)) for h, t in gold_pairs})
    exact = _round(prf(tp_exact, n_pred, n_gold))
    p = pred_hit / n_pred if n_pred else 0.0
    r = gold_hit / n_gold if n_gold else 0.0
    overlap = {"p": round(100 * p, 2), "r": round(100 * r, 2),
               "f": round(100 * (2 * p * r / (p + r) if p + r else 0.0), 2),
               "pred_matched": pred_hit, "gold_matched": gold_hit, "pred": n_pred, "gold": n_gold}
    return {"exact": exact, "overlap": overlap}


def time_component(nlp, texts: List[str], component: str, repeats: int = 5) -> dict:
    """Seconds per document of the pipeline with and without ``component``.

    The two are run alternately, ``repeats`` times each, and the fastest run of
    each counts, so that load from other processes on the machine hits both alike.
    """
    words = count_text_words(texts)

    def run(disable: List[str]) -> float:
        start = time.perf_counter()
        for _ in nlp.pipe(texts, disable=disable):
            pass
        return time.perf_counter() - start

    run([])  # warm caches
    without, with_ = [], []
    for _ in range(repeats):
        without.append(run([component]))
        with_.append(run([]))
    without_s, with_s = min(without), min(with_)
    return {"documents": len(texts), "words": words, "repeats": repeats,
            "seconds_without": round(without_s, 3), "seconds_with": round(with_s, 3),
            "ms_per_doc_without": round(1000 * without_s / len(texts), 3),
            "ms_per_doc_with": round(1000 * with_s / len(texts), 3),
            "added_percent": round(100 * (with_s - without_s) / without_s, 2),
            "words_per_second_without": round(words / without_s, 1),
            "words_per_second_with": round(words / with_s, 1)}


def cdr_gold_and_scores(docs: List[Doc], rel_docs) -> dict:
    """BC5CDR CID set scores of ``docs``' relations against the reader's gold pairs (``f`` in percent)."""
    from .examples import cdr_gold_set
    return set_scores(cdr_predicted_set(docs), cdr_gold_set(rel_docs))


def phee_gold_and_scores(docs: List[Doc], rel_docs) -> dict:
    """PHEE exact pair scores (``f``), with the overlap scores under ``overlap``."""
    from .examples import phee_gold_pairs
    scores = phee_scores(phee_predicted_pairs(docs), phee_gold_pairs(rel_docs))
    return {**scores["exact"], "overlap_f": scores["overlap"]["f"]}


def relation_examples(docs: List[Doc], n: int = 5, per_doc: int = 3) -> List[dict]:
    """A few documents' predicted relations with their text, for the docs."""
    out = []
    for doc in docs:
        rels = get_relations(doc)
        if not rels or len(doc.text) > 400:
            continue
        out.append({"id": doc.user_data.get("medner_id"), "text": doc.text, "relations": [
            {**r, "head_text": doc.text[r["head"][0]:r["head"][1]], "tail_text": doc.text[r["tail"][0]:r["tail"][1]]}
            for r in rels[:per_doc]]})
        if len(out) == n:
            break
    return out


def evaluate_relations(corpus: str, asset_dir, model_dir, pipeline: Optional[str] = None,
                       timing_docs: int = 50) -> dict:
    """Test-split scores of a trained relation pipeline, with gold entities and (given ``pipeline``) end to end.

    Each setting lists the model beside the co-occurrence baselines on the same
    entities; end to end also times the component (its share of the pipeline's
    time per document) on the first ``timing_docs`` test texts.
    """
    import spacy

    from ..tokenizer import blank_biomedical
    from .corpus import RelationReport, read_cdr_split, read_phee_split
    from .examples import cdr_docs, phee_docs, strip_relations

    rel_nlp = spacy.load(model_dir)
    rel = rel_nlp.get_pipe("medner_relations")
    pairs = rel.cfg["label_pairs"]
    read, to_docs, score = {"bc5cdr": (read_cdr_split, cdr_docs, cdr_gold_and_scores),
                            "phee": (read_phee_split, phee_docs, phee_gold_and_scores)}[corpus]
    reader_report = RelationReport("test")
    test = read(asset_dir, "test", reader_report)
    gold_docs = to_docs(blank_biomedical(), test)

    def settings(inputs: List[Doc]) -> dict:
        out = {"model": score([rel(d.copy()) for d in inputs], test)}
        if corpus == "bc5cdr":
            from .examples import cdr_gold_set
            for scope in ("sentence", "document"):
                out[f"{scope}_cooccurrence"] = set_scores(cdr_cooccurrence(inputs, pairs, scope), cdr_gold_set(test))
        else:
            from .examples import phee_gold_pairs
            base = phee_scores(phee_cooccurrence(inputs, pairs), phee_gold_pairs(test))
            out["sentence_cooccurrence"] = {**base["exact"], "overlap_f": base["overlap"]["f"]}
        return out

    gold_inputs = strip_relations(gold_docs)
    result = {"corpus": corpus, "split": "test", "model": str(model_dir), "config": rel.cfg,
              "reader": reader_report.to_dict(), "gold_entities": settings(gold_inputs),
              "examples": relation_examples([rel(d.copy()) for d in gold_inputs])}
    if pipeline:
        nlp = spacy.load(pipeline)
        nlp.add_pipe("medner_relations", source=rel_nlp)
        texts = [d.text for d in gold_docs]
        ner_docs = []
        for gold, doc in zip(gold_docs, nlp.pipe(texts, disable=["medner_relations"], batch_size=64)):
            doc.user_data["medner_id"] = gold.user_data["medner_id"]
            ner_docs.append(doc)
        result["end_to_end"] = {"pipeline": pipeline, **settings(ner_docs)}
        result["timing"] = time_component(nlp, texts[:timing_docs], "medner_relations")
    return result
