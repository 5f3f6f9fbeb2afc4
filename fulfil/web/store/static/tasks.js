// The task queue, live: the store's stream (GET /api/v1/locations/{id}/stream) says when something changed there; the
// queue is fetched again, and a task that was not in it before is announced with a tone, a vibration (after the
// first tap: browsers' rule) and a message. Due times count down every 30 s.

import { alertNewWork, message, say } from "./feedback.js";

const state = JSON.parse(document.getElementById("state").textContent);
const WORK = { pick: "work_pick", curbside: "work_curbside", receive: "work_receive", put_back: "work_task", cycle_count: "work_task" };
const refs = (root = document) => new Map([...root.querySelectorAll("li.task[data-ref]")].map((li) => [li.dataset.ref, li.dataset.kind]));
let announced = refs();  // the tasks the person has been told about (shown, or announced while they were busy)

function countdowns() {
  const now = Date.now();
  for (const time of document.querySelectorAll("time[data-countdown]")) {
    const minutes = Math.round((Date.parse(time.getAttribute("datetime")) - now) / 60000);
    let left = time.nextElementSibling;
    if (!left || !left.classList.contains("left")) {
      left = document.createElement("span");
      left.className = "left";
      time.after(left);
    }
    left.classList.toggle("late", minutes < 0);
    const span = Math.abs(minutes);
    const hours = Math.floor(span / 60);
    const late = minutes < 0;
    left.textContent = span < 60 ? message(late ? "due_late" : "due_in", { minutes: span })
      : span < 24 * 60 ? message(late ? "due_late_hours" : "due_in_hours", { hours, minutes: String(span % 60).padStart(2, "0") }) : "";
  }
}

let refreshing = null;
async function refresh() {
  let response;
  try {
    response = await fetch(location.href, { credentials: "same-origin" });
  } catch (error) {
    return;  // no network: the queue shown stays, the next change tries again
  }
  if (response.redirected) { location.assign(response.url); return; }  // signed out meanwhile: the sign-in page says why
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("queue");
  if (!fresh) return;
  const before = announced;
  announced = refs(fresh);
  const added = [...announced].filter(([ref]) => !before.has(ref));
  if (added.length) {
    alertNewWork();
    say("info", message("new_work", { what: added.map(([, kind]) => message(WORK[kind] || "work_task")).join(", ") }));
  }
  if (editing()) {  // a count being typed, orders ticked for a batch: the queue is replaced once that is done
    clearTimeout(refreshing);
    refreshing = setTimeout(refresh, 1000);
    return;
  }
  const focused = document.getElementById("queue").contains(document.activeElement);
  document.getElementById("queue").replaceWith(fresh);
  if (focused) focusFirst();
  countdowns();
}

// What the person is in the middle of in the queue, which replacing it would wipe out.
function editing() {
  return [...document.querySelectorAll("#queue input")].some((i) => i === document.activeElement || (i.type === "checkbox" ? i.checked : i.value !== ""));
}

function soon() {  // several events of one change make one refresh
  clearTimeout(refreshing);
  refreshing = setTimeout(refresh, 300);
}

const stream = new EventSource(`/api/v1/locations/${encodeURIComponent(state.location)}/stream`);
for (const family of ["shipment", "pickup", "task", "order"]) {
  stream.addEventListener(family, soon);
}
// The stream starts from the moment it connects: what changed between this page being rendered and then is fetched
// once the stream is open (and again after a reconnect), so no task falls in between.
stream.addEventListener("open", soon);
// The most urgent task's link has the focus, so the handheld's Enter key (or a tap) opens it: no hunting for it.
function focusFirst() {
  const first = document.querySelector("li.task a.open");
  if (first && !document.querySelector("main input:focus, main select:focus")) first.focus();
}
focusFirst();
countdowns();
setInterval(countdowns, 30000);
