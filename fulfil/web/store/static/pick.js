// The pick page: scans counted by the server (one per scan_id), per-line progress, short picks from the line, and
// the way on to packing. Everything goes through the outbox, so nothing is lost when the network drops.

import { listen } from "./scanner.js";
import * as outbox from "./outbox.js";
import { colours, message, say, showOutbox } from "./feedback.js";

const state = JSON.parse(document.getElementById("state").textContent);
const lines = new Map(state.lines.map((line) => [line.gtin, line.slots]));  // gtin -> slot -> [qty, picked]
const slotOf = new Map(state.shipments.map((id, i) => [id, String(i + 1)]));
const nameOf = (gtin) => document.querySelector(`li.line[data-gtin="${gtin}"] .name`)?.textContent || gtin;

outbox.onChange(showOutbox);
outbox.onLateAnswer(async (response, action) => { if (action.kind === "scan") await answered(response, action); });

function render() {
  let open = 0;
  for (const [gtin, slots] of lines) {
    const item = document.querySelector(`li.line[data-gtin="${gtin}"]`);
    if (!item) continue;
    let qty = 0, picked = 0;
    for (const [slot, [q, p]] of Object.entries(slots)) {
      qty += q; picked += p;
      const need = item.querySelector(`li[data-slot="${slot}"] [data-role="need"]`);
      if (need) need.textContent = message("tote", { n: slot, picked: p, qty: q });
    }
    const bar = item.querySelector("progress");
    bar.max = qty; bar.value = picked;
    item.querySelector('[data-role="tally"]').textContent = message("tally", { picked, qty });
    item.classList.toggle("done", picked >= qty);
    const short = item.querySelector("button.short");
    if (short) short.hidden = picked >= qty;
    open += qty - picked;
  }
  const finish = document.getElementById("finish");
  if (finish) finish.hidden = open > 0;
  return open;
}

const STATION = /^pack-station(-[a-z0-9._-]+)?$/;

async function problem(response) {
  try {
    const body = await response.json();
    if (response.status === 401) return message("signed_out");
    if (body.error && body.error.code === "claimed") return message("claimed");
    return message("error", { message: body.error ? body.error.message : response.statusText });
  } catch (error) {
    return message("error", { message: response.statusText });
  }
}

async function answered(response, action) {
  if (!response.ok) { say("bad", await problem(response)); return; }
  const result = await response.json();
  const slot = state.batch ? String(result.slot) : slotOf.get(result.shipment_id || state.shipments[0]);
  const totals = {};
  for (const line of result.lines) {
    totals[line.gtin] = totals[line.gtin] || [0, 0];
    totals[line.gtin][0] += line.qty; totals[line.gtin][1] += line.picked_qty;
  }
  for (const [gtin, counts] of Object.entries(totals)) if (lines.has(gtin)) lines.get(gtin)[slot] = counts;
  const open = render();
  const name = result.gtin ? nameOf(result.gtin) : action.body.code;
  if (result.accepted) {
    const ok = state.batch ? message("accepted_slot", { name, slot: result.slot, colour: colours[result.slot_colour] || result.slot_colour })
                           : message("accepted", { name });
    say("ok", open > 0 ? ok : `${ok} ${message("all_picked")}`);
    if (open === 0) document.getElementById("finish")?.focus();  // the handheld's Enter key takes it
  } else {
    const wanted = result.gtin && lines.has(result.gtin) ? Object.values(lines.get(result.gtin)).reduce((n, [q]) => n + q, 0) : "";
    say("bad", message(result.outcome, { name, gtin: result.gtin || "", qty: wanted }));
  }
}

