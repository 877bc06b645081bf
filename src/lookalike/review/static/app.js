// The review page: a list of groups, one group's members side by side, and resolution through the server's
// plan / apply / undo. Plain DOM, no framework; every change goes through a POST with the session token.
"use strict";

const token = document.querySelector('meta[name="lookalike-token"]').content;
history.replaceState(null, "", "/"); // the cookie carries the token now: keep it out of the address bar
const $ = (id) => document.getElementById(id);
const MODES = ["side", "diff", "blink"];
const state = {
  offset: 0, limit: 50, total: 0, order: [], current: null, group: null, selected: 0,
  opening: null, // the group last asked for: shown, or on its way
  marks: new Map(), // group index -> Map(member index -> "keep" | "remove")
  view: { scale: 1, x: 0, y: 0 }, blink: null, dialogAction: null,
};

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", body: JSON.stringify(body),
    headers: { "X-Lookalike-Token": token, "Content-Type": "application/json" },
  };
  const response = await fetch(path, options);
  if (!response.ok) throw new Error(await response.text());
  return response.json();
}

function say(text) {
  $("status").textContent = text;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { $("status").textContent = ""; }, 5000);
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function bytes(count) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let size = count, unit = 0;
  while (size >= 1000 && unit < units.length - 1) { size /= 1000; unit += 1; }
  return unit === 0 ? `${size} B` : `${size.toFixed(1)} ${units[unit]}`;
}

const baseName = (path) => path.slice(path.lastIndexOf("/") + 1);
const MISSING = "No preview: the file changed or moved since the scan, or could not be decoded.";

function noPreview(event) {
  const text = event.target.closest(".viewport") ? MISSING : "no preview";
  event.target.replaceWith(el("span", { className: "no-preview", textContent: text, title: MISSING }));
}
const preview = (group, member, size) => `/preview/${group}/${member}/${size}`;

// the list of groups

async function loadPage() {
  const query = new URLSearchParams({ kind: $("kind").value, folder: $("folder").value,
                                      offset: state.offset, limit: state.limit });
  const page = await api(`/api/groups?${query}`);
  if (!$("action").options.length) {
    for (const action of page.actions) $("action").append(el("option", { value: action, textContent: action }));
  }
  state.total = page.total;
  state.order = page.groups.map((group) => group.index);
  $("group-list").replaceChildren(...page.groups.map(listItem));
  const last = Math.min(state.offset + state.limit, state.total);
  $("list-status").textContent = state.total
    ? `${state.offset + 1}–${last} of ${state.total.toLocaleString()} groups, most reclaimable first`
    : "No groups match.";
  $("page-prev").disabled = state.offset === 0;
  $("page-next").disabled = last >= state.total;
  performance.mark("groups-listed"); // User Timing marks: benchmarks/review reads them
  return page;
}

function listItem(group) {
  const button = el("button", { type: "button" },
    el("img", { src: preview(group.index, 0, "thumb"), alt: "", loading: "lazy", fetchPriority: "low",
                width: 56, height: 56, onerror: noPreview }),
    el("span", { className: "meta" },
      el("span", { className: "name", textContent: `#${group.index + 1} ${group.kind}: ${baseName(group.keep)}` }),
      el("span", { className: "muted",
                   textContent: `${group.members} copies · ${bytes(group.reclaimable)} reclaimable` })));
  button.dataset.index = group.index;
  button.setAttribute("aria-current", String(group.index === state.current));
  button.addEventListener("click", () => openGroup(group.index));
  return el("li", { className: `state-${group.state.replace(" ", "-")}` }, button);
}

async function changePage(offset) {
  state.offset = Math.max(0, offset);
  await loadPage();
}

// one group

