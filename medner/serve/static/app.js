// The medner page: POST the text to ./annotate with the checked labels, show
// displaCy's view, a table of the entities, and the JSON to download. The label
// toggles start with the pipeline's page_labels checked (the service's --labels,
// else the mission's main types it has); each other label is one click away.
"use strict";

const $ = (id) => document.getElementById(id);
let info = null;        // GET ./info
let lastResponse = null; // the last /annotate response (downloaded as is)
let documentId = "pasted-text";

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function currentPipeline() {
  const name = $("pipeline").value;
  return info.pipelines.find((p) => p.name === name) || info.pipelines[0];
}

function showPipelineMeta() {
  const p = currentPipeline();
  let f = "";
  if (p.release_test && typeof p.release_test.f1 === "number") {
    const f1 = p.release_test.f1 <= 1 ? 100 * p.release_test.f1 : p.release_test.f1;
    f = ` · test F1 ${f1.toFixed(1)} (${p.release_test.dataset})`;
  } else if (p.scores && typeof p.scores.ents_f === "number") {
    f = ` · dev F1 ${(100 * p.scores.ents_f).toFixed(1)}`;
  }
  $("pipeline-meta").textContent = `${p.package} ${p.version || ""} · ${p.labels.length} labels${f}`;
  buildToggles(p);
}

function buildToggles(p) {
  const checked = new Set(p.page_labels || p.labels);
  const toggles = p.labels.map((label) => {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = label;
    box.checked = checked.has(label);
    box.addEventListener("change", onToggle);
    const count = document.createElement("span");
    count.className = "n";
    const wrapper = document.createElement("label");
    wrapper.dataset.label = label;
    wrapper.className = box.checked ? "" : "off";
    wrapper.append(box, swatch(label, p.colors), count);
    return wrapper;
  });
  const fieldset = $("label-toggles");
  fieldset.replaceChildren(fieldset.querySelector("legend"), ...toggles);
}

function checkedLabels() {
  return [...document.querySelectorAll("#label-toggles input:checked")].map((box) => box.value);
}

function onToggle(event) {
  event.target.parentElement.className = event.target.checked ? "" : "off";
  if (lastResponse) annotate();  // show the new choice on the text already annotated
}

function checkAll() {
  for (const box of document.querySelectorAll("#label-toggles input")) {
    box.checked = true;
    box.parentElement.className = "";
  }
  if (lastResponse) annotate();
}

function showCounts(entities, filteredOut) {
  const counts = { ...(filteredOut || {}) };
  for (const e of entities) counts[e.label] = (counts[e.label] || 0) + 1;
  for (const wrapper of document.querySelectorAll("#label-toggles label")) {
    const n = counts[wrapper.dataset.label];
    wrapper.querySelector(".n").textContent = n ? `(${n})` : "";
  }
}

async function loadInfo() {
  const response = await fetch("./info");
  info = await response.json();
  const select = $("pipeline");
  for (const p of info.pipelines) {
    const option = document.createElement("option");
    option.value = p.name;
    option.textContent = p.name;
    select.appendChild(option);
  }
  select.value = info.default;
  select.disabled = info.pipelines.length < 2;
  showPipelineMeta();
}

function swatch(label, colors) {
  const span = document.createElement("span");
  span.className = "swatch";
  span.textContent = label;
  span.style.background = colors[label] || "#ddd";
  return span;
}

