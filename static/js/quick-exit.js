// Quick exit: leave this site at once for a neutral one, without leaving a history entry.
//
// Why location.replace: it swaps the current history entry for the neutral site, so "Back" does
// not return here. Survivor pages also open internal links with replace (data-single-history), so
// the whole visit to this site occupies one history entry that the quick exit then overwrites.
// Pressing Escape twice within a second does the same, for people who cannot reach the button.
const link = document.querySelector("[data-quick-exit]");

function leave(event) {
  if (event) event.preventDefault();
  try {
    window.sessionStorage.clear();
  } catch (_err) {
    // Storage may be disabled; leaving matters more.
  }
  document.body.hidden = true;
  document.title = "";
  window.location.replace(link.href);
}

if (link) {
  link.addEventListener("click", leave);
  let lastEscape = 0;
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const now = Date.now();
    if (now - lastEscape < 1000) leave(event);
    lastEscape = now;
  });
}

if (document.body.dataset.singleHistory === "true") {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = event.target.closest("a[href]");
    if (!anchor || anchor.hasAttribute("data-quick-exit") || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    event.preventDefault();
    window.location.replace(url.href);
  });
}
