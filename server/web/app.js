// Tessera's web page: one async job per dropped file, followed with long polls, then each page
// drawn with its blocks and words over it beside its Markdown. It speaks only the public API,
// with the key its user gives it, kept in this tab's sessionStorage.

import { render as renderMarkdown } from "./markdown.js";

const KEY_STORAGE = "tessera.api_key";
const POLL_WAIT_S = 2; // a long poll answers at once when the job ends; meanwhile, progress
const LOW_CONFIDENCE = 60; // percent: words read less surely than this are marked
const MAX_RETRIES = 6;
const FORMAT_LABELS = { pdf: "Searchable PDF", hocr: "hOCR", alto: "ALTO XML", txt: "Text" };
const FORMAT_SUFFIXES = { pdf: ".ocr.pdf", hocr: ".hocr", alto: ".alto.xml", txt: ".txt" };
const KIND_NAMES = {
  title: "Title",
  text: "Text",
  list: "List",
  table: "Table",
  image: "Figure",
  header: "Running head",
  footer: "Running foot",
  caption: "Caption",
  code: "Code",
  equation: "Equation",
};
const SVG = "http://www.w3.org/2000/svg";

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

// -- the API ----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const keys = {
  current: sessionStorage.getItem(KEY_STORAGE),
  asking: null,
  set(key) {
    this.current = key;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("#key-button").hidden = false;
  },
  /** The user's key, asked for once however many requests are waiting on it. */
  ask(message) {
    if (!this.asking) {
      this.asking = askForKey(message).finally(() => {
        this.asking = null;
      });
    }
    return this.asking;
  },
};

function askForKey(message) {
  const dialog = $("#key-dialog");
  const input = $("#key-input");
  const error = $("#key-error");
  error.textContent = message || "";
  error.hidden = !message;
  input.value = "";
  dialog.returnValue = "";
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const key = input.value.trim();
        if (dialog.returnValue === "use" && key) {
          keys.set(key);
          resolve(key);
        } else {
          resolve(null);
        }
      },
      { once: true },
    );
  });
}

/** A sentence for a person from a failed answer: the error shape's own message. */
async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not the service's error shape: a proxy's page, say. The status still tells something.
  }
  const error = body && body.error;
  const message =
    (error && error.message) || `Tessera answered ${response.status} ${response.statusText}.`;
  return new ApiError(message, response.status, error && error.code);
}

/** A request to the API with the key, asking the user for one on a 401 and trying again. */
async function api(path, options = {}) {
  let rejected = null;
  for (;;) {
    const headers = new Headers(options.headers || {});
    if (keys.current) headers.set("Authorization", `Bearer ${keys.current}`);
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch {
      throw new ApiError("Tessera could not be reached: check that it is running.", 0, "network");
    }
    if (response.status !== 401) return response;
    rejected = await failure(response);
    const hint = keys.current ? "That key was not accepted; check it and try again." : "";
    const key = await keys.ask(hint);
    if (!key) throw new ApiError("An API key is needed to use this Tessera.", 401, rejected.code);
  }
}

async function json(path, options) {
  const response = await api(path, options);
  if (!response.ok) throw await failure(response);
  return { status: response.status, body: await response.json() };
}

