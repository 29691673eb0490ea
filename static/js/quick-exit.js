// Quick exit: leave this site at once for a neutral one, ending the survivor's session and leaving
// no history entry behind.
//
// Why location.replace: it swaps the current history entry for the neutral site, so "Back" does
// not return here. Survivor pages also open internal links with replace (data-single-history) and
// submit their forms with fetch (below), so the whole visit to this site occupies one history entry
// that the quick exit then overwrites. Pressing Escape twice within a second does the same, for
// people who cannot reach the button.
//
// Why both a beacon and a cookie: the beacon asks the server to end the session (POST
// /case/exit/), but it can be lost (offline, blocked, the tab killed). The page also deletes the
// presence cookie the server set at sign-in, and the server treats a survivor session without it as
// signed out (takedown/cases/access.py), so typing /case/ afterwards shows the sign-in page either way.
const link = document.querySelector("[data-quick-exit]");
const PRESENCE_COOKIE = "td_presence";
const FETCH_HEADER = "X-Takedown-Fetch";
const LOCATION_HEADER = "X-Takedown-Location";

function forgetPresence() {
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${PRESENCE_COOKIE}=; Max-Age=0; Path=/; SameSite=Lax${secure}`;
}

function endSessionOnServer() {
  const url = link && link.dataset.exitUrl;
  if (!url) return;
  let queued = false;
  try {
    queued = navigator.sendBeacon(url);
  } catch (_err) {
    queued = false;
  }
  if (!queued) {
    try {
      fetch(url, { method: "POST", keepalive: true, credentials: "same-origin" }).catch(() => {});
    } catch (_err) {
      // Leaving matters more; the deleted presence cookie already ends the session.
    }
  }
}

function forgetCredentials() {
  for (const element of document.querySelectorAll("[data-forget-after]")) {
    element.replaceChildren();
    element.removeAttribute("open");
  }
}

function leave(event) {
  if (event) event.preventDefault();
  endSessionOnServer();
  forgetPresence();
  forgetCredentials();
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

// A page that shows a new case's reference and PIN forgets them when the session would have ended
// (idle or maximum length) and when the page is left, so the back/forward cache cannot bring them back.
function forgetLater(root) {
  for (const element of root.querySelectorAll("[data-forget-after]")) {
    const seconds = Number(element.dataset.forgetAfter);
    if (!Number.isFinite(seconds) || seconds <= 0) continue;
    window.setTimeout(() => {
      const note = document.createElement("p");
      note.textContent = element.dataset.forgottenText || "";
      element.replaceWith(note);
    }, seconds * 1000);
  }
}
forgetLater(document);
window.addEventListener("pagehide", forgetCredentials);

const singleHistory = document.body.dataset.singleHistory === "true";

if (singleHistory) {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = event.target.closest("a[href]");
    if (!anchor || anchor.hasAttribute("data-quick-exit") || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    // A link to a place on this page (an error summary's link to its field) needs no load.
    if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) return;
    event.preventDefault();
    window.location.replace(url.href);
  });
}

// Swap the page's <main> for the one in `html` (a form's answer: its errors, or the next step),
// then put the focus where a person needs it: the error summary, or the top of the new content.
function swapMain(html) {
  const next = new DOMParser().parseFromString(html, "text/html");
  const incoming = next.querySelector("main");
  const current = document.querySelector("main");
  if (!incoming || !current) return false;
  const adopted = document.adoptNode(incoming);
  current.replaceWith(adopted);
  if (next.title) document.title = next.title;
  window.scrollTo(0, 0);
  const summary = adopted.querySelector("[data-error-summary]") || adopted.querySelector("[role='alert']");
  const target = summary || adopted;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
  forgetLater(adopted);
  // Page scripts (the hasher) mount themselves on the new content.
  document.dispatchEvent(new CustomEvent("takedown:swapped", { detail: { root: adopted } }));
  return true;
}

async function submitWithFetch(form, submitter) {
  let body;
  try {
    body = new FormData(form, submitter || undefined);
  } catch (_err) {
    body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
  }
  const url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
  form.setAttribute("aria-busy", "true");
  let response;
  try {
    response = await fetch(url.href, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { [FETCH_HEADER]: "1" },
    });
  } catch (_err) {
    // The network failed before an answer: an ordinary submission still works (with a history entry).
    form.removeAttribute("aria-busy");
    HTMLFormElement.prototype.submit.call(form);
    return;
  }
  const target = response.headers.get(LOCATION_HEADER);
  if (target !== null) {
    window.location.replace(new URL(target, window.location.href).href);
    return;
  }
  if (response.redirected) {
    window.location.replace(response.url);
    return;
  }
  const html = await response.text();
  if (!swapMain(html)) {
    // Not a page of this site (an unexpected answer): show it rather than nothing.
    document.open();
    document.write(html);
    document.close();
  }
}

if (singleHistory && window.fetch && window.DOMParser) {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") return;
    if (form.target || form.hasAttribute("data-native-submit")) return;
    const url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    event.preventDefault();
    submitWithFetch(form, event.submitter);
  });
}