async function openGroup(index, reload = false) {
  // a click on the group being opened (the first, opened as the page loads) must not reset its zoom later
  if (index === state.opening && !reload) return;
  state.opening = index;
  let group;
  try {
    group = await api(`/api/groups/${index}`);
  } catch (error) {
    if (state.opening === index) state.opening = state.current;
    throw error;
  }
  if (state.opening !== index) return; // another group was asked for meanwhile: it is the one to show
  state.current = index;
  state.group = group;
  state.selected = 0;
  state.view = { scale: 1, x: 0, y: 0 };
  $("group-title").textContent = `Group ${index + 1} of the report: ${group.kind}, ${group.members.length} copies, ` +
    `${bytes(group.reclaimable)} reclaimable${group.state === "open" ? "" : ` (${group.state})`}`;
  $("members").replaceChildren(...group.members.map((member, number) => memberPanel(group, member, number)));
  $("members").classList.toggle("many", group.members.length > 3);
  for (const button of document.querySelectorAll("#group-list button")) {
    button.setAttribute("aria-current", String(Number(button.dataset.index) === index));
  }
  showMarks();
  applyView();
  select(0, false);
  performance.mark("group-shown");
}

function memberPanel(group, member, number) {
  const viewport = el("div", { className: "viewport" },
    number === 0 ? null : el("img", { className: "base", src: preview(group.index, 0, "full"), alt: "",
                                      draggable: false }),
    el("img", { className: "top", src: preview(group.index, number, "full"), draggable: false, onerror: noPreview,
                alt: `Copy ${number + 1}: ${baseName(member.path)}` }),
    number === 0 ? outlineLayer(member) : null);
  viewport.addEventListener("wheel", onWheel, { passive: false });
  viewport.addEventListener("pointerdown", onDrag);
  const facts = [
    ["Path", member.path],
    ["Size", bytes(member.size)],
    ["Pixels", `${member.width} × ${member.height} (${member.format})`],
    ["Taken", member.taken ? member.taken.replace(/^(\d{4}):(\d\d):(\d\d)/, "$1-$2-$3") : "unknown"],
    ["Camera", member.camera || "unknown"],
    ["GPS", member.gps || "none"],
    ["Quality", member.quality === null || member.quality === undefined ? "not a JPEG" : `JPEG ${member.quality}`],
    ["Companions", member.companions.length ? member.companions.join(", ") : "none"],
    ["Modified", new Date(member.mtime_ns / 1e6).toLocaleString()],
    ["To keeper", member.match === "keeper" ? `the report's keeper: ${group.reason}`
                  : `${member.relation} (distance ${member.distance})`],
    ...member.warnings.map((warning) => ["Warning", `it ${warning}`]),
  ];
  const details = el("dl", { className: "details" },
    ...facts.flatMap(([name, value]) => [el("dt", { textContent: name }), el("dd", { textContent: value })]));
  const marks = el("fieldset", { className: "marks" }, el("legend", { textContent: `Decision for copy ${number + 1}` }),
    ...[["keep", "Keep"], ["remove", "Remove"], ["", "Undecided"]].map(([value, text]) =>
      el("label", {}, el("input", { type: "radio", name: `mark-${number}`, value,
                                    onchange: () => mark(number, value) }), text)));
  const panel = el("article", { className: "member", tabIndex: -1,
                                ariaLabel: `Copy ${number + 1}${number === 0 ? ", the report's keeper" : ""}` },
    viewport, details, marks);
  panel.dataset.member = number;
  panel.addEventListener("click", () => select(number, false));
  return panel;
}

function select(number, focus = true) {
  if (!state.group) return;
  state.selected = Math.max(0, Math.min(number, state.group.members.length - 1));
  document.querySelectorAll(".member").forEach((panel, index) => {
    panel.classList.toggle("selected", index === state.selected);
    if (index === state.selected && focus) panel.focus();
  });
  showOutline();
}

// where the selected copy lies in the keeper: its fitted box, outlined over the keeper's picture

const SVG = "http://www.w3.org/2000/svg";

function outlineLayer(keeper) {
  // a layer the size of the viewport whose drawing is fitted as object-fit: contain fits the keeper's image
  const layer = document.createElementNS(SVG, "svg");
  layer.classList.add("outline");
  layer.setAttribute("viewBox", `0 0 ${keeper.width} ${keeper.height}`);
  layer.setAttribute("preserveAspectRatio", "xMidYMid meet");
  layer.setAttribute("aria-hidden", "true");
  for (const name of ["halo", "line"]) {
    const rect = document.createElementNS(SVG, "rect");
    rect.classList.add(name);
    layer.append(rect);
  }
  return layer;
}

