// Mount the browser hasher on every [data-hasher] element of the page. The hasher keeps the
// chosen files on this device; only the bundle of hashes goes into the form.
import { mountHasher } from "../hashing/hasher.js";

function mountAll(root) {
  for (const element of root.querySelectorAll("[data-hasher]")) {
    if (element.dataset.hasherMounted === "true") continue;
    element.dataset.hasherMounted = "true";
    mountHasher(element);
  }
}

mountAll(document);
// A form submitted by the page's script replaces <main> (static/js/quick-exit.js): mount there too.
document.addEventListener("takedown:swapped", (event) => mountAll(event.detail.root));
