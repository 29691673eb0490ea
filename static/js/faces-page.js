// The survivor's face-matching page: face templates made on this device from portraits they choose.
//
// The chosen pictures are decoded, searched and described here (static/faces/templates.js); each
// face found is shown back (on this device only) with a "This is me" box, and only the templates
// of the ticked faces go into the form, as a bundle of numbers. The file input has no name, so the
// browser never uploads the pictures with the form. Texts come from the element's data-text-*
// attributes (translated by the page); {name}, {n}, {total} and {count} are filled in here.
import { FaceError, faceTemplateBundle, findFaces, loadFaceModels, MAX_FACE_TEMPLATES } from "../faces/templates.js";

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));

export function mountFaceMaker(root) {
  const doc = root.ownerDocument;
  const text = (key) => root.dataset[`text${key[0].toUpperCase()}${key.slice(1)}`] || key;
  const input = root.querySelector("[data-face-input]");
  const status = root.querySelector("[data-face-status]");
  const errors = root.querySelector("[data-face-errors]");
  const list = root.querySelector("[data-face-list]");
  const hidden = root.querySelector("[data-face-bundle]");
  const form = root.closest("form");
  input.removeAttribute("name"); // never uploaded with the form
  const faces = []; // {vector, box: the checkbox}
  let busy = false;
  let photoCount = 0;

  const make = (tag, attrs = {}, content = "") => {
    const el = doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (content) el.textContent = content;
    return el;
  };

  const publish = () => {
    const chosen = faces.filter((f) => f.box.checked).map((f) => f.vector);
    hidden.value = chosen.length ? JSON.stringify(faceTemplateBundle(chosen.slice(0, MAX_FACE_TEMPLATES))) : "";
    status.textContent = chosen.length ? fill(text("ready"), { count: chosen.length }) : text("noneReady");
  };

  const problem = (message) => errors.appendChild(make("p", {}, message));

  const showFace = (face, index, photo, several) => {
    const n = faces.length + 1;
    const item = make("li", { class: "face-found" });
    const caption = make("p", { id: `face-caption-${n}` }, fill(text("face"), { n: index + 1, name: photo.name }));
    face.crop.setAttribute("role", "img");
    face.crop.setAttribute("aria-label", caption.textContent);
    face.crop.classList.add("face-crop");
    const box = make("input", { type: "checkbox", id: `face-${n}`, "aria-describedby": caption.id });
    box.checked = !several; // with several faces in one photo, the survivor ticks their own
    const label = make("label", { for: box.id }, text("thisIsMe"));
    const tick = make("div", { class: "checkbox" });
    tick.append(label, box); // the site's checkbox rows put the box first visually (site.css)
    item.append(face.crop, caption, tick);
    const q = face.quality;
    const warnings = [q.small && text("small"), q.blurred && text("blurred"), q.turned && text("turned")].filter(Boolean);
    if (warnings.length) {
      const ul = make("ul", { class: "face-warnings" });
      for (const w of warnings) ul.appendChild(make("li", {}, w));
      item.appendChild(ul);
    }
    box.addEventListener("change", publish);
    list.appendChild(item);
    faces.push({ vector: face.vector, box });
  };

  async function handle(fileList) {
    const files = Array.from(fileList || []);
    if (busy || !files.length) return;
    busy = true;
    root.setAttribute("aria-busy", "true");
    input.disabled = true;
    errors.textContent = "";
    try {
      status.textContent = text("loading");
      try {
        await loadFaceModels();
      } catch {
        problem(text("models"));
        return;
      }
      for (const [i, file] of files.entries()) {
        photoCount += 1;
        const photo = { name: file.name || fill(text("photo"), { n: photoCount }) };
        status.textContent = fill(text("looking"), { n: i + 1, total: files.length });
        let found;
        try {
          found = await findFaces(file);
        } catch (err) {
          problem(fill(err instanceof FaceError && err.code === "unreadable" ? text("unreadable") : text("failed"), photo));
          continue;
        }
        if (!found.faces.length) {
          problem(fill(text("noFace"), photo));
          continue;
        }
        if (found.faces.length > 1) problem(fill(text("several"), photo));
        found.faces.forEach((face, index) => showFace(face, index, photo, found.faces.length > 1));
      }
    } finally {
      input.value = "";
      input.disabled = false;
      busy = false;
      root.setAttribute("aria-busy", "false");
      publish();
    }
  }

  input.addEventListener("change", () => handle(input.files));
  if (form) {
    form.addEventListener("submit", (event) => {
      if (busy) {
        event.preventDefault();
        status.textContent = text("busy");
      }
    });
  }
  root.hidden = false;
  const fallback = doc.querySelector("[data-face-maker-fallback]");
  if (fallback) fallback.hidden = true;
}

const mountAll = (scope) => {
  for (const root of scope.querySelectorAll("[data-face-maker]")) mountFaceMaker(root);
};
mountAll(document);
// A form sent back with errors replaces <main> in place (static/js/quick-exit.js submits forms by
// fetch so the visit keeps one history entry): the new copy of the picker needs mounting too, or it
// stays hidden and only the advocates' file route is left.
document.addEventListener("takedown:swapped", (event) => mountAll(event.detail.root));
