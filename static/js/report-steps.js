// The report form in short steps: one section at a time with Continue and Back, so a phone shows
// one group of questions per screen and few tab stops. Without JavaScript, or when the form came
// back with errors (the error summary links to every field), all sections are shown at once.
// Texts come from data-text-* attributes on the form (translated), with English fallbacks.

const DEFAULTS = {
  step: "Step {n} of {total}",
  continue: "Continue",
  back: "Back",
  required: "Please answer this before you continue.",
};

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
}

function missing(section) {
  for (const field of section.querySelectorAll("input[required], textarea[required], select[required]")) {
    if (field.closest("[hidden]")) continue;
    if (field.type === "radio") {
      const group = section.querySelectorAll(`input[type="radio"][name="${field.name}"]`);
      if (![...group].some((r) => r.checked)) return field;
    } else if (field.type === "checkbox" ? !field.checked : !field.value.trim()) {
      return field;
    }
  }
  return null;
}

function mount(form) {
  if (form.dataset.stepsMounted === "true") return;
  form.dataset.stepsMounted = "true";
  if (form.querySelector("[data-error-summary]")) return;
  const steps = [...form.querySelectorAll(":scope > section")];
  const submit = form.querySelector(':scope > button[type="submit"]');
  if (steps.length < 2 || !submit) return;
  const text = (key) => form.dataset[`text${key[0].toUpperCase()}${key.slice(1)}`] || DEFAULTS[key];
  const doc = form.ownerDocument;
  let current = 0;

  const show = (index, focus) => {
    current = index;
    steps.forEach((section, k) => {
      section.hidden = k !== index;
    });
    if (focus) steps[index].querySelector("h2").focus();
  };

  steps.forEach((section, index) => {
    const heading = section.querySelector("h2");
    heading.tabIndex = -1;
    const count = doc.createElement("p");
    count.className = "step-count";
    count.textContent = fill(text("step"), { n: index + 1, total: steps.length });
    heading.after(count);
    const error = doc.createElement("p");
    error.className = "error-message";
    error.setAttribute("role", "alert");
    error.id = `${section.getAttribute("aria-labelledby") || `step-${index}`}-error`;
    const nav = doc.createElement("div");
    nav.className = "step-nav";
    if (index < steps.length - 1) {
      const next = doc.createElement("button");
      next.type = "button";
      next.textContent = text("continue");
      next.addEventListener("click", () => {
        const field = missing(section);
        if (field) {
          error.textContent = text("required");
          field.setAttribute("aria-describedby", `${field.getAttribute("aria-describedby") || ""} ${error.id}`.trim());
          field.focus();
          return;
        }
        error.textContent = "";
        show(index + 1, true);
      });
      nav.append(next);
    } else {
      nav.append(submit);
    }
    if (index > 0) {
      const back = doc.createElement("button");
      back.type = "button";
      back.className = "secondary";
      back.textContent = text("back");
      back.addEventListener("click", () => show(index - 1, true));
      nav.append(back);
    }
    section.append(error, nav);
  });

  // Enter in a one-line field moves on instead of sending the whole form from an early step.
  form.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key !== "Enter" || current === steps.length - 1) return;
    if (!(target instanceof HTMLInputElement) || ["checkbox", "radio", "file"].includes(target.type)) return;
    event.preventDefault();
    steps[current].querySelector(".step-nav button").click();
  });
  show(0, false);
}

for (const form of document.querySelectorAll("form[data-steps]")) mount(form);
document.addEventListener("takedown:swapped", (event) => {
  for (const form of event.detail.root.querySelectorAll("form[data-steps]")) mount(form);
});