function sleep(seconds) {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

// -- options ----------------------------------------------------------------------------------

async function loadModels() {
  const select = $("#model");
  try {
    const { body } = await json("/v1/models");
    const ids = body.data.map((model) => model.id);
    if (!ids.length) return;
    const chosen = select.value;
    select.replaceChildren(...ids.map((id) => el("option", "", id)));
    select.value = ids.includes(chosen) ? chosen : ids[0];
  } catch (error) {
    notice(`The models could not be listed: ${error.message}`);
  }
}

/** "1-3, 5" (pages as people count them) as the API's 0-based "0-2,4"; null if invalid. */
function pagesOption(text) {
  const parts = text.split(",").map((part) => part.trim()).filter(Boolean);
  const out = [];
  for (const part of parts) {
    const match = /^(\d{1,6})(?:\s*-\s*(\d{1,6}))?$/.exec(part);
    if (!match) return null;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (first < 1 || last < first) return null;
    out.push(first === last ? `${first - 1}` : `${first - 1}-${last - 1}`);
  }
  return out.join(",");
}

function readOptions() {
  const pagesText = $("#pages").value.trim();
  const pages = pagesOption(pagesText);
  const pagesError = $("#pages-error");
  if (pages === null) {
    pagesError.textContent = "Write pages as numbers and ranges from 1, such as 1-3, 5.";
    pagesError.hidden = false;
    $("#pages").setAttribute("aria-invalid", "true");
    $("#pages").focus();
    return null;
  }
  pagesError.hidden = true;
  $("#pages").removeAttribute("aria-invalid");
  const formats = [...document.querySelectorAll("input[name=format]:checked")].map((i) => i.value);
  return {
    model: $("#model").value,
    pages: pages || undefined,
    ocr_mode: $("#mode").value,
    output_formats: [...new Set(["hocr", ...formats])],
  };
}

function notice(message) {
  const node = $("#notice");
  node.textContent = message;
  node.hidden = !message;
}

// -- a job ------------------------------------------------------------------------------------

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new ApiError(`${file.name} could not be read from disk.`, 0));
    reader.readAsDataURL(file);
  });
}

class Job {
  constructor(file, options) {
    this.file = file;
    this.options = options;
    this.id = null;
    this.card = jobCard(file.name);
    this.card.cancel.addEventListener("click", () => this.cancel());
    $("#empty").hidden = true;
    $("#documents").prepend(this.card.root);
  }

  async run() {
    try {
      this.status("Sending…");
      await this.create();
      const job = await this.follow();
      if (job.status === "completed") await this.show(job);
      else this.failed(job);
    } catch (error) {
      this.fail(error.message);
    }
  }

  async create() {
    const url = await readFile(this.file);
    const body = {
      ...this.options,
      document: { type: "document_url", document_url: url, document_name: this.file.name },
      include_blocks: true,
      page_images: true,
    };
    for (let attempt = 0; ; attempt += 1) {
      const response = await api("/v1/async/ocr", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.ok) {
        this.id = (await response.json()).id;
        this.card.root.dataset.jobId = this.id;
        this.card.cancel.disabled = false;
        return;
      }
      const busy = response.status === 429 || response.status === 503;
      if (!busy || attempt >= MAX_RETRIES) throw await failure(response);
      const wait = Number(response.headers.get("Retry-After")) || 5;
      this.status(`Tessera is busy; sending again in ${wait} s…`);
      await sleep(wait);
    }
  }

  async follow() {
    for (;;) {
      const { body } = await json(`/v1/async/ocr/${this.id}?wait=${POLL_WAIT_S}`);
      if (body.status === "completed" || body.status === "failed") return body;
      this.progress(body);
    }
  }

  progress(job) {
    const bar = this.card.progress;
    if (job.status === "pending") {
      this.status("Waiting for a free worker…");
      bar.removeAttribute("value");
      return;
    }
    if (job.pages_total) {
      bar.max = job.pages_total;
      bar.value = job.pages_done;
      this.status(`Reading: ${job.pages_done} of ${job.pages_total} pages done`);
    } else {
      this.status("Reading…");
    }
  }

  async cancel() {
    if (!this.id) return;
    this.card.cancel.disabled = true;
    try {
      await json(`/v1/async/ocr/${this.id}`, { method: "DELETE" });
    } catch (error) {
      this.fail(`It could not be cancelled: ${error.message}`);
    }
  }

  status(text) {
    this.card.status.textContent = text;
  }

  finished(state) {
    this.card.root.dataset.state = state;
    this.card.cancel.hidden = true;
    this.card.progress.hidden = true;
  }

  failed(job) {
    if (job.error && job.error.error && job.error.error.code === "cancelled") {
      this.finished("cancelled");
      this.status("Cancelled.");
      return;
    }
    const message = job.error && job.error.error ? job.error.error.message : "It failed.";
    this.fail(message);
  }

