"""The bad-input battery: awkward texts, and the checks every pipeline must pass on them.

One module shared by the tests (``tests/bench/test_bad_input.py``) and the
``medner battery`` command (needs ``psutil``: ``pip install "medner[bench]"``),
so that both run exactly the same cases and checks::

    from medner.bench.battery import battery_cases, run_battery
    results = run_battery(nlp, battery_cases())

Cases (:func:`battery_cases`): the empty string, whitespace only, a single
character, control characters and NUL, emoji and combining accents,
right-to-left text, CRLF and lone CR line ends, long lines with no spaces
(one 100k-character word, and 100k characters of words glued by punctuation,
and one spaCy token that a word-piece tokenizer splits into ~25k pieces),
HTML-ish markup, one token repeated, and a long document (1,000,000
characters by default, ``nlp.max_length``) whose last sentence holds
``tail`` so that a test can check that nothing past a transformer window is
lost.

Checks (:func:`check_doc`): no exception; ``doc.text == text``; the tokens
add up to the text; every entity in ``doc.ents`` and in every span group lies
inside the text and its ``.text`` equals ``doc.text[start_char:end_char]``.
:func:`run_battery` adds: ``nlp(text)`` and ``nlp.pipe([text])`` give the same
entities, and (optionally) ``nlp.pipe(texts, n_process=2)`` gives the same
entities as one process, for all cases in one call. Per case it records
ok/failed, the problems, seconds, the entities and the peak RSS.
"""
import os
import threading
import time
import traceback
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..annotate.long_text import DEFAULT_MAX_CHARS, pipe_chunked, split_text

LONG_DOC_CHARS = 1_000_000
NO_SPACE_CHARS = 100_000
FILLER = "The patient was treated with a daily dose and showed normal blood pressure. "
DEFAULT_TAIL = " Finally the patient was given aspirin for fever."

Entity = Tuple[int, int, str]


