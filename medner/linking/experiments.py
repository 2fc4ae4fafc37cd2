"""Linking experiments behind scripts/evaluate_linking.py: gold-mention accuracy (with the ablation of
the linker's steps), end-to-end concept F1 after a NER pipeline, and DrugBank coverage of gold mentions."""
import json
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import spacy
from spacy.tokens import DocBin
from wasabi import msg

from ..abbreviations.component import detect_abbreviations
from ..corpus.notes import read_notes
from .component import ConceptLinker, add_linker
from .evaluation import concept_f1, gold_mentions, score_gold_mentions, seen_strings
from .kb import KnowledgeBase
from .kb.names import lower
from .reranker import Reranker


class LinkingEvaluationError(ValueError):
    """An input the evaluation cannot use; the message says which."""


# Each step adds one thing to the one before it; FULL is the shipped default. The "(off)" rows each add
# one switch to FULL alone: tried on dev and left off (salt forms; modifier backoff for chemicals; word
# order changes no dev mention; TF-IDF search of the issue-20 variants).
_OFF = {"composites": False, "abbreviations": False, "variants": False, "salt_forms": False, "word_order": False,
        "organ_forms": False, "disease_heads": False, "number_forms": False, "modifier_labels": [], "fuzzy_variants": False,
        "variant_min_score": 0.0, "rerank": False, "rerank_labels": []}
_BASE = {**_OFF, "exact_mode": "normalised", "fuzzy": True, "composites": True, "abbreviations": True}
_NEOPLASM = {**_BASE, "variants": True}
_MIN_SCORE = {**_NEOPLASM, "variant_min_score": 0.8}
_ORGANS = {**_MIN_SCORE, "organ_forms": True}
_HEADS = {**_ORGANS, "disease_heads": True}
_MODIFIERS = {**_HEADS, "modifier_labels": ["DISEASE"]}
_NUMBER = {**_MODIFIERS, "number_forms": True}
FULL = "+number forms (full)"
RERANK_CHEMICALS = "+learned re-ranker, chemicals only"
RERANK = "+learned re-ranker"  # needs the weights of scripts/train_reranker.py (evaluate_linking.py gold --reranker)
VARIANTS: Dict[str, dict] = {
    "exact": {**_OFF, "exact_mode": "lower", "fuzzy": False, "label_types": {}},
    "normalised": {**_OFF, "exact_mode": "normalised", "fuzzy": False, "label_types": {}},
    "+tfidf": {**_OFF, "exact_mode": "normalised", "fuzzy": True, "label_types": {}},
    "+label_aware": {**_OFF, "exact_mode": "normalised", "fuzzy": True},
    "+composites": {**_OFF, "exact_mode": "normalised", "fuzzy": True, "composites": True},
    "+abbreviations": _BASE,
    "+neoplasm synonyms": _NEOPLASM,
    "+variant min score 0.8": _MIN_SCORE,
    "+organ forms": _ORGANS,
    "+disease heads": _HEADS,
    "+modifier backoff, diseases": _MODIFIERS,
    FULL: _NUMBER,
    "+modifier backoff, chemicals too (off)": {**_NUMBER, "modifier_labels": ["DISEASE", "CHEMICAL"]},
    "+word order (off)": {**_NUMBER, "word_order": True},
    "+TF-IDF on variants (off)": {**_NUMBER, "fuzzy_variants": True},
    "+salt/ester forms (off)": {**_NUMBER, "salt_forms": True},
    RERANK: {**_NUMBER, "rerank": True, "rerank_labels": ["CHEMICAL", "MEDICATION", "DISEASE"]},
    RERANK_CHEMICALS: {**_NUMBER, "rerank": True, "rerank_labels": ["CHEMICAL", "MEDICATION"]},
}
# Predicted concepts known only by these id prefixes have no MeSH/OMIM id: NIL for the corpora's measure.
MESH_UNSCORED = ("DB",)
TARGETS = {"bc5cdr_chemical": ("bc5cdr", "CHEMICAL"), "bc5cdr_disease": ("bc5cdr", "DISEASE"),
           "ncbi_disease": ("ncbi_disease", "DISEASE")}
REFERENCES = {
    "gold_mentions_acc1": {
        "BioSyn (BioBERT)": {"bc5cdr_chemical": 96.6, "bc5cdr_disease": 93.2, "ncbi_disease": 91.1},
        "BioSyn, unseen (Tutubalina et al. refined)": {"bc5cdr_chemical": 83.8, "bc5cdr_disease": 74.1, "ncbi_disease": 72.5},
        "string matching F1 (REEL, Table 1)": {"bc5cdr_chemical": 88.5, "bc5cdr_disease": 80.4},
    },
    "end_to_end_concept_f1": {
        "BioCreative V CDR disease, best team": {"bc5cdr_disease": 86.46},
        "TaggerOne": {"bc5cdr_chemical": 89.5, "ncbi_disease": 83.7},
        "DNorm": {"ncbi_disease": 80.6},
    },
}




