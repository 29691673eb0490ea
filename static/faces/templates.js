// Face templates made in the survivor's browser, from ordinary portraits they choose.
//
//   (a module: bring in loadFaceModels, findFaces and faceTemplateBundle from /static/faces/templates.js)
//   (no import statement here: collectstatic would read it as the module importing itself)
//   await loadFaceModels();                       // once; fetches face-api and its models from /static/vendor/
//   const found = await findFaces(file);          // {width, height, faces: [{box, score, vector, crop, quality}]}
//   // show found.faces[i].crop (a canvas) to the survivor; keep the vectors of the faces they confirm
//   const bundle = faceTemplateBundle([vector, ...]); // the bundle JSON object the service accepts
//
// The picture is decoded, searched and described on this device: this module never sends
// anything. Its only network requests are GETs for face-api, its model files and the WASM
// binaries, all from this site (see docs/detectors.md, "Templates made in the browser").
// A template is the 128 numbers of dlib's face recognition model (face-api ships dlib's ResNet
// weights), computed on a face chip cut exactly as dlib cuts it (chip.js) and averaged over the same
// four looks as the server's (the chip, its mirror, and both with only the inner-face oval kept),
// so browser templates sit close to the server's.

import { BUNDLE_FORMAT, BUNDLE_VERSION, TOOL, newItemId } from "../hashing/core.js";
import { DLIB_FIVE_OFFSET, drawChip, fivePoints, looks } from "./chip.js";

export const FACE_MODEL = "dlib-resnet-v1";
export const MAX_FACE_TEMPLATES = 50;
/** Pictures are shrunk to this longer side before faces are searched, as on the server. */
export const MAX_SIDE = 1024;
/** At most this many faces are described per picture, largest first (as on the server). */
export const MAX_FACES = 20;
/** Faces narrower than this (in pixels of the shrunk picture) are flagged as too small to be a good template. */
export const SMALL_FACE = 80;
/** A chip whose sharpness (variance of the Laplacian of its grey levels) is below this is flagged as
 * blurred; a face turned more than MAX_TURN (0 facing the camera, 1 in profile) as turned. The same
 * limits as the server's (takedown/detectors/faces.py MIN_SHARPNESS, MAX_TURN). */
export const MIN_SHARPNESS = 60;
export const MAX_TURN = 0.35;

/** A picture that cannot be used; `code` says why ("unreadable", "too-large", "models"). */
export class FaceError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "FaceError";
    this.code = code;
  }
}

const VENDOR = new URL("../vendor/face-api/", import.meta.url).href;
let loading = null;

/**
 * Load face-api (with TensorFlow.js's WASM backend, or its plain JavaScript CPU backend when
 * WebAssembly is not allowed) and the three models it needs. Safe to call many times; resolves
 * to {backend, version}. Rejects with FaceError("models") when a file cannot be loaded.
 */
export function loadFaceModels({ vendorUrl = VENDOR, backend = "wasm" } = {}) {
  if (!loading) {
    loading = (async () => {
      let faceapi;
      try {
        faceapi = await import(new URL("face-api.esm.js", vendorUrl).href);
      } catch (err) {
        throw new FaceError("models", `face-api could not be loaded from ${vendorUrl}: ${err && err.message}`);
      }
      const tf = faceapi.tf;
      let chosen = "cpu";
      if (backend === "wasm") {
        try {
          tf.setWasmPaths(vendorUrl);
          if (await tf.setBackend("wasm")) chosen = "wasm";
        } catch {
          chosen = "cpu"; // WebAssembly refused (no 'wasm-unsafe-eval' in the page's policy): slower, same numbers
        }
      }
      if (chosen === "cpu") await tf.setBackend("cpu");
      await tf.ready();
      const models = new URL("model/", vendorUrl).href;
      try {
        await Promise.all([
          faceapi.nets.ssdMobilenetv1.loadFromUri(models),
          faceapi.nets.faceLandmark68Net.loadFromUri(models),
          faceapi.nets.faceRecognitionNet.loadFromUri(models),
        ]);
      } catch (err) {
        throw new FaceError("models", `face models could not be loaded: ${err && err.message}`);
      }
      return { faceapi, backend: tf.getBackend(), version: faceapi.version };
    })();
    loading.catch(() => {
      loading = null; // let a later call try again
    });
  }
  return loading.then(({ backend: used, version }) => ({ backend: used, version }));
}

async function api() {
  await loadFaceModels();
  return (await loading).faceapi;
}

/** Decode a File/Blob into a canvas whose longer side is at most MAX_SIDE (EXIF orientation applied). */
export async function decodePicture(blob, { maxSide = MAX_SIDE } = {}) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch {
    try {
      bitmap = await createImageBitmap(blob); // browsers without the option apply EXIF orientation anyway
    } catch {
      throw new FaceError("unreadable", "This file is not a picture this browser can read.");
    }
  }
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true }); // read by the models and the chips
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return { canvas, scale };
}

/** A small picture of the face (its box with a margin), only for showing back on this device. */
function cropOf(canvas, box, side = 160) {
  const [left, top, right, bottom] = box;
  const margin = 0.25 * Math.max(right - left, bottom - top);
  const sx = Math.max(0, left - margin), sy = Math.max(0, top - margin);
  const sw = Math.min(canvas.width, right + margin) - sx, sh = Math.min(canvas.height, bottom + margin) - sy;
  const scale = Math.min(1, side / Math.max(sw, sh));
  const crop = document.createElement("canvas");
  crop.width = Math.max(1, Math.round(sw * scale));
  crop.height = Math.max(1, Math.round(sh * scale));
  const ctx = crop.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(canvas, sx, sy, sw, sh, 0, 0, crop.width, crop.height);
  return crop;
}