def long_document(n_chars: int = LONG_DOC_CHARS, tail: str = DEFAULT_TAIL) -> str:
    """``n_chars`` characters of clinical-looking filler ending with ``tail``."""
    body_len = max(n_chars - len(tail), 0)
    body = (FILLER * (body_len // len(FILLER) + 1))[:body_len]
    return (body + tail)[:n_chars] if n_chars >= len(tail) else tail[:n_chars]


def battery_cases(
    long_chars: int = LONG_DOC_CHARS, no_space_chars: int = NO_SPACE_CHARS, tail: str = DEFAULT_TAIL
) -> Dict[str, str]:
    """``{case name: text}``; ``long_chars=0`` leaves out the long document."""
    cases = {
        "empty": "",
        "whitespace_only": " \t \n\r\n  \u00a0\u2003\u3000\n",
        "single_char": "a",
        "single_space": " ",
        "control_and_nul": "aspirin\x00 caused\x01\x02 fever\x07 \x1b[31mrenal failure\x1b[0m\x7f\x0c\x0b\x1f end\x00",
        "emoji_and_combining": (
            "Pt 😀 took aspirin💊 for fever🤒; 👨\u200d👩\u200d👧 family 🇫🇷. "
            "Fe\u0301ver cafe\u0301 naı\u0308ve Zidovudine\u0308\u0301\u0323 a\u0300\u0301\u0302\u0303\u0304 "
            "ﬁbrosis \ufeffBOM\u200bzero\u200dwidth \U0001d54f\U0001d560"
        ),
        "right_to_left": (
            "المريض تناول aspirin بسبب الحمى والفشل الكلوي. "
            "החולה קיבל אספירין עבור fever. "
            "\u202easpirin reversed\u202c \u200fRTL mark\u200e ١٢٣ mg"
        ),
        "crlf": "Line one\r\nThe patient took aspirin.\r\n\r\nrenal failure after fever\r\n",
        "lone_cr": "Line one\rThe patient took aspirin.\r\rrenal failure after fever\r",
        "no_spaces_one_word": "x" * no_space_chars,
        "no_spaces_punctuated": ("aspirin,fever;renal-failure/ibuprofen(overdose)" * (no_space_chars // 47 + 1))[:no_space_chars],
        # one spaCy token ("a.b" stays whole), ~25k word pieces: a single token wider than any window
        "no_spaces_dotted": ("aspirin." * (no_space_chars // 8 + 1))[:no_space_chars],
        "html": (
            '<html><head><style>p{color:red}</style></head><body><p class="note">Patient took '
            "<b>aspirin</b> &amp; ibuprofen&nbsp;for <i>fever</i></p><script>alert('renal failure')</script>"
            "<!-- renal failure --><br/><table><tr><td>5 mg</td></tr></table></body></html>"
        ),
        "repeated_token": "aspirin " * 5000,
    }
    if long_chars:
        cases["long_document"] = long_document(long_chars, tail)
    return cases


# ------------------------------------------------------------------- checks
def doc_entities(doc) -> Dict[str, List[Entity]]:
    """``{"ents": [(start_char, end_char, label)], "spans:<key>": [...]}`` for ``doc``."""
    out = {"ents": [(e.start_char, e.end_char, e.label_) for e in doc.ents]}
    for key in sorted(doc.spans):
        out[f"spans:{key}"] = [(s.start_char, s.end_char, s.label_) for s in doc.spans[key]]
    return out


def check_doc(text: str, doc) -> List[str]:
    """Problems with ``doc`` as the analysis of ``text`` (empty list: all good)."""
    problems = []
    if doc.text != text:
        problems.append(f"doc.text differs from the input ({len(doc.text)} vs {len(text)} chars)")
    if "".join(t.text_with_ws for t in doc) != text:
        problems.append("the tokens do not add up to the input")
    groups = [("ents", list(doc.ents))] + [(f"spans:{k}", list(doc.spans[k])) for k in sorted(doc.spans)]
    for name, spans in groups:
        for span in spans:
            where = f"{name} {span.label_!r} [{span.start_char}:{span.end_char}]"
            if not 0 <= span.start_char < span.end_char <= len(text):
                problems.append(f"{where} outside the text or empty")
            elif span.text != text[span.start_char : span.end_char]:
                problems.append(f"{where}: span.text {span.text[:40]!r} != text slice {text[span.start_char:span.end_char][:40]!r}")
    return problems


class PeakRSS:
    """Context manager sampling this process's RSS in a thread; ``.peak_mb``, ``.growth_mb``."""

    def __init__(self, interval: float = 0.005):
        try:
            import psutil
        except ImportError as err:
            raise ImportError('the bad-input battery measures memory with psutil: pip install "medner[bench]"') from err

        self._process = psutil.Process(os.getpid())
        self.interval = interval
        self.start_mb = self.peak_mb = 0.0

    def _rss_mb(self) -> float:
        return self._process.memory_info().rss / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._rss_mb())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self.start_mb = self.peak_mb = self._rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss_mb())

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.start_mb


@contextmanager
def recording(out: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    """Run a check's block: an exception becomes a problem (with traceback), never a raise;
    ``seconds`` (unless the block set it) and ``ok`` are filled in at the end."""
    start = time.perf_counter()
    try:
        yield out
    except Exception as err:  # noqa: BLE001 - a battery records every failure
        out["problems"].append(f"{type(err).__name__}: {err}")
        out["traceback"] = traceback.format_exc(limit=8)
    finally:
        out.setdefault("seconds", round(time.perf_counter() - start, 4))
        out["ok"] = not out["problems"]


def run_case(nlp, name: str, text: str, *, compare_pipe: bool = True, keep_doc: bool = False) -> Dict[str, Any]:
    """Run ``nlp`` on one case; never raises. Returns the case's result dict."""
    result: Dict[str, Any] = {"case": name, "chars": len(text) if isinstance(text, str) else None, "ok": False, "problems": []}
    start = time.perf_counter()
    with recording(result):
        with PeakRSS() as rss:
            doc = nlp(text)
        result["seconds"] = round(time.perf_counter() - start, 4)
        result["peak_rss_mb"] = round(rss.peak_mb, 1)
        result["rss_growth_mb"] = round(rss.growth_mb, 1)
        result["problems"] += check_doc(text, doc)
        result["entities"] = doc_entities(doc)
        result["n_entities"] = sum(len(v) for v in result["entities"].values())
        result["stats"] = {k: v for k, v in doc.user_data.items() if isinstance(k, str) and k.endswith(".stats")}
        if keep_doc:
            result["doc"] = doc
        if compare_pipe:
            piped = list(nlp.pipe([text]))
            if len(piped) != 1:
                result["problems"].append(f"nlp.pipe returned {len(piped)} docs for 1 text")
            else:
                result["problems"] += [f"nlp.pipe: {p}" for p in check_doc(text, piped[0])]
                if doc_entities(piped[0]) != result["entities"]:
                    result["problems"].append("nlp.pipe([text]) and nlp(text) give different entities")
    return result


def check_multiprocess(
    nlp, cases: Dict[str, str], expected: Optional[Dict[str, Dict[str, List[Entity]]]] = None, n_process: int = 2
) -> Dict[str, Any]:
    """``nlp.pipe(all texts, n_process=1)`` vs ``n_process``; one call for all cases.

    ``expected``: entities per case from single-process runs (computed here if None).
    Returns ``{"ok", "seconds", "problems", "mismatched": [case names]}``.
    """
    names, texts = list(cases), list(cases.values())
    out: Dict[str, Any] = {"n_process": n_process, "cases": names, "problems": [], "mismatched": []}
    with recording(out):
        if expected is None:
            expected = {n: doc_entities(d) for n, d in zip(names, nlp.pipe(texts, n_process=1))}
        docs = list(nlp.pipe(texts, n_process=n_process, batch_size=2))
        if len(docs) != len(texts):
            out["problems"].append(f"n_process={n_process} returned {len(docs)} docs for {len(texts)} texts")
        for name, text, doc in zip(names, texts, docs):
            out["problems"] += [f"{name}: {p}" for p in check_doc(text, doc)]
            if doc_entities(doc) != expected[name]:
                out["mismatched"].append(name)
                out["problems"].append(f"{name}: n_process={n_process} entities differ from one process")
    return out


def check_chunked(
    nlp, cases: Dict[str, str], expected: Optional[Dict[str, Dict[str, List[Entity]]]] = None, max_chars: int = DEFAULT_MAX_CHARS
) -> Dict[str, Any]:
    """Every case through :func:`medner.annotate.long_text.pipe_chunked` (texts longer
    than ``max_chars`` cut, annotated in chunks and rejoined).

    Fails on an exception or a :func:`check_doc` problem of a rejoined doc.
    Entities that differ from ``expected`` (one-piece runs) are *reported*
    per case (``differences``: entities only in one of the two), not failed:
    a model may predict differently at a cut, and a hard cut (no whitespace in
    ``max_chars`` characters) may split an entity. Also the peak RSS.
    """
    names, texts = list(cases), list(cases.values())
    out: Dict[str, Any] = {"max_chars": max_chars, "problems": [], "differences": {}, "chunks": {}}
    with recording(out):
        with PeakRSS() as rss:
            docs = list(pipe_chunked(nlp, texts, max_chars=max_chars))
        out["peak_rss_mb"] = round(rss.peak_mb, 1)
        for name, text, doc in zip(names, texts, docs):
            out["chunks"][name] = len(split_text(text, max_chars))
            out["problems"] += [f"{name}: {p}" for p in check_doc(text, doc)]
            if expected is not None and name in expected:
                got, want = doc_entities(doc), expected[name]
                diff = sum(len(set(got.get(k, [])) ^ set(want.get(k, []))) for k in set(got) | set(want))
                if diff:
                    out["differences"][name] = diff
    return out


def run_battery(
    nlp,
    cases: Dict[str, str],
    *,
    multiprocess: bool = True,
    multiprocess_max_chars: int = 200_000,
    compare_pipe: bool = True,
    chunked_max_chars: int = 0,
) -> Dict[str, Any]:
    """Run every case, then the multiprocess check on the cases up to
    ``multiprocess_max_chars``, then (``chunked_max_chars > 0``) :func:`check_chunked`."""
    results = {name: run_case(nlp, name, text, compare_pipe=compare_pipe) for name, text in cases.items()}
    report: Dict[str, Any] = {"cases": results}
    if multiprocess:
        subset = {n: t for n, t in cases.items() if len(t) <= multiprocess_max_chars and results[n]["ok"]}
        expected = {n: results[n]["entities"] for n in subset}
        report["multiprocess"] = check_multiprocess(nlp, subset, expected)
    if chunked_max_chars > 0:
        expected = {n: r["entities"] for n, r in results.items() if r["ok"]}
        report["chunked"] = check_chunked(nlp, cases, expected, chunked_max_chars)
    report["ok"] = (
        all(r["ok"] for r in results.values())
        and report.get("multiprocess", {}).get("ok", True)
        and report.get("chunked", {}).get("ok", True)
    )
    return report


def failures(report: Dict[str, Any]) -> List[str]:
    """Readable list of everything that failed in a :func:`run_battery` report."""
    out = [f"{name}: {p}" for name, r in report["cases"].items() for p in r["problems"]]
    out += [f"multiprocess: {p}" for p in report.get("multiprocess", {}).get("problems", [])]
    out += [f"chunked: {p}" for p in report.get("chunked", {}).get("problems", [])]
    return out



# --------------------------------------------------------------------------- the report of `medner battery`
SAMPLE = 10


def summarise_case(result: Dict[str, Any]) -> Dict[str, Any]:
    """A case result for the report: entity counts and a sample instead of every entity."""
    out = {k: v for k, v in result.items() if k not in ("entities", "doc")}
    entities = result.get("entities") or {}
    out["entity_counts"] = {group: len(items) for group, items in entities.items()}
    out["entities_sample"] = {group: [list(e) for e in items[:SAMPLE]] for group, items in entities.items()}
    return out


def battery_for_pipeline(
    model: str, *, long_chars: int = LONG_DOC_CHARS, no_space_chars: int = NO_SPACE_CHARS,
    multiprocess: bool = True, chunked_max_chars: int = 0,
) -> Dict[str, Any]:
    """Load ``model`` (short name, package or directory; :mod:`medner.annotate.pipelines`) and run the
    battery on it; a pipeline that does not load is reported (``load_error``), not raised."""
    from ..annotate.pipelines import load

    entry: Dict[str, Any] = {"model": model}
    start = time.perf_counter()
    try:
        with PeakRSS() as rss:
            nlp = load(model)
    except ImportError:
        raise
    except Exception as err:  # noqa: BLE001 - reported, the other pipelines still run
        entry.update(ok=False, load_error=f"{type(err).__name__}: {err}")
        return entry
    entry["load_seconds"] = round(time.perf_counter() - start, 3)
    entry["load_rss_mb"] = round(rss.peak_mb, 1)
    entry["pipe_names"] = nlp.pipe_names
    entry["meta"] = {k: nlp.meta.get(k) for k in ("lang", "name", "version")}
    cases = battery_cases(long_chars=long_chars, no_space_chars=no_space_chars)
    if long_chars > nlp.max_length:
        nlp.max_length = long_chars
    report = run_battery(nlp, cases, multiprocess=multiprocess, chunked_max_chars=chunked_max_chars)
    entry["cases"] = {name: summarise_case(result) for name, result in report["cases"].items()}
    for key in ("multiprocess", "chunked"):
        if key in report:
            entry[key] = report[key]
    entry["failures"] = failures(report)
    entry["ok"] = report["ok"]
    return entry


def battery_report(entries: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The JSON report of ``medner battery``: one :func:`battery_for_pipeline` entry per pipeline."""
    import platform

    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "ok": all(e.get("ok") for e in entries),
        "pipelines": entries,
    }


def print_pipeline_result(entry: Dict[str, Any], msg) -> None:
    """One pipeline's battery result as tables (for people; the JSON is for programs)."""
    if "load_error" in entry:
        msg.fail(f"could not load {entry['model']}: {entry['load_error']}")
        return
    rows = [
        (name, "ok" if case["ok"] else "FAILED", case["chars"], case.get("seconds"), case.get("peak_rss_mb"),
         sum(case["entity_counts"].values()))
        for name, case in entry["cases"].items()
    ]
    msg.table(rows, header=("case", "result", "chars", "seconds", "peak RSS MB", "entities"), divider=True)
    if "multiprocess" in entry:
        mp = entry["multiprocess"]
        (msg.good if mp["ok"] else msg.fail)(f"n_process=2 over {len(mp['cases'])} cases: {'same' if mp['ok'] else mp['problems']}")
    if "chunked" in entry:
        ch = entry["chunked"]
        (msg.good if ch["ok"] else msg.fail)(
            f"pipe_chunked(max_chars={ch['max_chars']}): peak RSS {ch.get('peak_rss_mb')} MB, "
            f"entities differing from one piece: {ch['differences'] or 'none'}"
        )
    for problem in entry["failures"]:
        msg.fail(problem)
