"""Load test of `medner serve` (the work of scripts/benchmark_serve.py). Load test of `medner serve` on loopback, against `medner annotate` on the same texts, in one run.

1. ``medner annotate`` (subprocess, its ``--summary``) on the first ``--n-docs``
   texts of a DocBin: the offline words per second.
2. ``medner serve`` (subprocess, 127.0.0.1 only) with the same pipeline; after
   a warm-up, RSS of the server process.
3. Throughput (each of ``--rounds`` rounds): the same texts sent from ``--clients`` concurrent clients, once
   as one-document requests and once as requests of ``--request-docs``
   documents; words per second with the CLI's word count, and the entities
   must equal the CLI's records.
4. Latency (each round): single-sentence requests (sentences cut from the same texts) at
   each of ``--concurrency`` (1, 8, 32) clients, ``--requests`` per level:
   p50/p95/p99, requests per second, errors.
5. RSS after each round (no growth expected after the warm-up); the server is stopped with SIGTERM; ``medner annotate``
   runs again, and the service is compared with the mean of both CLI runs.

Bounded: a fixed number of requests, a timeout per request and
``--max-seconds`` for the whole load, then it stops by itself. Only
127.0.0.1 is contacted.

    python scripts/benchmark_serve.py --model training/release/clinical \
        --corpus corpus/maccrobat/test.spacy --n-docs 0 --output metrics/benchmark_serve.json
"""
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import typer

from medner.bench.timing import gold_texts, machine_info