function showOutline() {
  const layer = document.querySelector(".viewport .outline");
  if (!layer) return;
  const box = state.selected ? state.group.members[state.selected].box : null;
  layer.classList.toggle("shown", Boolean(box));
  if (!box) return;
  const [left, top, right, bottom] = box;
  const keeper = state.group.members[0];
  for (const rect of layer.querySelectorAll("rect")) {
    rect.setAttribute("x", left * keeper.width);
    rect.setAttribute("y", top * keeper.height);
    rect.setAttribute("width", (right - left) * keeper.width);
    rect.setAttribute("height", (bottom - top) * keeper.height);
  }
}

function marksOf(index) {
  if (!state.marks.has(index)) state.marks.set(index, new Map());
  return state.marks.get(index);
}

function mark(number, value) {
  const marks = marksOf(state.current);
  const removed = state.group.members.filter((_, i) => (i === number ? value : marks.get(i)) === "remove").length;
  if (value === "remove" && removed === state.group.members.length) {
    say("Every copy would be removed: keep at least one.");
  } else if (value) {
    marks.set(number, value);
  } else {
    marks.delete(number);
  }
  showMarks();
}

function showMarks() {
  const marks = marksOf(state.current);
  document.querySelectorAll(".member").forEach((panel, number) => {
    const value = marks.get(number) || "";
    panel.classList.toggle("mark-keep", value === "keep");
    panel.classList.toggle("mark-remove", value === "remove");
    panel.querySelector(`input[value="${value}"]`).checked = true;
  });
}

async function step(by) {
  const at = state.order.indexOf(state.current);
  const next = at + by;
  if (next >= state.order.length && state.offset + state.limit < state.total) {
    await changePage(state.offset + state.limit);
    return openGroup(state.order[0]);
  }
  if (next < 0 && state.offset > 0) {
    await changePage(state.offset - state.limit);
    return openGroup(state.order[state.order.length - 1]);
  }
  if (next >= 0 && next < state.order.length) return openGroup(state.order[next]);
}

// synchronised zoom and pan: one transform for every image of the group

function applyView() {
  const { scale, x, y } = state.view;
  for (const layer of document.querySelectorAll(".viewport .top, .viewport .outline")) {
    layer.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
  }
  document.querySelectorAll(".member").forEach((panel, number) => {
    const base = panel.querySelector(".viewport .base");
    if (base) alignKeeper(base, state.group.members[number]);
  });
  $("zoom-level").textContent = `${Math.round(scale * 100)}%`;
}

// the keeper under a copy (diff, blink) is carried onto it by the fitted matrix, then zoomed and panned alike

function alignKeeper(base, member) {
  const { scale, x, y } = state.view;
  const viewport = base.parentElement;
  const [width, height] = [viewport.clientWidth, viewport.clientHeight];
  base.classList.toggle("aligned", Boolean(member.matrix));
  if (!member.matrix) {
    base.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
    return;
  }
  // the copy's picture as object-fit: contain shows it: fractions of its frame onto the viewport
  const fitted = Math.min(width / member.width, height / member.height);
  const [shownWidth, shownHeight] = [member.width * fitted, member.height * fitted];
  const shown = [[shownWidth, 0, (width - shownWidth) / 2], [0, shownHeight, (height - shownHeight) / 2]];
  // the keeper's image fills the viewport (object-fit: fill): its pixels onto fractions of its frame
  const fractions = [[1 / width, 0, 0], [0, 1 / height, 0]];
  const [[a, c, e], [b, d, f]] = compose(shown, compose(inverse(member.matrix), fractions));
  const [cx, cy] = [width / 2, height / 2];
  base.style.transform = `translate(${cx + x}px, ${cy + y}px) scale(${scale}) translate(${-cx}px, ${-cy}px) ` +
    `matrix(${a}, ${b}, ${c}, ${d}, ${e}, ${f})`;
  // only the part of the keeper the copy shows: the copy's frame, in fractions of the keeper's
  const corners = [[0, 0], [1, 0], [1, 1], [0, 1]].map(([u, v]) => member.matrix.map(([p, q, r]) => p * u + q * v + r));
  base.style.clipPath = `polygon(${corners.map(([u, v]) => `${u * 100}% ${v * 100}%`).join(", ")})`;
}

