// The work pages' stage buttons (start, give back, pack, close, ship, ready, hand over, take the return, chore done)
// through the outbox: with the network they are sent at once and the answer is shown; without one the action is
// kept on the device, the page says so plainly, its buttons are disabled so it is not done twice, and the action is
// sent when the network is back (docs/store-app.md, "Offline"). Forms marked `data-outbox` only; a button marked
// `data-outbox="no"` (a lookup that needs the server's answer to go on) submits as usual.

import * as outbox from "./outbox.js";
import { message, say, showOutbox } from "./feedback.js";

function feedbackBox(form) {
  if (!document.getElementById("feedback")) {
    const offline = Object.assign(document.createElement("div"), { id: "offline", className: "offline", hidden: true });
    offline.setAttribute("role", "status");
    const box = Object.assign(document.createElement("div"), { id: "feedback", className: "feedback" });
    box.setAttribute("aria-live", "assertive");
    form.before(offline, box);
  }
}

// The server's answer: the page to open next (X-Fulfil-Next, or where a redirect led: every action that succeeded
// answers so, post-redirect-get), or a page answered in place, which replaces this one: a refusal (a wrong pickup
// code, a return refused) shown with what was typed. Such a page's own module scripts do not run again here; its
// form then posts as a plain form, which the server answers the same.
async function show(response) {
  const next = response.headers.get("X-Fulfil-Next");
  if (next) {
    location.href = next;
    return;
  }
  if (response.redirected) {
    location.href = response.url;
    return;
  }
  const html = await response.text();
  history.replaceState(null, "", response.url);
  document.open();
  document.write(html);
  document.close();
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !("outbox" in form.dataset) || event.submitter?.dataset.outbox === "no") return;
  event.preventDefault();
  feedbackBox(form);
  const body = new URLSearchParams(new FormData(form, event.submitter || undefined)).toString();
  // The attribute, not form.action: these forms have a field named "action", which that property would return.
  const url = new URL(form.getAttribute("action") || location.href, location.href).href;
  const action = { id: outbox.newId(), kind: "form", url, form: body };
  const sent = await outbox.send(action, show);
  if (!sent.queued) {
    await show(sent.response);
    return;
  }
  for (const button of form.querySelectorAll("button")) button.disabled = true;
  say("info", message("form_queued"));
});

outbox.onChange((count) => { if (document.getElementById("offline")) showOutbox(count); });
// An action kept by an earlier page and sent now: this page may show an older state.
outbox.onLateAnswer((response, action) => { if (action.kind === "form") location.reload(); });
