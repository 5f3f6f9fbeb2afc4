// What the picker sees, hears and feels after an action: a message, a short tone and a vibration (a longer, lower
// one for a refusal). Sound and vibration need a first tap on the page (browsers' rule); before it there is only the
// message, which a screen reader also announces.

const M = JSON.parse(document.getElementById("messages").textContent);
let audio = null;

export function format(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (_, key) => (values[key] ?? "").toString());
}

export function message(key, values) {
  return format(M[key] || key, values);
}

export const colours = M.colours || {};

function unlock() {
  if (!audio && window.AudioContext) audio = new AudioContext();
  if (audio && audio.state === "suspended") audio.resume();
}
document.addEventListener("pointerdown", unlock, { capture: true });
document.addEventListener("keydown", unlock, { capture: true });

function tone(frequency, ms) {
  if (!audio || audio.state !== "running") return;
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = frequency;
  gain.gain.value = 0.2;
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start();
  oscillator.stop(audio.currentTime + ms / 1000);
}

function buzz(pattern) {
  try {
    if (navigator.vibrate) navigator.vibrate(pattern);
  } catch (error) { /* not allowed before a tap */ }
}

// Show a message in the page's feedback box: kind is "ok", "bad" or "info".
export function say(kind, text) {
  const box = document.getElementById("feedback");
  if (!box) return;
  box.className = `feedback ${kind}`;
  box.setAttribute("role", kind === "bad" ? "alert" : "status");
  box.textContent = text;
  if (kind === "ok") { tone(1200, 90); buzz(40); }
  if (kind === "bad") { tone(220, 350); buzz([200, 80, 200]); }
}

export function alertNewWork() {
  tone(880, 150);
  setTimeout(() => tone(1320, 150), 180);
  buzz([120, 60, 120]);
}

// Show how many actions wait on the device (0: the banner goes away).
export function showOutbox(count) {
  const banner = document.getElementById("offline");
  if (!banner) return;
  banner.hidden = count === 0 && navigator.onLine;
  banner.textContent = count > 1 ? message("offline", { count }) : count === 1 ? message("offline_one") : message("offline_none");
}
window.addEventListener("offline", () => showOutbox(0));
window.addEventListener("online", () => { const b = document.getElementById("offline"); if (b && !b.textContent.match(/\d/)) b.hidden = true; });
