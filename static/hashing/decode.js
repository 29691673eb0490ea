// Decoding in the browser: files to RGBA pixels (images) and sampled frames (videos).
//
// Contract step 1 (docs/hashing.md): createImageBitmap with EXIF orientation applied and no
// colour-space conversion, drawn at natural size onto a canvas, read back with getImageData.
// Only functions live here; nothing touches the DOM or worker globals until it is called, so the
// module also loads in Node (for tests) and in a module worker.

import { HashingError, checkPixels, MAX_SAMPLED_FRAMES } from "./core.js";

const BITMAP_OPTIONS = Object.freeze({
  imageOrientation: "from-image",
  colorSpaceConversion: "none",
  premultiplyAlpha: "none",
});
// Engines from before the 'from-image' enum value reject it with a TypeError; they apply EXIF
// orientation by default anyway.
const BITMAP_OPTIONS_LEGACY = Object.freeze({ colorSpaceConversion: "none", premultiplyAlpha: "none" });

/** Whether this context (page or worker) can decode images into pixels. */
export function canDecodeImages() {
  if (typeof createImageBitmap !== "function") {
    return typeof document !== "undefined" && typeof Image === "function";
  }
  if (typeof OffscreenCanvas === "function") {
    try {
      return new OffscreenCanvas(1, 1).getContext("2d") !== null;
    } catch {
      return typeof document !== "undefined";
    }
  }
  return typeof document !== "undefined";
}

function makeContext(width, height) {
  let canvas;
  if (typeof OffscreenCanvas === "function") {
    canvas = new OffscreenCanvas(width, height);
  } else {
    canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) {
    throw new HashingError("failed", "no 2D canvas available");
  }
  return ctx;
}

function readPixels(source, width, height) {
  checkPixels(width, height);
  const ctx = makeContext(width, height);
  ctx.drawImage(source, 0, 0, width, height);
  // getImageData returns non-premultiplied RGBA, the input of contract step 2.
  return { rgba: ctx.getImageData(0, 0, width, height).data, width, height };
}

function decodeFailure(blob, err) {
  const looksLikeImage = (blob.type || "").startsWith("image/");
  return new HashingError(
    looksLikeImage ? "unreadable" : "unsupported",
    `image decoding failed: ${err && err.message ? err.message : err}`,
  );
}

async function bitmapOf(blob) {
  try {
    return await createImageBitmap(blob, BITMAP_OPTIONS);
  } catch (err) {
    if (err instanceof TypeError) {
      try {
        return await createImageBitmap(blob, BITMAP_OPTIONS_LEGACY);
      } catch (err2) {
        throw decodeFailure(blob, err2);
      }
    }
    throw decodeFailure(blob, err);
  }
}

/**
 * Decode a still image (for an animated GIF/WebP/APNG: its first frame) to RGBA.
 * @param {Blob} blob
 * @returns {Promise<{rgba: Uint8ClampedArray, width: number, height: number}>}
 */
export async function decodeImage(blob) {
  if (typeof createImageBitmap === "function") {
    const bitmap = await bitmapOf(blob);
    try {
      return readPixels(bitmap, bitmap.width, bitmap.height);
    } finally {
      bitmap.close();
    }
  }
  // Old engines without createImageBitmap: an <img> element (which applies EXIF orientation).
  if (typeof document === "undefined") {
    throw new HashingError("unsupported", "this browser cannot decode images here");
  }
  const url = URL.createObjectURL(blob);
  try {
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
    } catch (err) {
      throw decodeFailure(blob, err);
    }
    return readPixels(img, img.naturalWidth, img.naturalHeight);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Resolve on `event`, reject on the element's "error" event or after `ms` milliseconds. */
function waitFor(element, event, ms, code) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      element.removeEventListener(event, ok);
      element.removeEventListener("error", bad);
    };
    const ok = () => {
      cleanup();
      resolve();
    };
    const bad = () => {
      cleanup();
      reject(new HashingError(code, `video ${event} failed`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new HashingError("unreadable", `video ${event} timed out`));
    }, ms);
    element.addEventListener(event, ok);
    element.addEventListener("error", bad);
  });
}

const VIDEO_TIMEOUT_MS = 20000;

/**
 * Sample a video at 0 s, 1 s, 2 s, ... through a <video> element (main thread only: workers
 * have no media elements) and hand each frame's RGBA to `onFrame`.
 * The browser shows, at time t, the frame whose display interval contains t; the Python side
 * takes the first frame at or after t. Frames are matched as a bag (vPDQ), so this does not
 * matter for matching, but the frame hashes are not expected to be bit-identical.
 * @param {Blob} blob
 * @param {{onFrame: (rgba, width, height) => Promise<void>|void, onProgress?: (f: number) => void, signal?: AbortSignal}} options
 */
export async function sampleVideoFrames(blob, { onFrame, onProgress, signal } = {}) {
  if (typeof document === "undefined") {
    throw new HashingError("unsupported", "videos can only be read on the page");
  }
  const url = URL.createObjectURL(blob);
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  try {
    const loaded = waitFor(video, "loadeddata", VIDEO_TIMEOUT_MS, "unsupported");
    video.src = url;
    await loaded;
    let duration = video.duration;
    if (!Number.isFinite(duration)) {
      // Some recordings (e.g. MediaRecorder WebM) do not state a duration until the end is seen.
      const seekedEnd = waitFor(video, "seeked", VIDEO_TIMEOUT_MS, "unreadable");
      video.currentTime = Number.MAX_SAFE_INTEGER;
      await seekedEnd;
      duration = video.duration;
    }
    if (!Number.isFinite(duration) || duration < 0) {
      throw new HashingError("unreadable", "video has no usable duration");
    }
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!(width > 0 && height > 0)) {
      throw new HashingError("unsupported", "file has no video picture");
    }
    checkPixels(width, height);
    const count = Math.max(1, Math.ceil(duration));
    if (count > MAX_SAMPLED_FRAMES) {
      throw new HashingError("video-too-long", `video is longer than ${MAX_SAMPLED_FRAMES} seconds`);
    }
    const ctx = makeContext(width, height);
    for (let i = 0; i < count; i++) {
      if (signal && signal.aborted) {
        throw signal.reason || new DOMException("aborted", "AbortError");
      }
      const t = i;
      if (Math.abs(video.currentTime - t) > 1e-6) {
        const seeked = waitFor(video, "seeked", VIDEO_TIMEOUT_MS, "unreadable");
        video.currentTime = t;
        await seeked;
      }
      ctx.drawImage(video, 0, 0, width, height);
      await onFrame(ctx.getImageData(0, 0, width, height).data, width, height);
      if (onProgress) onProgress((i + 1) / count);
    }
  } finally {
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(url);
  }
}
