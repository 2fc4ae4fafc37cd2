"""scispaCy's candidate generator over medner's KB, on the same gold test mentions: the medner side.

scispaCy 0.6.2 pins ``numpy<2`` (medner's stack has numpy 2), so it runs in its
own venv (``vars.scispacy_python``, ``scripts/compare_scispacy.py run``). This
module does the two steps that run in medner's venv: ``export`` writes the KB as
scispaCy JSONL (one concept, all its names as aliases) and the gold test
mentions as JSON; ``score`` scores scispaCy's ranked concepts with the same
accuracy@1/@5 code as medner's own linking results.
"""
import json
from pathlib import Path


def export_for_scispacy(kb_dir: str, out_dir: str, split: str = "test", seen_splits: str = "train+dev") -> None:
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


def score_scispacy(kb_dir: str, out_dir: str, output: str) -> None:
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