function compose([[a, b, c], [d, e, f]], [[g, h, i], [j, k, l]]) {
  // the 2x3 affine matrix of applying the second, then the first
  return [[a * g + b * j, a * h + b * k, a * i + b * l + c], [d * g + e * j, d * h + e * k, d * i + e * l + f]];
}

function inverse([[a, b, c], [d, e, f]]) {
  const det = a * e - b * d;
  return [[e / det, -b / det, (b * f - e * c) / det], [-d / det, a / det, (d * c - a * f) / det]];
}

function zoom(factor, atX = 0, atY = 0) {
  const view = state.view;
  const scale = Math.min(32, Math.max(1, view.scale * factor));
  const ratio = scale / view.scale;
  state.view = scale === 1 ? { scale, x: 0, y: 0 }
                           : { scale, x: atX - (atX - view.x) * ratio, y: atY - (atY - view.y) * ratio };
  applyView();
}

function onWheel(event) {
  event.preventDefault();
  const box = event.currentTarget.getBoundingClientRect();
  zoom(event.deltaY < 0 ? 1.25 : 0.8, event.clientX - box.left - box.width / 2,
       event.clientY - box.top - box.height / 2);
}

function onDrag(event) {
  const viewport = event.currentTarget;
  viewport.setPointerCapture(event.pointerId);
  let last = [event.clientX, event.clientY];
  const move = (moved) => {
    state.view.x += moved.clientX - last[0];
    state.view.y += moved.clientY - last[1];
    last = [moved.clientX, moved.clientY];
    applyView();
  };
  viewport.addEventListener("pointermove", move);
  viewport.addEventListener("pointerup", () => viewport.removeEventListener("pointermove", move), { once: true });
}

function pan(dx, dy) {
  state.view.x += dx;
  state.view.y += dy;
  applyView();
}

function setMode(mode) {
  $("mode").value = mode;
  const members = $("members");
  MODES.forEach((name) => members.classList.toggle(`mode-${name}`, name === mode));
  clearInterval(state.blink);
  members.classList.remove("blink-off");
  if (mode === "blink") state.blink = setInterval(() => members.classList.toggle("blink-off"), 600);
}

// resolving

function markedGroups() {
  const marks = {};
  for (const [index, members] of state.marks) {
    const keep = [...members].filter(([, value]) => value === "keep").map(([number]) => number);
    const remove = [...members].filter(([, value]) => value === "remove").map(([number]) => number);
    if (remove.length) marks[index] = { keep, remove };
  }
  return marks;
}

async function planMarked() {
  const marks = markedGroups();
  if (!Object.keys(marks).length) return say("Mark a copy for removal first (R).");
  showPlan(await api("/api/plan", { action: $("action").value, marks }));
}

async function planBulk() {
  const bulk = { kind: $("kind").value, folder: $("folder").value, keep: $("bulk-rule").value };
  showPlan(await api("/api/plan", { action: $("action").value, bulk }));
}

function pathList(items, line) {
  return items.length ? el("ul", {}, ...items.map((item) => el("li", { textContent: line(item) }))) : null;
}

function openDialog(title, body, confirm, action) {
  $("dialog-title").textContent = title;
  $("dialog-body").replaceChildren(...body.filter(Boolean));
  $("dialog-confirm").textContent = confirm;
  state.dialogAction = action;
  if (!$("dialog").open) $("dialog").showModal();
  (confirm ? $("dialog-confirm") : $("dialog-close")).focus();
}

function showPlan(plan) {
  openDialog(`Plan: ${plan.action}`, [
    el("p", { textContent: plan.summary }),
    pathList(plan.steps, (s) => `#${s.group + 1}: ${s.path} → ${s.destination || `keeping ${s.keeper}`}`),
    plan.skips.length ? el("h3", { textContent: "Left alone" }) : null,
    pathList(plan.skips, (s) => `#${s.group + 1}: ${s.path}: ${s.reason}`),
  ], plan.steps.length ? `Apply (${plan.steps.length} files)` : "", () => applyPlan(plan.id));
}

async function applyPlan(id) {
  const journal = await api("/api/apply", { plan: id });
  for (const index of Object.keys(markedGroups())) state.marks.delete(Number(index));
  showJournal(journal);
  await refresh();
}