HOST = "127.0.0.1"  # loopback only: never another address


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), MB."""
    total_kb = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return round(total_kb / 1024, 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the load generator) so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sentences_of(texts: List[str], n: int, min_chars: int = 40, max_chars: int = 300) -> List[str]:
    """``n`` sentences cut from ``texts`` (cycled if there are fewer)."""
    found = [s.strip() for t in texts for s in re.split(r"(?<=[.!?])\s+", t) if min_chars <= len(s.strip()) <= max_chars]
    if not found:
        raise ValueError("no sentences of 40-300 characters in the texts")
    return [found[i % len(found)] for i in range(n)]


def percentile(values: List[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(q / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


async def send_all(url: str, payloads: List[Dict[str, Any]], concurrency: int, timeout_s: float, deadline: float):
    """POST every payload with ``concurrency`` clients; ``(latencies_s, responses, errors, wall_s)``."""
    import httpx

    latencies: List[float] = []
    responses: List[Optional[Dict[str, Any]]] = [None] * len(payloads)
    errors: List[str] = []
    next_index = 0

    async def client_loop(client):
        nonlocal next_index
        while next_index < len(payloads) and time.monotonic() < deadline:
            i = next_index
            next_index += 1
            started = time.perf_counter()
            try:
                response = await client.post("/annotate", json=payloads[i])
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                body = response.json()
                if body["errors"]:
                    errors.append(f"document errors: {body['errors']}")
                responses[i] = body
            except httpx.HTTPError as e:
                errors.append(f"{type(e).__name__}: {e}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    missing = sum(1 for r in responses if r is None) - len(errors)
    if missing > 0:
        errors.append(f"{missing} request(s) not sent before --max-seconds")
    return latencies, responses, errors, wall


def wait_until_ready(url: str, process: subprocess.Popen, timeout_s: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"medner serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).json().get("status") == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"medner serve was not ready after {timeout_s} s")


def benchmark_serve(model: str, corpus: Path, n_docs: int, clients: int, request_docs: int, concurrency: str, requests: int, rounds: int, batch_size: int, timeout_s: float, max_seconds: float, output: Path):
    """Run the load test (steps 1-5 of the module doc) and write its JSON report to output."""
    from medner.annotate import read_records

    levels = [int(c) for c in concurrency.split(",") if c.strip()]
    texts = gold_texts(corpus, n_docs)
    deadline = time.monotonic() + max_seconds
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    result: Dict[str, Any] = {"model": model, "corpus": str(corpus), "documents": len(texts),
                              "characters": sum(len(t) for t in texts), "host": HOST}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = tmp / "texts.jsonl"
        source.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)), encoding="utf-8")

        def run_cli(name: str) -> Dict[str, Any]:
            """``medner annotate`` on the texts: its summary (annotate seconds exclude loading)."""
            subprocess.run([sys.executable, "-m", "medner", "annotate", str(source), str(tmp / f"{name}.jsonl"), "--model", model,
                            "--batch-size", str(batch_size), "--summary", str(tmp / f"{name}.summary.json"), "--no-progress",
                            "--restart"], check=True, stdout=subprocess.DEVNULL)
            summary = json.loads((tmp / f"{name}.summary.json").read_text())
            typer.echo(f"medner annotate ({name}): {summary['words_per_second']} words/s ({summary['words']} words, {summary['seconds']} s)")
            return summary

        # 1. the offline CLI, before the service (and again after it, since other work on the machine varies)
        summary = run_cli("cli_before")
        cli_records = {r["id"]: r["entities"] for r in read_records(tmp / "cli_before.jsonl")}
        words = summary["words"]
        result["words"] = words
        result["cli"] = {"batch_size": batch_size, "before": {"annotate_seconds": summary["seconds"], "words_per_second": summary["words_per_second"]}}
        # CPU seconds of the same annotate code in this process: a figure that other work on the machine moves
        # much less than wall-clock words per second (compared with the service's CPU seconds per run)
        from medner.annotate import AnnotateOptions, annotate_file, load_pipeline

        nlp = load_pipeline(model)
        list(nlp.pipe(texts[:5]))  # warm-up (lazy loading in components), as the service gets before it is measured
        cpu_started = time.process_time()
        annotate_file(source, tmp / "in_process.jsonl", nlp, AnnotateOptions(batch_size=batch_size, progress=False))
        cli_cpu = time.process_time() - cpu_started
        del nlp
        result["cli"]["annotate_cpu_seconds_in_process"] = round(cli_cpu, 2)
        result["cli"]["words_per_cpu_second"] = round(words / cli_cpu, 1)

        # 2. the service
        port = free_port()
        url = f"http://{HOST}:{port}"
        log_path = tmp / "serve.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "medner", "serve", "--model", model, "--host", HOST, "--port", str(port),
                 "--batch-docs", str(batch_size), "--max-texts", str(max(request_docs, 1)), "--request-timeout", str(timeout_s)],
                stdout=log, stderr=subprocess.STDOUT,
            )
            try:
                started = time.perf_counter()
                wait_until_ready(url, process)
                result["serve_start_seconds"] = round(time.perf_counter() - started, 2)
                rss = {"after_start": rss_mb(process.pid)}
                single = [{"documents": [{"id": i, "text": t}]} for i, t in enumerate(texts)]
                batched = [{"documents": [{"id": i, "text": texts[i]} for i in range(s, min(s + request_docs, len(texts)))]}
                           for s in range(0, len(texts), request_docs)]
                # warm-up, untimed: one pass of each throughput run and some sentences, so the
                # allocator has seen the largest batches before "before" is measured
                for warmup in (single, batched, [{"text": s} for s in sentences_of(texts, 100)]):
                    asyncio.run(send_all(url, warmup, clients, timeout_s, deadline))
                rss["after_warmup"] = rss_mb(process.pid)
                cpu_before = cpu_seconds(process.pid)

                # 3. and 4., ``rounds`` times: RSS after each round shows whether memory keeps growing
                result["rounds"] = []
                for round_number in range(1, rounds + 1):
                    runs = {}
                    for name, payloads in (("one_document_per_request", single), (f"{request_docs}_documents_per_request", batched)):
                        server_cpu, client_cpu = cpu_seconds(process.pid), own_cpu_seconds()
                        latencies, responses, errors, wall = asyncio.run(send_all(url, payloads, clients, timeout_s, deadline))
                        served = {d["id"]: d["entities"] for r in responses if r for d in r["documents"] if "entities" in d}
                        runs[name] = {
                            "clients": clients,
                            "requests": len(payloads),
                            "wall_seconds": round(wall, 3),
                            "words_per_second": round(words / wall, 1),
                            "errors": len(errors),
                            "error_examples": errors[:3],
                            "same_entities_as_cli": served == cli_records,
                            "server_cpu_seconds": round(cpu_seconds(process.pid) - server_cpu, 2),
                            "client_cpu_seconds": round(own_cpu_seconds() - client_cpu, 2),
                        }
                        typer.echo(f"round {round_number}, serve {name}: {runs[name]['words_per_second']} words/s, {len(errors)} errors")
                    latency = {}
                    for level in levels:
                        payloads = [{"text": s} for s in sentences_of(texts, requests)]
                        server_cpu, client_cpu = cpu_seconds(process.pid), own_cpu_seconds()
                        latencies, responses, errors, wall = asyncio.run(send_all(url, payloads, level, timeout_s, deadline))
                        ms = [x * 1000 for x in latencies]
                        latency[str(level)] = {
                            "requests": len(payloads),
                            "completed": len(latencies),
                            "errors": len(errors),
                            "error_examples": errors[:3],
                            "p50_ms": round(percentile(ms, 50), 2) if ms else None,
                            "p95_ms": round(percentile(ms, 95), 2) if ms else None,
                            "p99_ms": round(percentile(ms, 99), 2) if ms else None,
                            "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
                            "requests_per_second": round(len(latencies) / wall, 1),
                            "server_cpu_seconds": round(cpu_seconds(process.pid) - server_cpu, 2),
                            "client_cpu_seconds": round(own_cpu_seconds() - client_cpu, 2),
                        }
                        typer.echo(f"round {round_number}, latency at {level} clients: p50 {latency[str(level)]['p50_ms']} ms, "
                                   f"p99 {latency[str(level)]['p99_ms']} ms, {len(errors)} errors")
                    rss[f"after_round_{round_number}"] = rss_mb(process.pid)
                    result["rounds"].append({"round": round_number, "throughput": runs, "latency_single_sentence": latency,
                                             "rss_mb_after": rss[f"after_round_{round_number}"]})
                last = f"after_round_{rounds}"
                rss["growth_mb"] = round(rss[last] - rss["after_warmup"], 1)
                rss["growth_percent"] = round(100 * rss["growth_mb"] / rss["after_warmup"], 2)
                if rounds > 1:
                    rss["growth_in_last_round_mb"] = round(rss[last] - rss[f"after_round_{rounds - 1}"], 1)
                result["server_rss_mb"] = rss
                result["server_cpu_seconds_during_load"] = round(cpu_seconds(process.pid) - cpu_before, 2)
                import httpx

                result["server_health"] = httpx.get(f"{url}/health", timeout=5).json()
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    result["server_exit_code"] = process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    result["server_exit_code"] = "killed after 60 s"
        log_lines = log_path.read_text().splitlines()
        after = run_cli("cli_after")
        result["cli"]["after"] = {"annotate_seconds": after["seconds"], "words_per_second": after["words_per_second"]}
        cli_wps = round((summary["words_per_second"] + after["words_per_second"]) / 2, 1)
        result["cli"]["words_per_second"] = cli_wps
        for round_result in result["rounds"]:
            for run in round_result["throughput"].values():
                run["vs_cli"] = round(run["words_per_second"] / cli_wps, 3)
                run["words_per_server_cpu_second"] = round(words / run["server_cpu_seconds"], 1) if run["server_cpu_seconds"] else None
                run["cpu_vs_cli"] = (round(run["words_per_server_cpu_second"] / result["cli"]["words_per_cpu_second"], 3)
                                     if run["words_per_server_cpu_second"] else None)
    result["access_log_lines"] = sum(1 for line in log_lines if line.startswith('{"ts"'))
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit code is -15; the
    # "stopped" event is written after the in-flight requests finished and the batchers drained
    result["server_stopped_gracefully"] = any(line.startswith('{"event": "stopped"') for line in log_lines)
    result["total_errors"] = sum(run["errors"] for r in result["rounds"] for part in ("throughput", "latency_single_sentence")
                                 for run in r[part].values())
    result["total_requests"] = sum(run["requests"] for r in result["rounds"] for part in ("throughput", "latency_single_sentence")
                                   for run in r[part].values())
    result["note"] = ("client and server share the machine's CPUs (the load generator runs in this process); "
                      "words are the CLI summary's count (non-space tokens); vs_cli = service words/s / the mean of medner annotate's "
                      "words/s before and after the service runs (annotate seconds, model load excluded on both sides); "
                      "server_cpu_seconds / client_cpu_seconds: CPU used by the service process and by the load generator in each run; "
                      "cpu_vs_cli = words per CPU second of the service process / of the same annotate code run in-process "
                      "(less sensitive to other load than words per second)")
    result["machine"] = machine_info(("spacy", "medner", "fastapi", "uvicorn", "httpx"))
    result["loadavg_before_after"] = [loadavg_before, [round(x, 2) for x in os.getloadavg()]]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"wrote {output}")
    if result["total_errors"]:
        raise typer.Exit(1)
