// The Markdown Tessera writes, as DOM nodes: headings, paragraphs, lists, fenced code, pipe
// tables, figure and table placeholders, backslash escapes. Nothing else is needed, and text
// is only ever set as text, never parsed as HTML, so a document cannot put markup on the page.

const ESCAPED = /\\([!-/:-@[-`{-~])/g;
const HEADING = /^(#{1,6})[ \t]+(.*)$/;
const BULLET = /^[-+*][ \t]+(.*)$/;
const ORDERED = /^(\d{1,9})[.)][ \t]+(.*)$/;
const FENCE = /^(`{3,}|~{3,})/;
const TABLE_RULE = /^\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;
const PLACEHOLDER = /^(!?)\[([^\]]*)\]\(([^)\s]*)\)$/;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// One pass, left to right, so that an escaped bracket never opens a link.
const INLINE = /\\([!-/:-@[-`{-~])|\[((?:[^\]\\]|\\.)*)\]\([^)\s]*\)/g;

/** Inline text: backslash escapes undone; a link shows as its text. */
export function inline(text) {
  return text.replace(INLINE, (_, escaped, label) =>
    escaped !== undefined ? escaped : label.replace(ESCAPED, "$1"),
  );
}

/** A table row's cells: split at pipes that are not escaped. */
function cells(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  const found = [];
  let cell = "";
  for (let i = 0; i < row.length; i += 1) {
    if (row[i] === "\\" && row[i + 1] === "|") {
      cell += "|";
      i += 1;
    } else if (row[i] === "|") {
      found.push(cell.trim());
      cell = "";
    } else {
      cell += row[i];
    }
  }
  found.push(cell.trim());
  return found;
}

function table(lines) {
  const node = el("table");
  const head = node.createTHead().insertRow();
  for (const text of cells(lines[0])) head.append(el("th", "", inline(text)));
  const body = node.createTBody();
  for (const line of lines.slice(2)) {
    const row = body.insertRow();
    for (const text of cells(line)) row.append(el("td", "", inline(text)));
  }
  const wrap = el("div", "table-wrap");
  wrap.append(node);
  return wrap;
}

function placeholder(match) {
  const [, bang, label, target] = match;
  const kind = bang ? "Figure" : "Table";
  return el("p", "placeholder", `${kind}: ${inline(label || target)}`);
}

/** Lines of one block of text as nodes, appended to `into`. */
function blocks(lines, into) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].startsWith(fence[1])) body.push(lines[i++]);
      i += 1;
      const pre = el("pre");
      pre.append(el("code", "", body.join("\n")));
      into.append(pre);
      continue;
    }
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = heading[1].length;
      // Below the page's own headings: a document's title is not the page's.
      into.append(el(`h${Math.min(6, level + 3)}`, `md-h${level}`, inline(heading[2])));
      i += 1;
      continue;
    }
    if (line.trim().startsWith("|") && TABLE_RULE.test(lines[i + 1] || "")) {
      const rows = [];
      while (i < lines.length && lines[i].trim().startsWith("|")) rows.push(lines[i++]);
      into.append(table(rows));
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      const ordered = ORDERED.test(line);
      const list = el(ordered ? "ol" : "ul");
      const first = ORDERED.exec(line);
      if (first && first[1] !== "1") list.start = Number(first[1]);
      const pattern = ordered ? ORDERED : BULLET;
      let item;
      while (i < lines.length && lines[i].trim()) {
        const match = pattern.exec(lines[i]);
        if (match) {
          item = el("li", "", inline(match[ordered ? 2 : 1]));
          list.append(item);
        } else if (item) {
          item.textContent += ` ${inline(lines[i].trim())}`;
        } else {
          break;
        }
        i += 1;
      }
      into.append(list);
      continue;
    }
    const text = [];
    while (
      i < lines.length &&
      lines[i].trim() &&
      !FENCE.test(lines[i]) &&
      !HEADING.test(lines[i]) &&
      !(text.length && (BULLET.test(lines[i]) || ORDERED.test(lines[i])))
    ) {
      text.push(lines[i++].trim());
    }
    const joined = text.join(" ");
    const match = PLACEHOLDER.exec(joined);
    into.append(match ? placeholder(match) : el("p", "", inline(joined)));
  }
}

/** Markdown as a fragment of DOM nodes. */
export function render(markdown) {
  const fragment = document.createDocumentFragment();
  blocks(markdown.replace(/\r\n?/g, "\n").split("\n"), fragment);
  return fragment;
}
