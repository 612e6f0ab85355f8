// citeqa page. Corpus and question text is only ever inserted as text (textContent /
// text nodes), never as HTML, so nothing a document or a question contains can run.
"use strict";

const TIMEOUT_MS = Number(
  document.querySelector('meta[name="citeqa-timeout-ms"]')?.content) || 15000;
const RECENT_KEY = "citeqa.recent";
// What each label means, from the server's one lexicon; raw labels if it cannot be read.
let LABELS = {};
const labelsLoaded = fetch("/labels")
  .then((r) => (r.ok ? r.json() : {}))
  .then((labels) => { LABELS = labels; })
  .catch(() => {});

const $ = (id) => document.getElementById(id);

// el("a", {href: "/x", className: "y"}, "text", childNode) -- children become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function readUrl(passageId) {
  const cut = passageId.lastIndexOf("#");
  const doc = passageId.slice(0, cut);
  const n = passageId.slice(cut + 1);
  return "/read/" + doc.split("/").map(encodeURIComponent).join("/") + "#p" + n;
}

function labelClass(label) {
  return "ent-" + String(label).replace(/[^A-Z_]/g, "");
}

// The API's offsets count code points (Python string indexes); JavaScript strings count
// UTF-16 units, two for an emoji or any other character outside the BMP. Cut text by this.
function codePoints(text) {
  const chars = Array.from(text);
  return {length: chars.length, slice: (start, end) => chars.slice(start, end).join("")};
}

