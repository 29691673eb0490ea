// Public entry point of the browser hasher.
//
//   (a page imports hashFiles and mountHasher from this module, /static/hashing/hasher.js)
//   const bundle = await hashFiles(fileList, { onProgress(i, f) {}, onError(i, message) {} });
//
// Files are read and hashed on this device only: this module and the worker it starts never
// make a network request. The result is a hash bundle (see core.js makeBundle) that a form can
// submit instead of the files. See docs/browser-hashing.md.

import {
  HashingError,
  MAX_IMAGE_BYTES,
  MAX_VIDEO_BYTES,
  dedupeFrameHashes,
  makeBundle,
  makeItem,
} from "./core.js";
import { decodeImage, sampleVideoFrames, canDecodeImages } from "./decode.js";
import { runTask } from "./tasks.js";

/** English fallbacks for the messages shown when a file cannot be hashed, by error code. */
export const DEFAULT_MESSAGES = Object.freeze({
  unsupported: "This file is not a picture or video that this browser can read.",
  unreadable: "This file could not be read. It may be damaged or incomplete.",
  "file-too-large": "This file is too large to fingerprint in the browser.",
  "image-too-large": "This picture has too many pixels to fingerprint safely.",
  "video-too-long": "This video is longer than two hours and cannot be fingerprinted here.",
  "insecure-context": "Fingerprinting needs a secure (https) connection to this site.",
  duplicate: "This file was already added.",
  failed: "Something went wrong while fingerprinting this file.",
});

const VIDEO_EXTENSIONS = /\.(mp4|m4v|mov|webm|mkv|avi|3gp|3g2|ogv|mpg|mpeg|wmv)$/i;

/** "image" or "video", from the MIME type or, when the browser gives none, the extension. */
export function kindOf(file) {
  const type = (file.type || "").toLowerCase();
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("image/")) return "image";
  return VIDEO_EXTENSIONS.test(file.name || "") ? "video" : "image";
}

/** The sentence to show for an error, from `messages` (e.g. translated) or the English default. */
export function messageFor(err, messages = {}) {
  const code = err && err.code && DEFAULT_MESSAGES[err.code] ? err.code : "failed";
  return messages[code] || DEFAULT_MESSAGES[code];
}

// ---------------------------------------------------------------- engines

/** Runs tasks on this thread (no Worker, or the worker failed to start). */
class InlineEngine {
  constructor() {
    this.decodesImages = canDecodeImages();
  }

  run(type, data, { onProgress } = {}) {
    return runTask(type, data, onProgress || (() => {}));
  }

  close() {}
}

/** Runs tasks in the module worker, one promise per request id. */
class WorkerEngine {
  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    this.pending = new Map();
    this.decodesImages = false;
    worker.addEventListener("message", (event) => this.receive(event.data));
    worker.addEventListener("error", (event) => {
      this.failAll(new HashingError("failed", (event && event.message) || "worker error"));
    });
  }

  receive(message) {
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (message.type === "progress") {
      if (entry.onProgress) entry.onProgress(message.fraction);
      return;
    }
    this.pending.delete(message.id);
    if (message.type === "result") entry.resolve(message.result);
    else entry.reject(new HashingError(message.code, message.detail));
  }

  failAll(err) {
    for (const entry of this.pending.values()) entry.reject(err);
    this.pending.clear();
  }

  run(type, data = {}, { onProgress, transfer = [] } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, type, ...data }, transfer);
    });
  }

  close() {
    this.failAll(new HashingError("failed", "hasher closed"));
    this.worker.terminate();
  }
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** A worker engine if module workers work here, else the inline engine. */
async function createEngine(workerUrl) {
  if (typeof Worker !== "function" || workerUrl === null) {
    return new InlineEngine();
  }
  let engine = null;
  try {
    const url = workerUrl || new URL("./worker.js", import.meta.url);
    engine = new WorkerEngine(new Worker(url, { type: "module" }));
    // Browsers without module workers fail here (error event or no answer), not at construction.
    const hello = await withTimeout(engine.run("hello"), 10000);
    engine.decodesImages = Boolean(hello && hello.canDecodeImages);
    return engine;
  } catch {
    if (engine) engine.close();
    return new InlineEngine();
  }
}

