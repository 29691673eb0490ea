// "Check now" on the advocate's link page: while a check runs, poll its small JSON status and,
// when it is done, swap in the page's fresh state and checks (no reload, no inline script: CSP).
const box = document.querySelector("[data-check-status]");
const POLL_MS = 1500;
const MAX_POLLS = 400; // ten minutes: a check has hard time limits well below this

async function refreshSections() {
  const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) throw new Error(String(response.status));
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const id of ["item-state", "checks"]) {
    const mine = document.getElementById(id);
    const theirs = fresh.getElementById(id);
    if (mine && theirs) mine.replaceChildren(...theirs.childNodes);
  }
}

let shown = "";

function show(text, running) {
  if (text === shown) return; // a live region re-announces every change: change it only when it says something new
  shown = text;
  box.replaceChildren();
  if (running) {
    const bar = document.createElement("progress");
    bar.setAttribute("aria-label", box.dataset.textRunning);
    box.append(bar, " ");
  }
  const span = document.createElement("span");
  span.textContent = text;
  box.append(span);
}

async function poll(count) {
  let status;
  try {
    const response = await fetch(box.dataset.checkStatus, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(String(response.status));
    status = await response.json();
  } catch {
    show(box.dataset.textFailed, false);
    return;
  }
  if (status.running) {
    show(`${box.dataset.textRunning} ${status.step}.`, true);
    if (count < MAX_POLLS) window.setTimeout(() => poll(count + 1), POLL_MS);
    return;
  }
  try {
    await refreshSections();
  } catch {
    show(box.dataset.textFailed, false);
    return;
  }
  show(`${box.dataset.textDone} ${status.result}.`, false);
  box.dataset.running = "false";
  const button = document.querySelector("[data-check-button]");
  if (button) button.disabled = false;
}

if (box && box.dataset.running === "true") {
  poll(0);
}