async function scanned(code, scanId = outbox.newId()) {
  if (STATION.test(code.trim().toLowerCase())) {  // a pack station's sign: everything picked, pack it there
    const open = render();
    if (open > 0) say("bad", message("station_early", { count: open }));
    else await finish(code.trim().toLowerCase());
    return;
  }
  const action = state.batch
    ? { id: scanId, kind: "scan", url: "/api/v1/pick-lists/scans", body: { shipment_ids: state.shipments, scan_id: scanId, code } }
    : { id: scanId, kind: "scan", url: `/api/v1/shipments/${state.shipments[0]}/scans`, body: { scan_id: scanId, code } };
  const sent = await outbox.send(action, answered);
  if (sent.queued) say("info", message("queued", { code }));
  else await answered(sent.response, action);
}

// Short pick from the line: the units go to the slots that still need them, one request (and key) per shipment.
const dialog = document.getElementById("short");
let shorting = null;
for (const button of document.querySelectorAll("button.short")) {
  button.addEventListener("click", () => {
    shorting = button.dataset.gtin;
    const open = Object.values(lines.get(shorting)).reduce((n, [q, p]) => n + q - p, 0);
    document.getElementById("short-title").textContent = message("short_title", { name: button.dataset.name });
    const qty = document.getElementById("short-qty");
    qty.max = open; qty.value = open;
    dialog.showModal();
  });
}
if (dialog) {
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "confirm" || !shorting) return;
    const form = dialog.querySelector("form");
    const reason = form.reason.value;
    let left = Math.max(1, parseInt(form.qty.value, 10) || 1);
    for (const [slot, [q, p]] of Object.entries(lines.get(shorting))) {
      const qty = Math.min(left, q - p);
      if (qty <= 0) continue;
      left -= qty;
      const shipment = state.shipments[Number(slot) - 1];
      const key = outbox.newId();
      const action = { id: key, kind: "short", url: `/api/v1/shipments/${shipment}/short`, headers: { "Idempotency-Key": key },
                       body: { reason, lines: [{ gtin: shorting, qty }] } };
      const sent = await outbox.send(action, () => location.reload());
      if (sent.queued) { say("info", message("queued", { code: shorting })); continue; }
      if (!sent.response.ok) { say("bad", await problem(sent.response)); return; }
      if (left <= 0) break;
    }
    location.reload();
  });
}

// Everything picked: each shipment marked picked, then to its packing (at `station` when a station's sign was
// scanned: packing starts there), or back to the tasks after a batch (each parcel is packed on its own).
async function finish(station = null) {
  const steps = state.shipments.map((shipment) => ({ id: outbox.newId(), kind: "picked", url: `/api/v1/shipments/${shipment}/picked` }));
  if (station && !state.batch) steps.push({ id: outbox.newId(), kind: "pack", url: `/api/v1/shipments/${state.shipments[0]}/pack`, body: { station } });
  for (const step of steps) {
    const sent = await outbox.send(step);
    if (sent.queued) { say("info", message("form_queued")); return; }
    if (!sent.response.ok) { say("bad", await problem(sent.response)); return; }
  }
  location.href = state.batch ? "/store/tasks" : `/store/pack/${state.shipments[0]}`;
}
const finishButton = document.getElementById("finish");
if (finishButton) finishButton.addEventListener("click", () => finish());

// Before picking has started, a scan starts it (the claim) and is then counted: the happy path needs no tap. The
// scan waits in this tab's session storage across the page's reload, under its scan_id, so it counts once.
const PENDING = `fulfil-pending-scan:${state.shipments.join(",")}`;
const start = document.getElementById("start");

async function scanBeforeStart(code) {
  sessionStorage.setItem(PENDING, JSON.stringify({ code, scanId: outbox.newId() }));
  start.requestSubmit();
}

const field = document.getElementById("code");
if (field) {
  listen(scanned, field);
  const pending = sessionStorage.getItem(PENDING);
  if (pending) {
    sessionStorage.removeItem(PENDING);
    const { code, scanId } = JSON.parse(pending);
    scanned(code, scanId);
  }
} else if (start) {
  listen(scanBeforeStart);
}
render();
