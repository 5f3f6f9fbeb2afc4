// The store app's service worker (scope /store/): the app opens without a network (docs/store-app.md, "Offline").
//
// Pages and their files are fetched from the network first, and the last good copy of each is kept on the device;
// without a network the kept copy answers (a page never opened before answers the task queue's copy, else a short
// notice). API calls are never touched here: the page's outbox (outbox.js) keeps and replays them. Signing out
// deletes the kept pages (they show orders and customers); the outbox's actions stay, so no work is lost.

const PAGES = "fulfil-store-pages";
const SHELL = ["/store/static/store.css", "/store/static/app.js", "/store/static/scanner.js", "/store/static/outbox.js", "/store/static/feedback.js",
               "/store/static/pick.js", "/store/static/pack.js", "/store/static/tasks.js", "/store/static/returns.js", "/store/static/forms.js",
               "/store/static/label.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(PAGES).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

async function networkFirst(request, fallback) {
  const cache = await caches.open(PAGES);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected && response.type === "basic") await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const kept = (await cache.match(request, { ignoreVary: true })) || (fallback && (await cache.match(fallback)));
    if (kept) return kept;
    return new Response("<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'><title>Fulfil</title>"
      + "<h1>No network</h1><p>This page was never opened on this device. Go back, or wait for the network.</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin) return;
  if (event.request.method === "POST" && event.request.mode === "navigate" && url.pathname.startsWith("/store")) {
    event.respondWith(fetch(event.request).catch(() => new Response(  // a form the outbox does not keep (a search)
      "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'><title>Fulfil</title>"
      + "<h1>No network</h1><p>Nothing was sent. Go back and try again when the network is back.</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } })));
    return;
  }
  if (event.request.method !== "GET") return;
  if (url.pathname.startsWith("/store/static/")) {
    event.respondWith(networkFirst(event.request, null));
  } else if (event.request.mode === "navigate" && url.pathname.startsWith("/store") && !url.pathname.startsWith("/store/label/")) {
    event.respondWith(networkFirst(event.request, "/store/tasks"));
  }
});