def _docs(path: Path, nlp) -> List:
    return list(DocBin().from_disk(path).get_docs(nlp.vocab))


def gold_mention_report(kb: KnowledgeBase, kb_dir: Path, split: str, seen_splits: str, ablation: bool, threshold: float,
                        drug_variants: Optional[Sequence[str]] = None, drugs_path: str = "",
                        corpus_dir: Path = Path("corpus"), reranker: Optional[Reranker] = None) -> dict:
    """Link every gold mention of the three targets and score accuracy@1/@5, overall and unseen (and on the
    mentions whose lower-cased text is a drug-dictionary variant, when ``drug_variants`` is given).
    ``reranker``: the learned re-ranker's weights, for the rows that switch ``rerank`` on (skipped without them)."""
    subsets = {"drugs": {lower(v) for v in drug_variants}} if drug_variants else {}
    nlp = spacy.blank("en")
    variants = VARIANTS if ablation else {"full": VARIANTS[FULL]}
    if not ablation and reranker is not None:  # test: the default and the re-ranker rows, before/after
        variants = dict(variants, **{name: VARIANTS[name] for name in (RERANK, RERANK_CHEMICALS)})
    result = {"kb": str(kb_dir), "kb_meta": kb.meta, "split": split, "seen_splits": seen_splits,
              "threshold": threshold, "drug_subset_from": drugs_path, "variants": {}, "references": REFERENCES["gold_mentions_acc1"]}
    result["reranker"] = reranker.to_dict() if reranker is not None else None
    if reranker is None:  # the re-ranker rows need its weights (evaluate_linking.py gold --reranker)
        result["skipped_variants"] = [name for name, config in variants.items() if config.get("rerank")]
        variants = {name: config for name, config in variants.items() if not config.get("rerank")}
    for variant, config in variants.items():
        scores, seconds, n_mentions = {}, 0.0, 0
        for dataset in ("bc5cdr", "ncbi_disease"):
            docs = _docs(corpus_dir / dataset / f"{split}.spacy", nlp)
            seen = seen_strings(d for s in seen_splits.split("+") for d in _docs(corpus_dir / dataset / f"{s}.spacy", nlp))
            mentions = gold_mentions(docs)
            if config["abbreviations"]:
                for doc in docs:
                    detect_abbreviations(doc)
            # acc@5 scores the candidate list: filled by TF-IDF for exact hits too (the chosen ids do not change)
            linker = ConceptLinker(kb=kb, threshold=threshold, reranker=reranker, **{"fill_candidates": True, **config})
            started = time.perf_counter()
            linker.link_docs(docs)
            seconds += time.perf_counter() - started
            n_mentions += sum(len(d.ents) for d in docs)
            per_label = score_gold_mentions(kb, mentions, docs, seen, subsets=subsets)
            groups = ["all", "unseen", "in_kb"] + [g for name in subsets for g in (name, f"{name}_unseen")]
            for target, (target_dataset, label) in TARGETS.items():
                if target_dataset == dataset:
                    scores[target] = {group: per_label.get(f"{label}/{group}") for group in groups}
            scores[f"{dataset}_stats"] = dict(linker.stats)
        result["variants"][variant] = {"config": config, "scores": scores,
                                       "mentions_per_second": round(n_mentions / seconds) if seconds else None}
        row = " ".join(f"{t} {scores[t]['all']['acc1']:.1f}/{scores[t]['unseen']['acc1']:.1f}" for t in TARGETS)
        msg.info(f"{variant:24s} acc@1 all/unseen: {row}")
    return result


