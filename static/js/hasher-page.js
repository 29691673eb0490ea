// Mount the browser hasher on every [data-hasher] element of the page. The hasher keeps the
// chosen files on this device; only the bundle of hashes goes into the form.
import { mountHasher } from "../hashing/hasher.js";

for (const root of document.querySelectorAll("[data-hasher]")) {
  mountHasher(root);
}