// ---------------------------------------------------------------- per file

// The service refuses a bundle that lists the same file twice (takedown.hashing.bundle), so a
// file whose SHA-256 was already hashed is reported as "duplicate" and left out.
function checkNotSeen(digests, seen) {
  const sha = digests.find((h) => h.signal === "sha256").value;
  if (seen.has(sha)) {
    throw new HashingError("duplicate", "the same file was already added");
  }
  return sha;
}

async function hashImageFile(engine, file, report, seen) {
  if (file.size > MAX_IMAGE_BYTES) {
    throw new HashingError("file-too-large", `${file.size} bytes`);
  }
  const digests = await engine.run("digest", { blob: file }, {
    onProgress: (f) => report(0.3 * f),
  });
  const sha = checkNotSeen(digests, seen);
  report(0.35);
  let hashes;
  if (engine.decodesImages) {
    hashes = await engine.run("hash-image-blob", { blob: file }, {
      onProgress: (f) => report(0.35 + 0.6 * f),
    });
  } else {
    // The worker cannot decode (no OffscreenCanvas there): decode here, hash there.
    const { rgba, width, height } = await decodeImage(file);
    report(0.6);
    const buffer = rgba.buffer;
    hashes = await engine.run("hash-image-rgba", { rgba: buffer, width, height }, { transfer: [buffer] });
  }
  seen.add(sha);
  return makeItem("image", [...hashes, ...digests]);
}

async function hashVideoFile(engine, file, report, seen, signal) {
  if (file.size > MAX_VIDEO_BYTES) {
    throw new HashingError("file-too-large", `${file.size} bytes`);
  }
  const digests = await engine.run("digest", { blob: file }, {
    onProgress: (f) => report(0.15 * f),
  });
  const sha = checkNotSeen(digests, seen);
  const frames = [];
  await sampleVideoFrames(file, {
    signal,
    onProgress: (f) => report(0.15 + 0.85 * f),
    onFrame: async (rgba, width, height) => {
      const buffer = rgba.buffer;
      frames.push(
        await engine.run("hash-frame-rgba", { rgba: buffer, width, height }, { transfer: [buffer] }),
      );
    },
  });
  const hashes = dedupeFrameHashes(frames);
  if (hashes.length === 0) {
    throw new HashingError("unreadable", "video has no decodable frames");
  }
  seen.add(sha);
  return makeItem("video", [...hashes, ...digests]);
}

/**
 * Hash files into a bundle, one file at a time (bounded memory).
 * @param {Iterable<File>|FileList} files
 * @param {object} [options]
 * @param {(fileIndex: number, fraction: number) => void} [options.onProgress] 0..1 per file
 * @param {(fileIndex: number, message: string, code: string) => void} [options.onError]
 * @param {Record<string, string>} [options.messages] sentences by error code (translations)
 * @param {AbortSignal} [options.signal] stops between files and between video frames
 * @param {string|URL|null} [options.workerUrl] where worker.js is served; null: no worker
 * @param {Set<string>} [options.seenSha256] SHA-256 values of files already in the caller's
 *   bundle; files with these digests are reported as "duplicate". Updated in place.
 * @returns {Promise<object>} the hash bundle (files that failed are left out; it can have no
 *   items, which the service refuses, so check items.length before submitting)
 */
export async function hashFiles(files, options = {}) {
  const { onProgress, onError, messages = {}, signal, workerUrl } = options;
  const seen = options.seenSha256 || new Set();
  const list = Array.from(files);
  const items = [];
  const engine = await createEngine(workerUrl);
  try {
    for (let index = 0; index < list.length; index++) {
      if (signal && signal.aborted) {
        throw signal.reason || new DOMException("aborted", "AbortError");
      }
      const file = list[index];
      let last = 0;
      const report = (fraction) => {
        // Monotonic, so a progress bar never jumps back.
        last = Math.max(last, Math.min(fraction, 1));
        if (onProgress) onProgress(index, last);
      };
      try {
        report(0);
        const item =
          kindOf(file) === "video"
            ? await hashVideoFile(engine, file, report, seen, signal)
            : await hashImageFile(engine, file, report, seen);
        items.push(item);
        report(1);
      } catch (err) {
        if (err && err.name === "AbortError") throw err;
        const code = err && err.code && DEFAULT_MESSAGES[err.code] ? err.code : "failed";
        if (onError) onError(index, messageFor(err, messages), code);
      }
    }
  } finally {
    engine.close();
  }
  return makeBundle(items);
}