/** The 128-d descriptor of one face from its five landmarks (the mean over the four looks), and its chip. */
async function describe(faceapi, canvas, points5) {
  const net = faceapi.nets.faceRecognitionNet;
  const chip = drawChip(canvas, points5);
  const vectors = [];
  for (const look of looks(chip)) vectors.push(await net.computeFaceDescriptor(look));
  const vector = Array.from(vectors[0], (_x, i) => vectors.reduce((sum, v) => sum + v[i], 0) / vectors.length);
  return { vector, chip };
}

/** Variance of the Laplacian of a chip's grey levels, as the server's sharpness(). */
export function sharpness(chip) {
  const { width, height, data } = chip.getContext("2d").getImageData(0, 0, chip.width, chip.height);
  const grey = new Float64Array(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = 0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2];
  let sum = 0, sumSq = 0, n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const lap = grey[i - 1] + grey[i + 1] + grey[i - width] + grey[i + width] - 4 * grey[i];
      sum += lap; sumSq += lap * lap; n++;
    }
  }
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

/** 0 facing the camera, about 1 in profile, from the five chip points (the server's face_turn()). */
export function faceTurn(points5) {
  const [outerRight, , outerLeft, , nose] = points5;
  const mx = (outerRight[0] + outerLeft[0]) / 2, my = (outerRight[1] + outerLeft[1]) / 2;
  const span = Math.hypot(outerRight[0] - outerLeft[0], outerRight[1] - outerLeft[1]);
  if (span < 1e-6) return 1;
  const ax = (outerRight[0] - outerLeft[0]) / span, ay = (outerRight[1] - outerLeft[1]) / span;
  return Math.min(1, Math.abs((nose[0] - mx) * ax + (nose[1] - my) * ay) / (span / 2));
}

/**
 * The descriptor of a ready-made 150x150 face chip (anything drawImage takes), without averaging
 * with its mirror: for measuring how close face-api's port of dlib's network is to dlib itself.
 */
export async function chipDescriptor(chipImage) {
  const faceapi = await api();
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 150;
  canvas.getContext("2d").drawImage(chipImage, 0, 0, 150, 150);
  return Array.from(await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(canvas));
}

/**
 * Every face in one picture (largest first, at most MAX_FACES): {width, height, faces}, each face
 * {box: [left, top, right, bottom] in the picture's own pixels, points (the five landmarks the chip
 * is aligned on, [x, y] in the picture's pixels), score (detector confidence 0..1),
 * vector (128 numbers, the template), crop (a canvas to show the survivor), quality: {width (px of
 * the searched picture), small, sharpness, blurred, turn, turned}}. Rejects with FaceError("unreadable") for a file that is
 * not a picture. `minConfidence` is the detector's cut-off; `offset` moves face-api's five points
 * towards dlib's (chip.js DLIB_FIVE_OFFSET; a benchmark passes zeros to measure without it).
 */
export async function findFaces(blob, { minConfidence = 0.5, offset = DLIB_FIVE_OFFSET } = {}) {
  const faceapi = await api();
  const { canvas, scale } = await decodePicture(blob);
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 });
  const found = await faceapi.detectAllFaces(canvas, options).withFaceLandmarks();
  found.sort((a, b) => b.detection.box.area - a.detection.box.area);
  const faces = [];
  for (const result of found.slice(0, MAX_FACES)) {
    const { x, y, width, height } = result.detection.box;
    const box = [x, y, x + width, y + height];
    const points5 = fivePoints(result.landmarks.positions, offset);
    const { vector, chip } = await describe(faceapi, canvas, points5);
    const sharp = sharpness(chip);
    const turn = faceTurn(points5);
    faces.push({
      box: box.map((v) => Math.round(v / scale)),
      points: points5.map(([px, py]) => [Math.round((px / scale) * 10) / 10, Math.round((py / scale) * 10) / 10]),
      landmarks: result.landmarks.positions.map((p) => [Math.round((p.x / scale) * 10) / 10, Math.round((p.y / scale) * 10) / 10]),
      score: Math.round(result.detection.score * 1000) / 1000,
      vector: vector.map((v) => Math.round(v * 1e6) / 1e6),
      crop: cropOf(canvas, box),
      quality: {
        width: Math.round(width),
        small: width < SMALL_FACE,
        sharpness: Math.round(sharp * 10) / 10,
        blurred: sharp < MIN_SHARPNESS,
        turn: Math.round(turn * 1000) / 1000,
        turned: turn > MAX_TURN,
      },
    });
  }
  return { width: Math.round(canvas.width / scale), height: Math.round(canvas.height / scale), faces };
}

/** Euclidean distance between two templates (the server calls a match at most FACE_MATCH_THRESHOLD). */
export function distance(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}

/**
 * The face-template bundle the service accepts (docs/hash-bundle.md, "faces"): no items, one
 * entry per template with a random id. It holds numbers only: no picture, file name or metadata.
 */
export function faceTemplateBundle(vectors) {
  if (!vectors.length) throw new Error("at least one face template is needed");
  if (vectors.length > MAX_FACE_TEMPLATES) throw new Error(`at most ${MAX_FACE_TEMPLATES} face templates`);
  const faces = vectors.map((vector) => {
    if (vector.length !== 128 || !vector.every((v) => Number.isFinite(v) && Math.abs(v) <= 1)) {
      throw new Error("a face template is 128 numbers between -1 and 1");
    }
    return { id: newItemId(), model: FACE_MODEL, vector: Array.from(vector, (v) => Math.round(v * 1e6) / 1e6) };
  });
  return { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, tool: { ...TOOL }, items: [], faces };
}
