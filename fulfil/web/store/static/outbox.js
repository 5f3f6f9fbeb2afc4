// The device's outbox: every action the store app sends to the API goes through here (docs/store-app.md, "Offline").
//
// With the network up an action is sent at once. When it is down (fetch fails without an answer) the action is kept
// in IndexedDB, in order, and sent again when the network is back ("online", and every few seconds): scans carry
// their scan_id and short picks their Idempotency-Key, so an action the server received before the connection broke
// counts once; a page's stage form replayed after its first sending got through is refused by the shipment's state
// (already packed, already handed over), never done twice. While anything is waiting, new actions queue behind it, so they reach the server in the order made.

const DB_NAME = "fulfil-store";
const STORE = "outbox";
const RETRY_MS = 4000;
const listeners = new Set();
let flushing = null;

function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, work) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const all = () => run("readonly", (store) => store.getAll());
const keep = (action) => run("readwrite", (store) => store.add(action));
const drop = (seq) => run("readwrite", (store) => store.delete(seq));

async function post(action) {
  if (action.form !== undefined) {  // a page's form (forms.js): posted as the browser would, its redirect followed
    return fetch(action.url, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Fulfil-Outbox": "1" }, body: action.form,
      credentials: "same-origin",
    });
  }
  return fetch(action.url, {
    method: action.method || "POST",
    headers: { "Content-Type": "application/json", ...(action.headers || {}) },
    body: action.body === undefined ? undefined : JSON.stringify(action.body),
    credentials: "same-origin",
  });
}

let waiting = null;  // how many actions are kept (null: not read yet); kept current by notify()

async function notify() {
  waiting = (await all()).length;
  for (const listener of listeners) listener(waiting);
}

// Called with the number of actions kept on the device whenever it changes.
export function onChange(listener) {
  listeners.add(listener);
  notify();
}

// Send an action now, or keep it for later: resolves to {response} or {queued: true}.
export async function send(action, onReplayed) {
  if ((waiting ?? (await all()).length) === 0) {  // nothing kept: no database to open on the way (every scan comes here)
    try {
      return { response: await post(action) };
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;  // no answer at all: the network
    }
  }
  await keep({ ...action, madeAt: Date.now() });
  if (onReplayed) replayed.set(action.id, onReplayed);
  await notify();
  schedule();
  return { queued: true };
}

const replayed = new Map();  // action id -> what to do with its answer when it is finally sent

// Send what is kept, in order; stop at the first that still gets no answer.
export function flush() {
  if (!flushing) {
    flushing = (async () => {
      try {
        for (const action of await all()) {
          let response;
          try {
            response = await post(action);
          } catch (error) {
            return;
          }
          await drop(action.seq);
          await notify();
          const then = replayed.get(action.id);
          replayed.delete(action.id);
          if (then) await then(response, action);
          else for (const listener of answerListeners) await listener(response, action);
        }
      } finally {
        flushing = null;
      }
    })();
  }
  return flushing;
}

const answerListeners = new Set();
// Answers to actions kept by an earlier page (the page was reloaded while offline).
export function onLateAnswer(listener) {
  answerListeners.add(listener);
}

let timer = null;
function schedule() {
  if (timer) return;
  timer = setInterval(async () => {
    await flush();
    if ((await all()).length === 0) {
      clearInterval(timer);
      timer = null;
    }
  }, RETRY_MS);
}

window.addEventListener("online", () => flush());
all().then((kept) => { waiting = kept.length; if (kept.length) { schedule(); flush(); } });

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
