// The pack page. Picked: a scan of a station's sign chooses the station and starts packing there, a scan of a
// pre-printed parcel label packs in that parcel (at the station chosen); no tap needed. Packed: the RFID verdict of the pack station, live from the location's stream (every new verdict for this
// shipment), with each problem said in words; a complete verdict brings the next step (ship, or ready for pickup).

import { listen } from "./scanner.js";
import { message, say } from "./feedback.js";

const state = JSON.parse(document.getElementById("state").textContent);
const names = new Map([...document.querySelectorAll("li.line")].map((li) => [li.dataset.gtin, li.dataset.name]));

function show(verdict) {
  const summary = document.getElementById("verdict-summary");
  const list = document.getElementById("verdict-problems");
  if (!summary || !verdict) return;
  list.replaceChildren();
  const add = (text) => { const li = document.createElement("li"); li.textContent = text; list.append(li); };
  const name = (gtin) => names.get(gtin) || gtin;
  for (const x of verdict.missing || []) add(message("missing", { name: name(x.gtin), seen: x.seen, expected: x.expected }));
  for (const x of verdict.wrong_quantity || []) add(message("wrong_quantity", { name: name(x.gtin), seen: x.seen, expected: x.expected }));
  for (const x of verdict.extra || []) add(message("extra", { name: name(x.gtin), seen: x.seen }));
  for (const x of verdict.foreign || []) add(message("foreign", { epc: x.epc, reason: x.reason }));
  document.getElementById("verdict").classList.toggle("complete", verdict.complete);
  document.getElementById("verdict").classList.toggle("problem", !verdict.complete);
  summary.textContent = verdict.complete ? message("verdict_complete") : "";
  if (verdict.complete) say("ok", message("verdict_complete"));
  else say("bad", list.firstChild ? list.firstChild.textContent : message("verdict_waiting"));
}

if (state.status === "packed") {
  if (state.verdict) show(state.verdict);
  const stream = new EventSource(`/api/v1/locations/${encodeURIComponent(state.location)}/stream`);
  stream.addEventListener("verification", (event) => {
    const row = JSON.parse(event.data);
    if (row.shipment_id !== state.shipment) return;
    show(row.verdict);
    if (row.complete) { stream.close(); setTimeout(() => location.reload(), 600); }
  });
  stream.addEventListener("open", async () => {  // a verdict between the page's rendering and the stream's start
    const response = await fetch(`/api/v1/shipments/${state.shipment}/verification`, { credentials: "same-origin" });
    if (!response.ok) return;  // 404: no verdict yet
    const row = await response.json();
    show(row.verdict);
    const seen = `fulfil-verdict-seen:${state.shipment}`;
    if (row.complete && sessionStorage.getItem(seen) !== String(row.id)) {  // once per verdict: an older parcel's never loops
      sessionStorage.setItem(seen, String(row.id));
      stream.close();
      location.reload();
    }
  });
  stream.addEventListener("shipment", (event) => {  // closed elsewhere (another handheld, an override)
    const row = JSON.parse(event.data);
    if (row.shipment_id === state.shipment && row.kind !== "shipment.packed") { stream.close(); location.reload(); }
  });
}

// Verified: the next step's button has the focus, so the handheld's Enter key (or a tap) takes it.
const next = document.querySelector("form button.primary");
if (state.status === "verified" && next) next.focus();

// Picked: scanning starts packing (the server checks the label: an SSCC of this company, on no other parcel).
const startPacking = document.getElementById("start-packing");
if (state.status === "picked" && startPacking) {
  listen((code) => {
    const station = code.trim().toLowerCase();
    const select = startPacking.elements.station;
    if (/^pack-station(-[a-z0-9._-]+)?$/.test(station)) {
      if (![...select.options].some((o) => o.value === station)) select.add(new Option(station, station));
      select.value = station;
    } else {
      startPacking.elements.label.value = code;
    }
    say("info", message("packing_at", { station: select.value }));
    startPacking.requestSubmit();
  });
}