function showJournal(journal) {
  openDialog(`Applied: ${journal.action}${journal.undone ? " (undone)" : ""}`, [
    el("p", { textContent: `${journal.done.length} files done, ${journal.skipped.length} left alone. ` +
                           `Journal: ${journal.journal}` }),
    pathList(journal.done, (path) => path),
    journal.skipped.length ? el("h3", { textContent: "Left alone" }) : null,
    pathList(journal.skipped, (s) => `${s.path}: ${s.reason}`),
  ], journal.undone || !journal.done.length ? "" : "Undo", () => undo(journal.number));
}

async function undo(number) {
  const result = await api("/api/undo", { journal: number });
  openDialog("Undone", [
    el("p", { textContent: `${result.restored} files put back; journal ${result.journal}` }),
    pathList(result.not_restored, (s) => `${s.path}: ${s.reason}`),
  ], "", null);
  await refresh();
}

async function showJournals() {
  const journals = await api("/api/journals");
  const items = journals.map((journal) => el("li", {},
    `${journal.action}: ${journal.done.length} files, ${journal.journal} `,
    journal.undone ? "(undone)" : el("button", { type: "button", textContent: "Undo",
                                                 onclick: () => undo(journal.number) })));
  openDialog("Journals of this review", [items.length ? el("ul", {}, ...items) : el("p", { textContent: "None yet." })],
             "", null);
}

async function notDuplicates() {
  if (state.current === null) return;
  await api("/api/not-duplicates", { group: state.current });
  say(`Group ${state.current + 1} remembered as not duplicates.`);
  state.marks.delete(state.current);
  await loadPage();
  await step(1);
}

async function refresh() {
  await loadPage();
  if (state.current !== null) await openGroup(state.current, true);
}

// keyboard

const KEYS = {
  j: () => step(1), k: () => step(-1),
  ArrowRight: () => select(state.selected + 1), ArrowLeft: () => select(state.selected - 1),
  s: () => mark(state.selected, "keep"), r: () => mark(state.selected, "remove"), u: () => mark(state.selected, ""),
  i: notDuplicates, p: planMarked,
  "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8), "0": () => zoom(0),
  m: () => setMode(MODES[(MODES.indexOf($("mode").value) + 1) % MODES.length]),
};
const PAN = { ArrowRight: [-40, 0], ArrowLeft: [40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] };

document.addEventListener("keydown", (event) => {
  if ($("dialog").open || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.matches("input[type=search], select")) return;
  const handler = event.shiftKey && PAN[event.key] ? () => pan(...PAN[event.key]) : KEYS[event.key.length === 1
    ? event.key.toLowerCase() : event.key];
  if (!handler || (state.group === null && !"jkp".includes(event.key.toLowerCase()))) return;
  event.preventDefault();
  Promise.resolve(handler()).catch((error) => say(error.message));
});

// wiring

function wire(id, event, handler) {
  $(id).addEventListener(event, (e) => Promise.resolve(handler(e)).catch((error) => say(error.message)));
}

wire("kind", "change", () => changePage(0));
wire("folder", "input", () => changePage(0));
wire("filters", "submit", (e) => e.preventDefault());
wire("page-prev", "click", () => changePage(state.offset - state.limit));
wire("page-next", "click", () => changePage(state.offset + state.limit));
wire("group-prev", "click", () => step(-1));
wire("group-next", "click", () => step(1));
wire("zoom-in", "click", () => zoom(1.25));
wire("zoom-out", "click", () => zoom(0.8));
wire("zoom-reset", "click", () => zoom(0));
wire("mode", "change", (e) => setMode(e.target.value));
wire("not-duplicates", "click", notDuplicates);
wire("plan-marked", "click", planMarked);
wire("plan-bulk", "click", planBulk);
wire("show-journals", "click", showJournals);
wire("dialog-close", "click", () => $("dialog").close());
wire("dialog-confirm", "click", () => state.dialogAction && state.dialogAction());

setMode("side");
new ResizeObserver(() => state.group && applyView()).observe($("members")); // the alignment is in pixels
loadPage().then((page) => page.groups.length && openGroup(page.groups[0].index)).catch((error) => say(error.message));