  fail(message) {
    this.finished("failed");
    this.status("Not read.");
    this.card.error.textContent = message;
    this.card.error.hidden = false;
  }

  async show(job) {
    const result = job.result;
    const count = result.pages.length;
    this.status(`Read ${count} page${count === 1 ? "" : "s"}.`);
    const words = await this.words(job);
    this.card.downloads.replaceChildren(...downloads(this.file.name, job));
    this.card.downloads.hidden = false;
    this.card.legend.replaceChildren(...legend(result.pages));
    this.card.legend.hidden = false;
    const view = this.card.view;
    view.hidden = false;
    for (const page of result.pages) {
      this.card.pages.append(pageView(this.id, page, words.get(page.index) || []));
    }
    const lost = result.warnings || [];
    if (lost.length) {
      this.status(`Read ${count} of ${count + lost.length} pages.`);
      this.card.error.textContent = lost
        .map((warning) => `Page ${warning.page + 1} could not be read: ${warning.message}`)
        .join(" ");
      this.card.error.hidden = false;
    }
    this.finished("completed");
  }

  /** Each page's words with boxes and confidence, from the job's hOCR. */
  async words(job) {
    const found = new Map();
    const hocr = (job.outputs || []).find((entry) => entry.format === "hocr" && entry.url);
    if (!hocr) return found;
    try {
      const response = await api(hocr.url);
      if (!response.ok) throw await failure(response);
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const page of doc.querySelectorAll(".ocr_page")) {
        const index = Number(/ppageno (\d+)/.exec(page.title)?.[1]);
        const list = [];
        for (const word of page.querySelectorAll(".ocrx_word")) {
          const box = /bbox (\d+) (\d+) (\d+) (\d+)/.exec(word.title);
          const confidence = /x_wconf (\d+)/.exec(word.title);
          if (!box) continue;
          list.push({
            text: word.textContent,
            box: box.slice(1).map(Number),
            confidence: confidence ? Number(confidence[1]) : null,
          });
        }
        found.set(index, list);
      }
    } catch (error) {
      this.card.error.textContent = `The words' boxes could not be loaded: ${error.message}`;
      this.card.error.hidden = false;
    }
    return found;
  }
}

function jobCard(name) {
  const root = el("article", "job");
  root.dataset.state = "running";
  const head = el("header", "job-head");
  const title = el("h2", "", name);
  const status = el("p", "status", "");
  status.setAttribute("role", "status");
  const progress = el("progress");
  progress.setAttribute("aria-label", `Progress of ${name}`);
  const cancel = el("button", "cancel", "Cancel");
  cancel.type = "button";
  cancel.disabled = true;
  cancel.setAttribute("aria-label", `Cancel reading ${name}`);
  head.append(title, status, progress, cancel);
  const error = el("p", "error");
  error.setAttribute("role", "alert");
  error.hidden = true;
  const downloads = el("div", "downloads");
  downloads.hidden = true;
  downloads.setAttribute("role", "group");
  downloads.setAttribute("aria-label", `Downloads of ${name}`);
  const view = el("div", "view");
  view.hidden = true;
  const toolbar = el("div", "toolbar");
  const legendList = el("ul", "legend");
  legendList.setAttribute("aria-label", "Colours of the boxes");
  legendList.hidden = true;
  const raw = el("label", "raw-toggle");
  const rawBox = el("input");
  rawBox.type = "checkbox";
  raw.append(rawBox, " Show raw Markdown");
  rawBox.addEventListener("change", () => root.classList.toggle("raw", rawBox.checked));
  toolbar.append(legendList, raw);
  const pages = el("div", "pages");
  view.append(toolbar, pages);
  root.append(head, error, downloads, view);
  return { root, status, progress, cancel, error, downloads, view, legend: legendList, pages };
}

// -- downloads --------------------------------------------------------------------------------

function stem(name) {
  return name.replace(/\.[^.]+$/, "") || "document";
}