def end_to_end_report(pipeline: Path, kb: KnowledgeBase, kb_dir: Path, dataset: str, split: str, thresholds: Sequence[float],
                      propagation: Optional[Path] = None, corpus_dir: Path = Path("corpus"),
                      label_thresholds: Optional[Dict[str, float]] = None) -> dict:
    """NER + abbreviations + linker on raw texts: document-level concept P/R/F1 per label, per NIL threshold
    (the NER runs once, the linker once per value), and once more with ``label_thresholds`` (run
    "per_label") when given; ``best_thresholds`` names each label's best value among ``thresholds``.

    ``pipeline`` is a directory or an installed package name. A pipeline that ships a linker
    (a release pipeline) keeps its NER and abbreviation steps; its linker and what follows it
    are replaced by one with the same settings over ``kb`` (the dev KB must not hold dev names).
    """
    try:
        nlp = spacy.load(pipeline if Path(pipeline).exists() else str(pipeline))
    except OSError as err:
        raise LinkingEvaluationError(f"cannot load pipeline {pipeline}: not a pipeline directory or an installed package ({err})") from None
    linker_config, replaced = _drop_shipped_linker(nlp)
    propagation_config = None
    if propagation is not None:
        name = pipeline.parent.name if pipeline.name in ("model-best", "model-last") else pipeline.name
        chosen = json.loads(propagation.read_text(encoding="utf8")).get("pipelines", {}).get(name, {}).get("add_pipe")
        if chosen is None:
            raise LinkingEvaluationError(f"{propagation} chose no propagation step for {name!r}")
        propagation_config = chosen["config"]
        nlp.add_pipe("medner_abbreviation_propagation", config=propagation_config)
    linker = add_linker(nlp, kb, config=linker_config)
    gold_docs = _docs(corpus_dir / dataset / f"{split}.spacy", nlp)
    started = time.perf_counter()
    with nlp.select_pipes(disable=[linker.name]):
        tagged = list(nlp.pipe(d.text for d in gold_docs))
    ner_seconds = time.perf_counter() - started
    labels = ["CHEMICAL", "DISEASE"] if dataset == "bc5cdr" else ["DISEASE"]
    name = lambda label: ("bc5cdr_" + label.lower()) if dataset == "bc5cdr" else "ncbi_disease"  # noqa: E731
    settings = {str(t): {"threshold": t, "label_thresholds": {}} for t in thresholds}
    if label_thresholds:
        settings["per_label"] = {"label_thresholds": dict(label_thresholds)}
    runs = {}
    for run_name, overrides in settings.items():
        run_linker = ConceptLinker(kb=kb, **dict(linker.cfg, **overrides))
        predicted = [d.copy() for d in tagged]
        started = time.perf_counter()
        run_linker.link_docs(predicted)
        named = {name(label): s for label, s in concept_f1(kb, gold_docs, predicted, labels).items()}
        # The corpora's gold ids are MeSH/OMIM: a concept the KB knows only by a DrugBank ID is NIL for them.
        mesh = {name(label): s for label, s in concept_f1(kb, gold_docs, predicted, labels, MESH_UNSCORED).items()}
        runs[run_name] = {"label_thresholds": run_linker.cfg["label_thresholds"], "concept_f1": named, "concept_f1_mesh": mesh,
                          "linker_stats": dict(run_linker.stats), "link_seconds": round(time.perf_counter() - started, 2)}
        msg.info(f"threshold {run_name}: " + "; ".join(f"{n} P {s['p']:.2f} R {s['r']:.2f} F1 {s['f']:.2f}" for n, s in named.items()))
        msg.info("   DrugBank-only ids as NIL: " + "; ".join(f"{n} P {s['p']:.2f} R {s['r']:.2f} F1 {s['f']:.2f}" for n, s in mesh.items()))
    best = {label: max(thresholds, key=lambda t: runs[str(t)]["concept_f1"][name(label)]["f"]) for label in labels} if thresholds else {}
    return {"pipeline": str(pipeline), "kb": str(kb_dir), "dataset": dataset, "split": split,
            "docs": len(gold_docs), "ner_seconds": round(ner_seconds, 2), "linker_config": linker.cfg,
            "pipe_names": nlp.pipe_names, "replaced_components": replaced, "abbreviation_propagation": propagation_config,
            "runs": runs, "best_thresholds": best, "references": REFERENCES["end_to_end_concept_f1"]}


def _drop_shipped_linker(nlp) -> tuple:
    """Remove a pipeline's own ``medner_linker`` and the components after it; return its settings and their names."""
    names = [n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory == "medner_linker"]
    if not names:
        return {}, []
    config = dict(nlp.get_pipe(names[0]).cfg)
    replaced = nlp.pipe_names[nlp.pipe_names.index(names[0]):]
    for name in replaced:
        nlp.remove_pipe(name)
    return config, replaced


def drug_id_report(kb: KnowledgeBase, kb_dir: Path, docs: Sequence[Path], label: str = "MEDICATION") -> dict:
    """Link the gold ``label`` mentions with the shipped linker settings; count those given a MeSH and a DrugBank ID."""
    nlp = spacy.blank("en")
    result: Dict[str, object] = {"kb": str(kb_dir), "kb_meta": kb.meta, "label": label, "sets": {}}
    for path in docs:
        linker = ConceptLinker(kb=kb, abbreviations=False, label_types={label: ["CHEMICAL"]}, link_unlisted_labels=False)
        linked = read_notes(path) if path.suffix == ".jsonl" else _docs(path, nlp)  # notes: biomedical tokenizer
        linker.link_docs(linked)
        spans = [e for d in linked for e in d.ents if e.label_ == label]
        with_id = [e for e in spans if e.kb_id_]
        with_drugbank = [e for e in spans if e._.drugbank_id]
        result["sets"][str(path)] = {
            "mentions": len(spans), "linked": len(with_id), "drugbank_id": len(with_drugbank),
            "mesh_id": sum(any(i[:1] in "DC" and i[1:].isdigit() for i in e._.concept_ids) for e in spans),
            "drugbank_share": round(100 * len(with_drugbank) / len(spans), 2) if spans else None,
            "examples_without_drugbank_id": sorted({e.text.lower() for e in spans if not e._.drugbank_id})[:40]}
        msg.info(f"{path}: {len(with_drugbank)}/{len(spans)} {label} mentions get a DrugBank ID, {len(with_id)} an ID")
    return result
