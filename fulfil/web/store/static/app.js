// Every store app page: register the service worker (the app opens offline), and on the sign-in page forget the
// pages kept for offline use (they show orders and customers of the session that ended).

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/store/sw.js", { scope: "/store/" }).catch(() => {});
}
if (document.body.dataset.page === "sign-in" && "caches" in window) {
  caches.delete("fulfil-store-pages");
}
