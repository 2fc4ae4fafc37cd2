"""scispaCy's candidate generator over medner's KB, on the same gold test mentions (docs/linking.md).

Three steps, each in the right interpreter: ``export`` (medner venv,
medner.bench.scispacy), ``run`` (scispaCy 0.6.2's own venv, ``vars.scispacy_python``:
it pins numpy<2 and scipy<1.11, so medner cannot be imported there; char 3-gram
TF-IDF + nmslib HNSW, ``CandidateGenerator(k=30)``, concepts ranked by their best
alias similarity as scispaCy's ``EntityLinker`` ranks them, without its 0.7
threshold), ``score`` (medner venv). The HNSW index is built with 60 threads
(hard-coded), so project.yml runs ``run`` under ``nice -n 19``.
"""
import json
import sys
import time
from pathlib import Path


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


if __name__ == "__main__":
    usage = "usage: compare_scispacy.py export KB OUT_DIR | run OUT_DIR | score KB OUT_DIR OUTPUT.json"
    if len(sys.argv) < 3 or sys.argv[1] not in ("export", "run", "score"):
        sys.exit(usage)
    if sys.argv[1] == "run":
        run(*sys.argv[2:])
    else:  # medner's venv
        from medner.bench.scispacy import export_for_scispacy, score_scispacy

        {"export": export_for_scispacy, "score": score_scispacy}[sys.argv[1]](*sys.argv[2:])