// ---------------------------------------------------------------- progressive enhancement

/** English fallbacks for the page texts; each can be overridden by a data-text-* attribute. */
export const DEFAULT_TEXTS = Object.freeze({
  choose: "Choose pictures or videos",
  drop: "or drop them here. They stay on this device; only their fingerprints are sent.",
  progress: "Fingerprinting {name}",
  fileDone: "{name}: fingerprinted",
  fileError: "{name}: {message}",
  done: "Fingerprints ready for {count} file(s). Only the fingerprints will be sent.",
  busy: "Please wait until fingerprinting has finished.",
  held: "Photo or video {n}: fingerprint kept",
});

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
}

function camel(code) {
  return code.replace(/-(\w)/g, (m, c) => c.toUpperCase());
}

let mountCount = 0;

/** The items of a bundle a page was sent back with (its hidden field), or [] if none or unreadable. */
function heldItems(value) {
  if (!value) return [];
  try {
    const bundle = JSON.parse(value);
    return bundle && Array.isArray(bundle.items) ? bundle.items : [];
  } catch {
    return [];
  }
}

/**
 * Wire a file input, a drop zone, per-file progress bars, an aria-live region and a hidden
 * <input name="bundle"> inside `root`, so a Django form submits only the bundle JSON.
 *
 * Existing children are used when present ([data-hasher-input], [data-hasher-dropzone],
 * [data-hasher-list], [data-hasher-status], [data-hasher-errors], input[name=bundle]);
 * missing ones are created. Texts come from data-text-* attributes on `root` (data-text-choose,
 * data-text-drop, data-text-progress, data-text-file-done, data-text-file-error, data-text-done,
 * data-text-busy, data-text-held) and error sentences from data-msg-<code> (data-msg-unsupported,
 * data-msg-unreadable, data-msg-file-too-large, data-msg-image-too-large,
 * data-msg-video-too-long, data-msg-insecure-context, data-msg-duplicate, data-msg-failed), with English
 * fallbacks. Fires "takedown:bundle" (detail: {bundle}) on `root` after each batch.
 *
 * @param {HTMLElement} root
 * @param {{workerUrl?: string|URL|null}} [options]
 * @returns {{getBundle(): object, reset(): void, destroy(): void}}
 */
