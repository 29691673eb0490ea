// Show a field only when the choice it belongs to is made: an element with
// data-reveal-when="<input name>=<value>" is hidden unless that radio button is checked (the
// email address only when "By email" is chosen). Without JavaScript every field stays shown.

function apply(root) {
  for (const element of root.querySelectorAll("[data-reveal-when]")) {
    const [name, value] = element.dataset.revealWhen.split("=");
    const form = element.closest("form") || root;
    const chosen = form.querySelector(`input[name="${name}"]:checked`);
    element.hidden = !(chosen && chosen.value === value);
  }
}

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLInputElement && target.type === "radio") {
    apply(target.form || document);
  }
});
apply(document);
// A form sent back with errors replaces <main> in place (static/js/quick-exit.js): apply there too.
document.addEventListener("takedown:swapped", (event) => apply(event.detail.root));
