// The console, live: every few seconds it asks GET /ops/changes whether anything it shows changed (a decision, an
// order's or a shipment's journal, a location). When it did, the page is fetched again and its map, key figures and
// decisions table are swapped in, one section at a time, never one a person is using (a control in it has focus, or
// one of its forms is half-filled: that section waits for the next round). New decisions are announced politely.
// Without this script the page works the same, with a reload.

const live = document.getElementById("live");
const POLL_MS = Number(live?.dataset.pollMs) || 3000;
const SECTIONS = ["map", "kpis", "decisions"];
const decisionIds = (root) => new Set([...root.querySelectorAll("tr[data-decision]")].map((tr) => tr.dataset.decision));

let version = live?.dataset.version;
let waiting = false;  // a section was left alone last time: fetch the page again even if nothing new happened

/** Whether a person is using this section: a control in it has focus, or a form in it has values not yet sent. */
export function busy(section) {
  const focused = document.activeElement;
  if (focused && focused !== document.body && section.contains(focused)) return true;
  for (const control of section.querySelectorAll("input, textarea")) {
    if (control.type === "checkbox" || control.type === "radio") {
      if (control.checked !== control.defaultChecked) return true;
    } else if (control.type !== "hidden" && control.value !== control.defaultValue) return true;
  }
  for (const select of section.querySelectorAll("select")) {
    const chosen = [...select.options].findIndex((option) => option.defaultSelected);
    if (select.selectedIndex !== Math.max(chosen, 0)) return true;  // none marked: the first is the default
  }
  return false;
}

function announce(count) {
  if (!count) return;
  // Emptied first: the same words twice in a row are announced twice.
  live.textContent = "";
  const words = count === 1 ? live.dataset.one : live.dataset.many.replace("{n}", String(count));
  requestAnimationFrame(() => { live.textContent = words; });
}

async function refresh() {
  const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok || response.redirected) return false;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  let left = false;
  for (const id of SECTIONS) {
    const shown = document.getElementById(id);
    const fresh = page.getElementById(id);
    if (!shown || !fresh) continue;
    if (busy(shown)) { left = true; continue; }
    if (id === "decisions") {
      const before = decisionIds(shown);
      const added = [...fresh.querySelectorAll("tr[data-decision]")].filter((tr) => !before.has(tr.dataset.decision));
      for (const tr of added) tr.classList.add("fresh");
      shown.replaceWith(fresh);
      announce(added.length);
    } else {
      shown.replaceWith(fresh);
    }
  }
  return left;
}

async function poll() {
  try {
    if (document.visibilityState === "visible") {
      const answer = await fetch("/ops/changes", { credentials: "same-origin", cache: "no-store" });
      if (answer.status === 401) return;  // signed out elsewhere: stop; a reload shows the sign-in page
      if (answer.ok) {
        const now = (await answer.json()).version;
        if (now !== version || waiting) {
          waiting = await refresh();
          version = now;
        }
      }
    }
  } catch (error) {
    // No network, or the server restarting: the page shown stays, the next round tries again.
  }
  setTimeout(poll, POLL_MS);
}

if (live) setTimeout(poll, POLL_MS);
