// Test page for static/faces/templates.js: describes every picture chosen in #files and writes
// the results (templates, boxes, timings; no pixels) as JSON into #result. The crops are shown on
// the page, as the survivor's page will show them, and never leave it.
import { loadFaceModels, findFaces, faceTemplateBundle } from "/static/faces/templates.js";

const input = document.getElementById("files");
const status = document.getElementById("status");
const crops = document.getElementById("crops");
const result = document.getElementById("result");
// ?raw: face-api's own five points, without the offset towards dlib's (the benchmark compares both).
const options = new URLSearchParams(location.search).has("raw") ? { offset: new Array(10).fill(0) } : {};

input.addEventListener("change", async () => {
  result.textContent = "";
  document.body.dataset.done = "";
  const started = performance.now();
  const loaded = await loadFaceModels();
  const loadMs = performance.now() - started;
  const files = Array.from(input.files);
  const out = [];
  for (const [index, file] of files.entries()) {
    status.textContent = `Looking at picture ${index + 1} of ${files.length}`;
    const t = performance.now();
    try {
      const found = await findFaces(file, options);
      for (const face of found.faces) crops.append(face.crop);
      out.push({
        name: file.name,
        ms: performance.now() - t,
        faces: found.faces.map(({ box, points, landmarks, score, vector, quality }) => ({ box, points, landmarks, score, vector, quality })),
      });
    } catch (err) {
      out.push({ name: file.name, ms: performance.now() - t, error: `${err.code || err.name}: ${err.message}` });
    }
  }
  const firstFaces = out.filter((r) => r.faces && r.faces.length).map((r) => r.faces[0].vector);
  const bundle = firstFaces.length ? faceTemplateBundle(firstFaces.slice(0, 50)) : null;
  result.textContent = JSON.stringify({ backend: loaded.backend, version: loaded.version, loadMs, results: out, bundle });
  status.textContent = `Done: ${files.length} picture(s).`;
  document.body.dataset.done = "1";
});