function renderTable(entities, colors) {
  const hasId = entities.some((e) => e.kb_id !== undefined && e.kb_id !== null);
  const hasAssertion = entities.some((e) => e.assertion !== undefined && e.assertion !== null);
  const hasScore = entities.some((e) => e.score !== undefined && e.score !== null);
  const columns = ["Label", "Text", "Start", "End"];
  if (hasScore) columns.push("Score");
  if (hasId) columns.push("ID");
  if (hasAssertion) columns.push("Assertion");
  const head = document.querySelector("#entities thead tr");
  head.replaceChildren(...columns.map((c) => {
    const th = document.createElement("th");
    th.textContent = c;
    if (c === "Start" || c === "End" || c === "Score") th.className = "num";
    return th;
  }));
  const body = document.querySelector("#entities tbody");
  const rows = entities.map((e) => {
    const tr = document.createElement("tr");
    tr.dataset.label = e.label;
    const cells = [swatch(e.label, colors), e.text, e.start, e.end];
    if (hasScore) cells.push(e.score === null || e.score === undefined ? "" : e.score.toFixed(3));
    if (hasId) cells.push(e.kb_id ?? "");
    if (hasAssertion) cells.push(e.assertion ?? "");
    cells.forEach((value, i) => {
      const td = document.createElement("td");
      if (value instanceof Node) td.appendChild(value); else td.textContent = String(value);
      if (i >= 2 && i <= (hasScore ? 4 : 3)) td.className = "num";
      tr.appendChild(td);
    });
    return tr;
  });
  body.replaceChildren(...rows);
  const labels = [...new Set(entities.map((e) => e.label))].sort();
  $("legend").replaceChildren(...labels.map((l) => swatch(l, colors)));
  $("count").textContent = `${rows.length} entit${rows.length === 1 ? "y" : "ies"}`;
}

// Pairs found by medner_relations: head and tail as entity text (and concept id), hidden without the component.
function renderRelations(text, relations) {
  $("relations-section").hidden = relations === undefined;
  const side = (span, id) => text.slice(span[0], span[1]) + (id ? ` (${id})` : "");
  const rows = (relations || []).map((r) => {
    const tr = document.createElement("tr");
    const score = r.score === null || r.score === undefined ? "" : r.score.toFixed(3);
    [side(r.head, r.head_id), r.label, side(r.tail, r.tail_id), score].forEach((value, i) => {
      const td = document.createElement("td");
      td.textContent = value;
      if (i === 3) td.className = "num";
      tr.appendChild(td);
    });
    return tr;
  });
  document.querySelector("#relations tbody").replaceChildren(...rows);
}

async function annotate() {
  const text = $("text").value;
  const pipeline = currentPipeline();
  const checked = checkedLabels();
  if (checked.length === 0) {
    setStatus("Check at least one label", true);
    return;
  }
  const labels = checked.length === pipeline.labels.length ? [] : checked;  // []: every label
  $("annotate").disabled = true;
  setStatus("Annotating…");
  try {
    const response = await fetch("./annotate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ documents: [{ id: documentId, text }], pipeline: pipeline.name, html: true, labels }),
    });
    const payload = await response.json();
    if (!response.ok) {
      setStatus(`${response.status}: ${payload.message || JSON.stringify(payload)}`, true);
      return;
    }
    const doc = payload.documents[0];
    if (doc.error) {
      setStatus(`${doc.error.reason}: ${doc.error.detail}`, true);
      return;
    }
    lastResponse = payload;
    $("view").innerHTML = doc.html;  // displaCy markup made by the service (text escaped there)
    renderTable(doc.entities, pipeline.colors);
    showCounts(doc.entities, doc.filtered_out);
    renderRelations(text, doc.relations);
    $("output").hidden = false;
    const hidden = Object.values(doc.filtered_out || {}).reduce((a, b) => a + b, 0);
    setStatus(`${doc.entities.length} entities found by ${payload.pipeline}` +
              (hidden ? ` (${hidden} more of unchecked labels)` : ""));
  } catch (err) {
    setStatus(`Request failed: ${err}`, true);
  } finally {
    $("annotate").disabled = false;
  }
}

function download() {
  if (!lastResponse) return;
  const blob = new Blob([JSON.stringify(lastResponse, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "medner-annotations.json";
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}

$("file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  $("text").value = await file.text();
  documentId = file.name;
  setStatus(`Opened ${file.name}`);
});
$("text").addEventListener("input", () => { documentId = "pasted-text"; });
$("annotate").addEventListener("click", annotate);
$("pipeline").addEventListener("change", showPipelineMeta);
$("all-labels").addEventListener("click", checkAll);
$("download").addEventListener("click", download);
loadInfo().catch((err) => setStatus(`Could not load /info: ${err}`, true));