function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function downloadButton(label, action) {
  const button = el("button", "download", label);
  button.type = "button";
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      notice(`The download failed: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function downloads(name, job) {
  const base = stem(name);
  const markdown = job.result.pages.map((page) => page.markdown).join("\n");
  const buttons = [
    el("span", "label", "Download:"),
    downloadButton("Markdown", async () =>
      save(new Blob([markdown], { type: "text/markdown" }), `${base}.md`),
    ),
    downloadButton("JSON", async () =>
      save(
        new Blob([JSON.stringify(job.result, null, 2)], { type: "application/json" }),
        `${base}.json`,
      ),
    ),
  ];
  for (const output of job.outputs || []) {
    const label = FORMAT_LABELS[output.format] || output.format;
    if (!output.url) {
      const missing = el("span", "missing", `${label}: not written`);
      missing.title = output.error || "";
      buttons.push(missing);
      continue;
    }
    buttons.push(
      downloadButton(label, async () => {
        const response = await api(output.url);
        if (!response.ok) throw await failure(response);
        const suffix = FORMAT_SUFFIXES[output.format] || `.${output.format}`;
        save(await response.blob(), `${base}${suffix}`);
      }),
    );
  }
  return buttons;
}

// -- a page -----------------------------------------------------------------------------------

function legend(pages) {
  const kinds = new Set(pages.flatMap((page) => (page.blocks || []).map((block) => block.type)));
  const items = [...kinds].map((kind) => {
    const item = el("li", "");
    item.append(el("span", `swatch kind-${kind}`), KIND_NAMES[kind] || kind);
    return item;
  });
  const low = el("li", "");
  low.append(el("span", "swatch low"), `Word read below ${LOW_CONFIDENCE} % confidence`);
  return [...items, low];
}

/** Where each block's text is in the page's Markdown: [start, end) or null. */
function blockSpans(page) {
  const markdown = page.markdown;
  let cursor = 0;
  const starts = (page.blocks || []).map((block) => {
    let needle = block.content || "";
    if (block.image_id) needle = `![${block.image_id}](${block.image_id})`;
    else if (block.table_id) needle = `[${block.table_id}](${block.table_id})`;
    if (!needle) return null;
    const at = markdown.indexOf(needle, cursor);
    if (at < 0) return null;
    cursor = at + needle.length;
    return at;
  });
  const ordered = starts.filter((start) => start !== null);
  return starts.map((start) => {
    if (start === null) return null;
    const next = ordered.find((other) => other > start);
    return [start, next === undefined ? markdown.length : next];
  });
}

function pageView(jobId, page, words) {
  const number = page.index + 1;
  const section = el("section", "page");
  section.setAttribute("aria-label", `Page ${number}`);
  section.dataset.index = page.index;
  const heading = el("h3", "page-title", `Page ${number}`);
  if (page.source === "text_layer") heading.append(el("small", "", " · from its text layer"));
  const sheet = sheetView(jobId, page, words);
  const text = textView(page);
  link(sheet, text);
  const body = el("div", "page-body");
  body.append(sheet.root, text.root);
  section.append(heading, body);
  return section;
}

function sheetView(jobId, page, words) {
  const { width, height } = page.dimensions;
  const root = el("figure", "sheet");
  const canvas = el("div", "canvas");
  canvas.style.aspectRatio = `${width} / ${height}`;
  const image = el("img");
  image.alt = `Page ${page.index + 1} as read`;
  image.hidden = true;
  loadPicture(jobId, page.index, image, root);
  const overlay = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none",
    class: "overlay",
    role: "group",
    "aria-label": `Blocks found on page ${page.index + 1}`,
  });
  const blocksLayer = svg("g", { class: "blocks" });
  const rects = (page.blocks || []).map((block, i) => {
    const rect = svg("rect", {
      x: block.top_left_x,
      y: block.top_left_y,
      width: Math.max(1, block.bottom_right_x - block.top_left_x),
      height: Math.max(1, block.bottom_right_y - block.top_left_y),
      class: `block kind-${block.type}`,
      tabindex: "0",
      role: "button",
      "aria-label": `${KIND_NAMES[block.type] || block.type} block ${i + 1}: ${snippet(block)}`,
    });
    rect.dataset.block = i;
    blocksLayer.append(rect);
    return rect;
  });
  const wordsLayer = svg("g", { class: "words", "aria-hidden": "true" });
  for (const word of words) {
    const [left, top, right, bottom] = word.box;
    const low = word.confidence !== null && word.confidence < LOW_CONFIDENCE;
    const rect = svg("rect", {
      x: left,
      y: top,
      width: Math.max(1, right - left),
      height: Math.max(1, bottom - top),
      class: low ? "word low" : "word",
    });
    rect.dataset.text = word.text;
    rect.dataset.confidence = word.confidence === null ? "" : word.confidence;
    wordsLayer.append(rect);
  }
  overlay.append(blocksLayer, wordsLayer);
  const tip = el("div", "tip");
  tip.hidden = true;
  tip.setAttribute("role", "tooltip");
  canvas.append(image, overlay, tip);
  wordTips(canvas, wordsLayer, tip);
  const caption = el("figcaption", "", "");
  const lows = words.filter((w) => w.confidence !== null && w.confidence < LOW_CONFIDENCE).length;
  caption.textContent =
    `${(page.blocks || []).length} blocks, ${words.length} words` +
    (lows ? `, ${lows} read below ${LOW_CONFIDENCE} %` : "") +
    ". Point at a word to see how surely it was read.";
  root.append(canvas, caption);
  return { root, rects, page, words: wordsLayer };
}

function snippet(block) {
  const text = (block.content || "").replace(/\s+/g, " ").trim();
  return text.length > 60 ? `${text.slice(0, 57)}…` : text || "(no text)";
}

async function loadPicture(jobId, index, image, root) {
  try {
    const response = await api(`/v1/async/ocr/${jobId}/pages/${index}/image`);
    if (!response.ok) throw await failure(response);
    image.src = URL.createObjectURL(await response.blob());
    image.hidden = false;
  } catch (error) {
    root.classList.add("no-picture");
    const note = el("p", "picture-missing", `No picture of this page: ${error.message}`);
    root.prepend(note);
  }
}

function wordTips(canvas, layer, tip) {
  layer.addEventListener("mouseover", (event) => {
    const word = event.target.closest("rect.word");
    if (!word) return;
    const confidence = word.dataset.confidence;
    tip.textContent = confidence === "" ? word.dataset.text : `${word.dataset.text} · ${confidence} %`;
    tip.classList.toggle("low", word.classList.contains("low"));
    const box = word.getBoundingClientRect();
    const frame = canvas.getBoundingClientRect();
    tip.style.left = `${box.left - frame.left}px`;
    tip.style.top = `${box.bottom - frame.top + 4}px`;
    tip.hidden = false;
  });
  layer.addEventListener("mouseout", (event) => {
    if (!event.relatedTarget?.closest?.("rect.word")) tip.hidden = true;
  });
}

function textView(page) {
  const root = el("div", "text");
  const rendered = el("div", "rendered markdown");
  const raw = el("pre", "raw-markdown");
  const spans = blockSpans(page);
  const markdown = page.markdown;
  const segments = [];
  const starts = spans.filter(Boolean).map(([start]) => start);
  const first = starts.length ? Math.min(...starts) : markdown.length;
  if (first > 0) segments.push({ block: null, text: markdown.slice(0, first) });
  spans.forEach((span, i) => {
    if (span) segments.push({ block: i, text: markdown.slice(span[0], span[1]), start: span[0] });
  });
  segments.sort((a, b) => (a.start ?? -1) - (b.start ?? -1));
  const parts = new Map();
  for (const segment of segments) {
    const part = el("div", "segment");
    part.append(renderMarkdown(segment.text));
    const rawPart = el("span", "segment", segment.text);
    if (segment.block !== null) {
      for (const node of [part, rawPart]) {
        node.dataset.block = segment.block;
        node.tabIndex = 0;
        node.setAttribute("role", "button");
        node.setAttribute("aria-label", `Text of block ${segment.block + 1}; shows it on the page`);
      }
      parts.set(segment.block, [part, rawPart]);
    }
    rendered.append(part);
    raw.append(rawPart);
  }
  if (!markdown.trim()) rendered.append(el("p", "empty", "No text was found on this page."));
  root.append(rendered, raw);
  return { root, parts };
}

/** Smooth scrolling, unless the reader asked the system for less motion. */
function scrollBehaviour() {
  return matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
}

/** Clicking a block shows its text, clicking text shows its block; Enter and Space too. */
function link(sheet, text) {
  let active = null;
  const select = (index, from) => {
    for (const node of active || []) node.classList.remove("active");
    const rect = sheet.rects[index];
    const parts = text.parts.get(index) || [];
    active = [rect, ...parts].filter(Boolean);
    for (const node of active) node.classList.add("active");
    if (from === "sheet") {
      const shown = parts.find((node) => node.offsetParent !== null);
      if (shown) shown.scrollIntoView({ block: "nearest", behavior: scrollBehaviour() });
    } else if (rect) {
      rect.scrollIntoView({ block: "nearest", behavior: scrollBehaviour() });
    }
  };
  const activate = (target, from) => {
    const node = target.closest("[data-block]");
    if (node) select(Number(node.dataset.block), from);
  };
  const onKey = (from) => (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      activate(event.target, from);
    }
  };
  sheet.root.addEventListener("click", (event) => {
    const word = event.target.closest("rect.word");
    if (word) {
      const index = blockAt(sheet.page, word);
      if (index !== null) select(index, "sheet");
      return;
    }
    activate(event.target, "sheet");
  });
  sheet.root.addEventListener("keydown", onKey("sheet"));
  text.root.addEventListener("click", (event) => activate(event.target, "text"));
  text.root.addEventListener("keydown", onKey("text"));
}

/** The smallest block holding a word's centre: what a click on the word means. */
function blockAt(page, word) {
  const x = Number(word.getAttribute("x")) + Number(word.getAttribute("width")) / 2;
  const y = Number(word.getAttribute("y")) + Number(word.getAttribute("height")) / 2;
  let best = null;
  let bestArea = Infinity;
  (page.blocks || []).forEach((block, i) => {
    const inside =
      x >= block.top_left_x && x <= block.bottom_right_x && y >= block.top_left_y && y <= block.bottom_right_y;
    const area = (block.bottom_right_x - block.top_left_x) * (block.bottom_right_y - block.top_left_y);
    if (inside && area < bestArea) {
      best = i;
      bestArea = area;
    }
  });
  return best;
}

// -- start ------------------------------------------------------------------------------------

function start(files) {
  notice("");
  const options = readOptions();
  if (!options) return;
  for (const file of files) new Job(file, options).run();
}

function setUpDrop() {
  const zone = $("#drop");
  const input = $("#file-input");
  input.addEventListener("change", () => {
    start([...input.files]);
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    document.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const name of ["dragleave", "dragend"]) {
    document.addEventListener(name, (event) => {
      if (event.relatedTarget === null) zone.classList.remove("over");
    });
  }
  // The whole window takes a drop, so a file missing the zone still opens nothing else.
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const files = [...(event.dataTransfer?.files || [])];
    if (files.length) start(files);
  });
}

function setUpKeys() {
  const button = $("#key-button");
  button.hidden = !keys.current;
  button.addEventListener("click", async () => {
    if (await keys.ask("")) loadModels();
  });
  // Not a submit button, so that Enter in the key's field uses the key.
  $("#key-cancel").addEventListener("click", () => $("#key-dialog").close("cancel"));
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("#key-input").value.trim()) {
      $("#key-error").textContent = "Type or paste the key first.";
      $("#key-error").hidden = false;
      return;
    }
    $("#key-dialog").close("use");
  });
  // Enter in the pages field would submit the options, which go with each drop instead.
  $("#options").addEventListener("submit", (event) => event.preventDefault());
}

setUpDrop();
setUpKeys();
loadModels();
