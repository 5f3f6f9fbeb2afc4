// Keyboard-wedge scans captured wherever the focus is (docs/store-app.md, "Scanning").
//
// A handheld's scanner (Zebra DataWedge, Honeywell Scan Wedge, an RFID sled) types the code and Enter. Keys typed
// while no text field has the focus are buffered here, not acted on one by one, and the Enter that ends a scan is
// kept from pressing the button that happens to have the focus (a known failure of store apps). The page's own code
// field submits its text as a scan. GS1's group separator arrives as GS (0x1D) or as Ctrl+] (DataWedge's mapping).
// The same label read twice within 100 ms is one scan; a buffer left half-typed for half a second is dropped.

const GS = "\u001d";
const MIN_LENGTH = 4;
const DOUBLE_READ_MS = 100;
const STALE_MS = 500;

function editable(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function listen(onScan, field = null) {
  let buffer = "";
  let typedAt = 0;
  let last = { code: "", at: 0 };

  const emit = (raw) => {
    const code = raw.replace(/^[\s]+|[\s]+$/g, "");
    if (code.length < MIN_LENGTH) return false;
    const now = performance.now();
    if (code === last.code && now - last.at < DOUBLE_READ_MS) return true;
    last = { code, at: now };
    onScan(code);
    return true;
  };

  document.addEventListener("keydown", (event) => {
    if (event.target === field) {
      if (event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) {
        event.preventDefault();
        field.setRangeText(GS, field.selectionStart, field.selectionEnd, "end");
      }
      return;  // the field's form submits it
    }
    if (editable(event.target) || document.querySelector("dialog[open]")) return;  // another field, or a question open
    const now = performance.now();
    if (now - typedAt > STALE_MS) buffer = "";
    typedAt = now;
    if (event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) {
      buffer += GS;
      event.preventDefault();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Enter" || event.key === "Tab") {
      if (buffer) {
        event.preventDefault();  // the scan's Enter must not press the focused button
        const code = buffer;
        buffer = "";
        emit(code);
      }
      return;
    }
    if (event.key.length === 1) {
      buffer += event.key;
      event.preventDefault();
    }
  }, true);

  document.addEventListener("paste", (event) => {  // scanners that paste instead of typing
    if (editable(event.target) || document.querySelector("dialog[open]")) return;
    const text = event.clipboardData ? event.clipboardData.getData("text") : "";
    if (emit(text)) event.preventDefault();
  });

  document.documentElement.dataset.scanner = "on";  // listening (tests wait for it before scanning a fresh page)
  if (field) {
    field.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const code = field.value;
      field.value = "";
      emit(code);
    });
  }
}
