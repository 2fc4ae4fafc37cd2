"""scispaCy's candidate generator over medner's KB, on the same gold test mentions.

scispaCy 0.6.2 pins ``numpy<2`` (medner's stack has numpy 2), so it cannot be
installed beside medner: it runs in its own venv (``vars.scispacy_python``).
Three steps, each in the right interpreter:

* ``export`` (medner venv): the KB as scispaCy JSONL (one concept, all its
  names as aliases) and the gold test mentions as JSON;
* ``run`` (scispaCy venv): ``create_tfidf_ann_index`` (char 3-gram TF-IDF +
  nmslib HNSW) and ``CandidateGenerator(k=30)``; concepts ranked by their best
  alias similarity, as scispaCy's ``EntityLinker`` ranks them (its 0.7
  threshold is not applied, so accuracy is not lowered by abstaining);
* ``score`` (medner venv): the same accuracy@1/@5 code as medner's own results.

scispaCy's ``create_tfidf_ann_index`` needs ``scipy<1.11`` (float16 sparse
matrices), hence Python <= 3.10, and builds the HNSW index with 60 threads
(hard-coded), so project.yml runs it under ``nice -n 19`` on shared machines.
"""
import json
import sys
import time
from pathlib import Path


def export(kb_dir: str, out_dir: str, split: str = "test", seen_splits: str = "train+dev") -> None:
    import spacy
    from spacy.tokens import DocBin

    from medner.linking.kb import KnowledgeBase
    from medner.linking.kb.names import normalise

    kb = KnowledgeBase.from_disk(kb_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    aliases = [[] for _ in range(len(kb))]
    for name, concept in zip(kb.names, kb.name_concept):
        aliases[concept].append(name)
    with (out / "kb.jsonl").open("w", encoding="utf8") as file_:
        for i, ids in enumerate(kb.concept_ids):
            record = {"concept_id": ids[0], "canonical_name": kb.concept_names[i],
                      "aliases": sorted(set(aliases[i]) - {kb.concept_names[i]}), "types": [kb.concept_types[i]]}
            file_.write(json.dumps(record) + "\n")
    nlp = spacy.blank("en")
    mentions = []
    for dataset, labels in (("bc5cdr", ("CHEMICAL", "DISEASE")), ("ncbi_disease", ("DISEASE",))):
        seen = {normalise(e.text) for s in seen_splits.split("+")
                for d in DocBin().from_disk(f"corpus/{dataset}/{s}.spacy").get_docs(nlp.vocab) for e in d.ents}
        for doc in DocBin().from_disk(f"corpus/{dataset}/{split}.spacy").get_docs(nlp.vocab):
            for ent in doc.ents:
                if ent.kb_id_ and ent.label_ in labels:
                    target = "ncbi_disease" if dataset == "ncbi_disease" else f"bc5cdr_{ent.label_.lower()}"
                    mentions.append({"target": target, "text": ent.text, "gold": ent.kb_id_,
                                     "unseen": normalise(ent.text) not in seen})
    (out / "mentions.json").write_text(json.dumps(mentions), encoding="utf8")
    print(f"exported {len(kb)} concepts and {len(mentions)} mentions to {out}")


def run(out_dir: str) -> None:
    import scispacy
    from scispacy.candidate_generation import CandidateGenerator, create_tfidf_ann_index
    from scispacy.linking_utils import KnowledgeBase

    out = Path(out_dir)
    started = time.perf_counter()
    kb = KnowledgeBase(str(out / "kb.jsonl"))
    (out / "index").mkdir(exist_ok=True)
    aliases, vectorizer, index = create_tfidf_ann_index(str(out / "index"), kb)
    build_seconds = time.perf_counter() - started
    generator = CandidateGenerator(index, vectorizer, aliases, kb)
    mentions = json.loads((out / "mentions.json").read_text(encoding="utf8"))
    started = time.perf_counter()
    batches = [generator([m["text"] for m in mentions[i:i + 1000]], k=30) for i in range(0, len(mentions), 1000)]
    seconds = time.perf_counter() - started
    ranked = []
    for candidates in (c for batch in batches for c in batch):
        best = sorted(((max(c.similarities), c.concept_id) for c in candidates), reverse=True)
        ranked.append([concept for _, concept in best[:5]])
    index_mb = sum(p.stat().st_size for p in (out / "index").glob("*")) / 2**20
    (out / "predictions.json").write_text(json.dumps({
        "scispacy": scispacy.__version__, "ranked": ranked, "build_seconds": round(build_seconds, 1),
        "index_mb": round(index_mb, 1), "mentions_per_second": round(len(mentions) / seconds)}), encoding="utf8")
    print(f"scispaCy {scispacy.__version__}: index built in {build_seconds:.1f} s ({index_mb:.1f} MB), {len(mentions) / seconds:.0f} mentions/s")


def score(kb_dir: str, out_dir: str, output: str) -> None:
    from medner.linking.kb import KnowledgeBase
    from medner.linking.evaluation import canonical, split_ids

    kb = KnowledgeBase.from_disk(kb_dir)
    out = Path(out_dir)
    mentions = json.loads((out / "mentions.json").read_text(encoding="utf8"))
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf8"))
    tallies = {}
    for mention, ranked in zip(mentions, predictions["ranked"]):
        gold = {canonical(kb, i) for i in split_ids(mention["gold"])}
        ranked = [canonical(kb, c) for c in ranked]
        hit1 = bool(ranked) and ranked[0] in gold
        hit5 = any(c in gold for c in ranked[:5])
        for group in ("all", "unseen") if mention["unseen"] else ("all",):
            t = tallies.setdefault(mention["target"], {}).setdefault(group, {"n": 0, "acc1": 0, "acc5": 0})
            t["n"] += 1
            t["acc1"] += hit1
            t["acc5"] += hit5
    scores = {target: {group: {"n": t["n"], "acc1": round(100 * t["acc1"] / t["n"], 2), "acc5": round(100 * t["acc5"] / t["n"], 2)}
                       for group, t in groups.items()} for target, groups in tallies.items()}
    result = {"system": f"scispaCy {predictions['scispacy']} CandidateGenerator (k=30, no threshold) over medner's KB",
              "kb": kb_dir, "scores": scores, **{k: v for k, v in predictions.items() if k != "ranked"}}
    Path(output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf8")
    print(json.dumps(scores, indent=1))


if __name__ == "__main__":
    commands = {"export": export, "run": run, "score": score}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        sys.exit("usage: compare_scispacy.py export KB OUT_DIR | run OUT_DIR | score KB OUT_DIR OUTPUT.json")
    commands[sys.argv[1]](*sys.argv[2:])
