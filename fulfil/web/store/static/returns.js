// The returns desk: a tag scanned anywhere on the page goes into the page's scan field and is added at once (the
// finder, before an order is open; the desk's "Add" after). Without this script the fields work by hand.

import { listen } from "./scanner.js";

const desk = document.getElementById("desk");
const form = desk || document.getElementById("find");
const field = desk ? document.getElementById("code") : document.getElementById("q");
if (form && field) {
  listen((code) => {
    field.value = code;
    form.requestSubmit(desk ? document.getElementById("add") : undefined);
  });
}