// Text of [start, end) in document coordinates, with spans marked. Each span:
// {start, end, kind: "entity" | "answer" | "term", label?}.
function marked(text, base, spans) {
  const chars = codePoints(text);
  const end = base + chars.length;
  const cuts = new Set([base, end]);
  for (const s of spans) {
    if (s.end <= base || s.start >= end) continue;
    cuts.add(Math.max(s.start, base));
    cuts.add(Math.min(s.end, end));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out = document.createDocumentFragment();
  for (let i = 0; i < points.length - 1; i++) {
    const a = points[i];
    const b = points[i + 1];
    let node = document.createTextNode(chars.slice(a - base, b - base));
    const covering = spans.filter((s) => s.start <= a && s.end >= b);
    if (covering.some((s) => s.kind === "term")) node = el("span", {className: "term"}, node);
    const entity = covering.find((s) => s.kind === "entity");
    if (entity) {
      const mark = el("mark", {className: "ent " + labelClass(entity.label)}, node);
      if (entity.end === b) {
        mark.append(el("span", {className: "ent-label"}, " ", entity.label));
      }
      node = mark;
    }
    if (covering.some((s) => s.kind === "answer")) {
      node = el("strong", {className: "answer-hl"}, node);
    }
    out.append(node);
  }
  return out;
}

function setStatus(message, kind) {
  const status = $("status");
  status.textContent = message;
  status.className = "status" + (kind ? " " + kind : "");
}

// ---------------------------------------------------------------- recent questions
function recent() {
  try {
    return JSON.parse(sessionStorage.getItem(RECENT_KEY) || "[]");
  } catch {
    return [];
  }
}

function remember(question) {
  const list = [question, ...recent().filter((q) => q !== question)].slice(0, 8);
  try {
    sessionStorage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // Storage may be disabled; recent questions are a convenience only.
  }
  showRecent();
}

function showRecent() {
  const list = recent();
  $("recent").hidden = list.length === 0;
  $("recent-list").replaceChildren(...list.map((q) =>
    el("li", {}, el("button", {type: "button", className: "linklike", onclick: () => go(q)}, q))));
}

// ---------------------------------------------------------------- asking
let inFlight = null;

function go(question) {
  $("q").value = question;
  const url = "/?q=" + encodeURIComponent(question);
  if (location.pathname + location.search !== url) history.pushState({q: question}, "", url);
  ask(question);
}

// The newest question wins: asking again aborts the question in flight. The button only
// looks busy, since a disabled submit button would also block asking with Enter.
async function ask(question) {
  if (inFlight) inFlight.abort();
  const controller = new AbortController();
  inFlight = controller;
  const timer = setTimeout(() => controller.abort("timeout"), TIMEOUT_MS);
  $("results").setAttribute("aria-busy", "true");
  $("ask-button").classList.add("busy");
  setStatus("Searching the documents…", "loading");
  try {
    const response = await fetch("/ask", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({question, k: 5}),
      signal: controller.signal,
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
      throw new Error(message);
    }
    await labelsLoaded;
    if (inFlight !== controller) return;  // answered after a newer question was asked
    remember(question);
    render(data);
  } catch (error) {
    if (controller.signal.aborted && controller.signal.reason !== "timeout") return;
    $("results").hidden = true;
    if (controller.signal.reason === "timeout") {
      setStatus(`The server did not answer within ${TIMEOUT_MS / 1000} seconds. ` +
                "Please try again.", "error");
    } else if (error instanceof TypeError) {
      setStatus("Could not reach the citeqa server. Check that it is running, then try again.",
                "error");
    } else {
      setStatus("The question could not be answered: " + error.message, "error");
    }
  } finally {
    clearTimeout(timer);
    if (inFlight === controller) {
      inFlight = null;
      $("results").removeAttribute("aria-busy");
      $("ask-button").classList.remove("busy");
    }
  }
}

// Back to the page without a question: nothing of the last answer stays, not even its
// status line (screen readers would still announce it), and a question in flight stops.
function clearAnswer() {
  if (inFlight) inFlight.abort();
  inFlight = null;
  $("results").hidden = true;
  $("results").removeAttribute("aria-busy");
  $("ask-button").classList.remove("busy");
  setStatus("", "");
}

let explained = null;  // the question whose trace is shown

function render(data) {
  const passages = data.passages || [];
  const details = $("explain");
  details.open = false;
  details.querySelector("summary").textContent = data.answer
    ? "How was this answer chosen?" : "Why is there no answer?";
  $("explain-body").replaceChildren();
  explained = data.question;
  renderAnswer(data, passages);
  renderPassages(data, passages);
  renderFacts(data.facts || [], passages);
  $("results").hidden = false;
  const count = `${passages.length} supporting passage${passages.length === 1 ? "" : "s"}`;
  if (data.answer) {
    setStatus(`Answer: ${data.answer.text}. ${count} below.`);
  } else if (passages.length) {
    setStatus(`No answer: the documents do not cover this question. ${count} shown for browsing.`);
  } else {
    setStatus("No answer: the documents do not cover this question.");
  }
}

function renderAnswer(data, passages) {
  const body = $("answer-body");
  const a = data.answer;
  if (!a) {
    body.replaceChildren(
      el("p", {className: "refusal"}, "The documents do not cover this question."),
      data.no_answer_reason ? el("p", {className: "reason"}, "Why: ", data.no_answer_reason) : null,
      passages.length ? el("p", {className: "hint"},
        "The closest passages are listed below, marked as weak matches.") : null);
    $("answer").classList.add("refused");
    return;
  }
  $("answer").classList.remove("refused");
  const confidence = Math.round(a.confidence * 100);
  body.replaceChildren(
    el("p", {className: "answer-text" + (a.text.length > 60 ? " long" : "")}, a.text),
    el("p", {className: "answer-meta"},
      el("span", {className: "badge " + labelClass(a.label)}, LABELS[a.label] || a.label),
      ` · confidence ${confidence}% · `,
      el("a", {href: readUrl(a.passage_id), className: "cite"}, "source: ", a.passage_id)),
    el("blockquote", {className: "answer-sentence"},
      marked(a.sentence, a.sentence_start, [{start: a.start, end: a.end, kind: "answer"}])));
}

function renderPassages(data, passages) {
  const a = data.answer;
  const labels = new Set();
  const items = passages.map((p) => {
    const spans = [
      ...p.entities.map((e) => ({...e, kind: "entity"})),
      ...(p.matches || []).map(([start, end]) => ({start, end, kind: "term"})),
    ];
    p.entities.forEach((e) => labels.add(e.label));
    if (a && a.passage_id === p.id) spans.push({start: a.start, end: a.end, kind: "answer"});
    const weak = !a;
    return el("li", {id: "passage-" + p.id, className: "passage" + (weak ? " weak" : ""),
                     tabindex: "-1"},
      el("div", {className: "passage-head"},
        el("span", {className: "rank", "aria-label": `Rank ${p.rank}`}, String(p.rank)),
        el("span", {className: "doc-title"}, p.title),
        p.date ? el("span", {className: "meta"}, p.date) : null,
        weak ? el("span", {className: "weak-label"}, "weak match") : null),
      el("p", {className: "passage-text"}, marked(p.text, p.start, spans)),
      el("p", {className: "passage-foot"},
        el("a", {href: readUrl(p.id), className: "cite"}, "Read in source: ", p.id),
        el("span", {className: "meta"}, ` · characters ${p.start}–${p.end} · score ${p.score.toFixed(2)}`)));
  });
  $("passage-list").replaceChildren(...items);
  $("legend").replaceChildren(...[...labels].sort().map((label) =>
    el("span", {className: "legend-item"},
      el("mark", {className: "ent " + labelClass(label)}, label), " ", LABELS[label] || label)));
  $("legend").hidden = labels.size === 0;
}

function renderFacts(facts, passages) {
  const shown = new Set(passages.map((p) => p.id));
  if (!facts.length) {
    $("fact-list").replaceChildren(el("p", {className: "hint"}, "No entities to describe."));
    return;
  }
  $("fact-list").replaceChildren(...facts.map((f) => {
    const link = (passageId) => {
      const label = "passage " + passageId.split("#").pop();
      const full = "cited in passage " + passageId;
      return shown.has(passageId)
        ? el("a", {href: "#passage-" + passageId, className: "cite", "aria-label": full,
                   onclick: (event) => jumpToPassage(event, passageId)}, label)
        : el("a", {href: readUrl(passageId), className: "cite", "aria-label": full}, label);
    };
    return el("section", {className: "fact", "aria-label": f.entity},
      el("h3", {}, f.entity, " ",
        el("span", {className: "badge " + labelClass(f.label)}, LABELS[f.label] || f.label)),
      f.aliases.length > 1 ? el("p", {className: "meta"}, "Also written: ",
        f.aliases.filter((x) => x !== f.entity).join(", ")) : null,
      f.roles.length ? el("ul", {className: "roles"}, f.roles.map((r) =>
        el("li", {}, r.role, r.affiliation ? ` (${r.affiliation})` : "", " · ",
          link(r.passage_id)))) : null,
      f.values.length ? el("ul", {className: "values"}, f.values.map((v) => {
        const normal = normalizedText(v.normalized);
        const value = el("span", {},
          el("span", {className: "badge " + labelClass(v.label)}, v.text),
          normal && normal !== v.text
            ? el("span", {className: "norm", title: "normalized value"}, " = " + normal) : null);
        return el("li", {}, ...statement(v, value), " · ", link(v.passage_id));
      })) : null,
      el("p", {className: "meta"}, `${f.mentions} mention${f.mentions === 1 ? "" : "s"}`));
  }));
}

// Subject, relation and value in the order the sentence has them ("the tenge in
// Kazakhstan has fallen by 14%", "83 million euros of free aid to Ukraine"); a part
// inside another is said once.
function statement(v, value) {
  const inside = (a, b) => a.start >= b.start && a.end <= b.end;
  const parts = [{start: v.start, end: v.end, node: value}];
  if (!inside(v.subject, v.relation)) parts.push({...v.subject, node: null});
  if (!inside(v.relation, v.subject)) parts.push({...v.relation, node: null});
  parts.sort((a, b) => a.start - b.start);
  const out = [];
  parts.forEach((part, i) => {
    if (i) out.push(" ");
    out.push(part.node || el("span", {className: "relation"}, part.text));
  });
  return out;
}

// A value's normal form as a reader writes it: an ISO date, "83,000,000 EUR", "14%".
function normalizedText(n) {
  if (!n) return "";
  if (n.date) return n.date;
  if (n.amount === undefined || n.amount === null) return "";
  const amount = n.amount.toLocaleString("en", {maximumFractionDigits: 3});
  if (n.kind === "percent") return amount + "%";
  return n.unit ? `${amount} ${n.unit}` : amount;
}

async function showExplanation() {
  const body = $("explain-body");
  if (!$("explain").open || body.dataset.question === explained) return;
  body.dataset.question = explained;
  body.replaceChildren(el("p", {className: "hint"}, "Loading the explanation…"));
  try {
    const response = await fetch("/ask", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({question: explained, k: 5, explain: true}),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error ? data.error.message : `HTTP ${response.status}`);
    body.replaceChildren(...explanation(data.explain));
  } catch (error) {
    delete body.dataset.question;
    body.replaceChildren(el("p", {className: "status error"},
      "The explanation could not be loaded: " + error.message));
  }
}

function explanation(trace) {
  const q = trace.question;
  const expected = q.expected.length ? q.expected.join(", ") : "no entity type";
  const pct = (x) => Math.round(x * 100) + "%";
  // The trained ranker reports its strongest features; the hand-set rules their weights.
  const features = trace.ranker ? [] : Object.keys(trace.weights);
  const signed = (x) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(2);
  const reading = trace.reading;
  return [
    el("p", {}, el("strong", {}, "Decision: "), trace.decision),
    el("ul", {className: "explain-facts"},
      el("li", {}, `Question: “${q.wh || "no wh-word"}”`, q.head ? `, about a ${q.head}` : "",
        `; expects ${expected} (${q.answer_kind}).`),
      el("li", {}, "Searched for: ", trace.terms.join(", ") || "nothing",
        ...Object.entries(trace.expansions).map(([term, targets]) =>
          ` · “${term}” also as ${targets.map(([t, w]) => `“${t}” (${w})`).join(", ")}`)),
      chooser(trace, pct),
      ...Object.entries(trace.contributions || {}).map(([text, parts]) =>
        el("li", {}, `The ranker's strongest features for “${text}”: `,
          parts.map(([name, value]) => `${name} ${signed(value)}`).join(", "), "."))),
    reading && reading.spans.length ? scoreTable("spans",
      "The neural reader's best spans, by score (its logit plus the ranker's opinion of " +
        "the same words)",
      ["Span", "Score", "Reader logit", "Reader probability", "Ranker probability"],
      reading.spans,
      (s) => [s.score.toFixed(2), s.logit.toFixed(2), pct(s.reader_p), pct(s.ranker_p)]) : null,
    trace.candidates.length ? scoreTable("candidates",
      trace.ranker
        ? `The trained ranker's candidates (${trace.ranker.version}), by its score`
        : "Candidates, by the hand-set rules' score (feature weights: " +
          features.map((f) => `${f} ×${trace.weights[f]}`).join(", ") + ")",
      ["Candidate", "Type", "Score", ...features], trace.candidates,
      (c) => [c.label, c.score.toFixed(2),
              ...features.map((f) => (c.features[f] ?? 0).toFixed(2))]) : null,
  ];
}

// Which model chose: the neural reader when it read (the ranker picks what it reads),
// else the trained ranker, else the hand-set rules and their coverage thresholds.
function chooser(trace, pct) {
  const covered = `The best passages cover ${pct(trace.coverage)} of the question.`;
  const refuses = `the service refuses below ${pct(trace.min_confidence)} confidence`;
  if (!trace.ranker) {
    return el("li", {}, `The best passages cover ${pct(trace.coverage)} of the question `,
      `(at least ${pct(trace.min_coverage)} needed); the answer's sentence `,
      `${pct(trace.answer_coverage)} (at least ${pct(trace.min_answer_coverage)}).`);
  }
  if (!trace.reader) {
    return el("li", {}, `Answer chosen by the trained ranker (${trace.ranker.version}); `,
      `${refuses}. `, covered);
  }
  const reads = `the neural reader (${trace.reader.version}), from the sentences the trained ` +
    `ranker (${trace.ranker.version}) rates best`;
  return trace.reading
    ? el("li", {}, `Answer chosen by ${reads}; ${refuses} `,
      `(the best span's: ${pct(trace.reading.confidence)}). `, covered)
    : el("li", {}, `Answers are chosen by ${reads}; here it had none to choose from. `,
      covered);
}

// A table of scored rows, best first whatever order the trace gives them in.
function scoreTable(className, caption, columns, rows, cells) {
  return el("table", {className: "scores " + className},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", {scope: "col"}, c)))),
    el("tbody", {}, [...rows].sort((a, b) => b.score - a.score).map((row) =>
      el("tr", {}, el("th", {scope: "row"}, row.text), cells(row).map((c) => el("td", {}, c))))));
}

function jumpToPassage(event, passageId) {
  const target = document.getElementById("passage-" + passageId);
  if (!target) return;
  event.preventDefault();
  document.querySelectorAll(".passage.flash").forEach((n) => n.classList.remove("flash"));
  target.classList.add("flash");
  target.scrollIntoView({block: "center"});
  target.focus({preventScroll: true});
}

function startAskView() {
  $("ask-view").hidden = false;
  const input = $("q");
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) {
      setStatus("Type a question first.", "error");
      input.focus();
      return;
    }
    go(question);
  });
  $("explain").addEventListener("toggle", showExplanation);
  document.querySelectorAll(".example").forEach((button) =>
    button.addEventListener("click", () => go(button.textContent.trim())));
  window.addEventListener("popstate", () => {
    const q = new URLSearchParams(location.search).get("q") || "";
    input.value = q;
    if (q) ask(q);
    else clearAnswer();
  });
  showRecent();
  const q = new URLSearchParams(location.search).get("q");
  if (q) {
    input.value = q;
    ask(q);
  }
  input.focus();
}