export function mountHasher(root, options = {}) {
  const doc = root.ownerDocument;
  const uid = `takedown-hasher-${++mountCount}`;
  const text = (key) => root.dataset[`text${key[0].toUpperCase()}${key.slice(1)}`] || DEFAULT_TEXTS[key];
  const messages = {};
  for (const code of Object.keys(DEFAULT_MESSAGES)) {
    const value = root.dataset[camel(`msg-${code}`)];
    if (value) messages[code] = value;
  }
  const make = (tag, attrs = {}) => {
    const el = doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
  };
  const find = (selector, create) => root.querySelector(selector) || root.appendChild(create());

  const input = find("[data-hasher-input]", () =>
    make("input", { type: "file", multiple: "", accept: "image/*,video/*", "data-hasher-input": "" }),
  );
  // Without a name the browser never uploads the chosen files with the form.
  input.removeAttribute("name");
  if (!input.id) input.id = `${uid}-input`;
  const dropzone = find("[data-hasher-dropzone]", () => {
    const zone = make("div", { "data-hasher-dropzone": "", class: "takedown-hasher__dropzone" });
    const label = make("label", { for: input.id });
    label.textContent = text("choose");
    const hint = make("p");
    hint.textContent = text("drop");
    zone.append(label, hint);
    return zone;
  });
  const list = find("[data-hasher-list]", () => make("ul", { "data-hasher-list": "", class: "takedown-hasher__list" }));
  const status = find("[data-hasher-status]", () =>
    make("p", { "data-hasher-status": "", role: "status", "aria-live": "polite" }),
  );
  const errors = find("[data-hasher-errors]", () =>
    make("div", { "data-hasher-errors": "", role: "alert", "aria-live": "assertive" }),
  );
  const hidden = find('input[name="bundle"]', () => make("input", { type: "hidden", name: "bundle" }));

  let items = [];
  let seenSha256 = new Set();
  let busy = false;
  let rowCount = 0;
  const form = root.closest("form");

  // A form sent back with an error keeps the bundle in the hidden field: list what is held (the
  // bundle has no file names, so each is "Photo or video n") and add new files to it, not in its place.
  const held = heldItems(hidden.value);
  if (held.length) {
    items = held;
    for (const item of held) {
      const sha = (item.hashes || []).find((h) => h && h.signal === "sha256");
      if (sha) seenSha256.add(sha.value);
    }
    held.forEach((item, i) => {
      const li = make("li", { "data-hasher-held": "" });
      li.textContent = fill(text("held"), { n: i + 1 });
      list.appendChild(li);
    });
    status.textContent = fill(text("done"), { count: items.length });
  }

  const publish = () => {
    const bundle = makeBundle(items.slice());
    hidden.value = items.length ? JSON.stringify(bundle) : "";
    root.dispatchEvent(new CustomEvent("takedown:bundle", { detail: { bundle }, bubbles: true }));
  };

  const setBusy = (value) => {
    busy = value;
    root.setAttribute("aria-busy", value ? "true" : "false");
    input.disabled = value;
  };

  async function handle(fileList) {
    const files = Array.from(fileList || []);
    if (busy || files.length === 0) return;
    setBusy(true);
    errors.textContent = "";
    const rows = files.map((file) => {
      const n = ++rowCount;
      const li = make("li");
      const label = make("span", { id: `${uid}-label-${n}` });
      label.textContent = fill(text("progress"), { name: file.name });
      const bar = make("progress", { max: "1", value: "0", "aria-labelledby": label.id });
      li.append(label, bar);
      list.appendChild(li);
      return { li, label, bar, name: file.name };
    });
    try {
      const bundle = await hashFiles(files, {
        messages,
        seenSha256,
        workerUrl: options.workerUrl,
        onProgress: (i, fraction) => {
          rows[i].bar.value = fraction;
          if (fraction >= 1) rows[i].label.textContent = fill(text("fileDone"), { name: rows[i].name });
        },
        onError: (i, message) => {
          const line = fill(text("fileError"), { name: rows[i].name, message });
          rows[i].label.textContent = line;
          rows[i].bar.remove();
          const p = make("p");
          p.textContent = line;
          errors.appendChild(p);
        },
      });
      items = items.concat(bundle.items);
      publish();
      status.textContent = fill(text("done"), { count: items.length });
    } finally {
      input.value = "";
      setBusy(false);
    }
  }

  const onChange = () => handle(input.files);
  const onDragOver = (event) => {
    event.preventDefault();
    dropzone.classList.add("is-dragover");
  };
  const onDragLeave = () => dropzone.classList.remove("is-dragover");
  const onDrop = (event) => {
    event.preventDefault();
    dropzone.classList.remove("is-dragover");
    handle(event.dataTransfer && event.dataTransfer.files);
  };
  const onSubmit = (event) => {
    if (busy) {
      event.preventDefault();
      status.textContent = text("busy");
    }
  };
  input.addEventListener("change", onChange);
  dropzone.addEventListener("dragover", onDragOver);
  dropzone.addEventListener("dragleave", onDragLeave);
  dropzone.addEventListener("drop", onDrop);
  if (form) form.addEventListener("submit", onSubmit);
  root.classList.add("takedown-hasher--ready");

  return {
    getBundle: () => makeBundle(items.slice()),
    reset() {
      items = [];
      seenSha256 = new Set();
      list.textContent = "";
      errors.textContent = "";
      status.textContent = "";
      publish();
    },
    destroy() {
      input.removeEventListener("change", onChange);
      dropzone.removeEventListener("dragover", onDragOver);
      dropzone.removeEventListener("dragleave", onDragLeave);
      dropzone.removeEventListener("drop", onDrop);
      if (form) form.removeEventListener("submit", onSubmit);
      root.classList.remove("takedown-hasher--ready");
    },
  };
}