// ---------------------------------------------------------------- reading a document
async function startReadView() {
  $("ask-view").hidden = true;
  $("read-view").hidden = false;
  const status = $("read-status");
  status.textContent = "Loading the document…";
  try {
    const docId = location.pathname.slice("/read/".length).split("/")
      .map(decodeURIComponent).join("/");  // throws on a malformed %-escape
    const response = await fetch("/documents/" + docId.split("/").map(encodeURIComponent).join("/"));
    const doc = await response.json();
    if (!response.ok) throw new Error(doc.error ? doc.error.message : `HTTP ${response.status}`);
    const text = codePoints(doc.text);
    document.title = doc.title + " — citeqa";
    $("doc-title").textContent = doc.title;
    const meta = [doc.metadata.date, doc.metadata.source, doc.path].filter(Boolean).join(" · ");
    $("doc-meta").textContent = meta;
    $("doc-body").replaceChildren(...doc.passages.map((p) =>
      el("section", {id: "p" + p.n, className: "doc-passage", tabindex: "-1",
                     "aria-label": `Passage ${p.n}`},
        el("p", {}, text.slice(p.start, p.end)),
        el("p", {className: "meta"}, doc.id + "#" + p.n))));
    status.textContent = "";
    highlightTarget();
    window.addEventListener("hashchange", highlightTarget);
  } catch (error) {
    status.textContent = "This document could not be opened: " + (error instanceof URIError
      ? "its address is not a valid link (a broken %-escape)" : error.message);
    status.className = "status error";
  }
}

function highlightTarget() {
  document.querySelectorAll(".doc-passage.target").forEach((n) => {
    n.classList.remove("target");
    n.removeAttribute("aria-current");
  });
  const target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  const status = $("read-status");
  if (!target) {
    const count = $("doc-body").children.length;
    status.textContent = /^#p\d+$/.test(location.hash)
      ? `This document has no passage ${location.hash.slice(2)}: it has ${count} ` +
        `passage${count === 1 ? "" : "s"}, shown below from the start.`
      : "";
    return;
  }
  target.classList.add("target");
  target.setAttribute("aria-current", "location");
  target.scrollIntoView({block: "center"});
  target.focus({preventScroll: true});
  status.textContent = "Showing the cited passage, highlighted.";
}

document.addEventListener("DOMContentLoaded", () => {
  if (location.pathname.startsWith("/read/")) startReadView();
  else startAskView();
});
