// The hashing pipeline on decoded pixels and file bytes, and the hash bundle.
//
// Pure functions on typed arrays (plus crypto.subtle / crypto.getRandomValues, which Node 20,
// pages and workers all provide): the worker, the main-thread fallback and the Node tests use
// exactly this code. Nothing here touches the DOM or the network.

import { compositeOverWhite, reduceWorkingSize } from "./preprocess.js";
import { pdqHash } from "./pdq.js";
import { phash, dhash } from "./imagehash.js";
import { Md5 } from "./md5.js";
import { REGISTERED_VARIANTS, TRIM_VARIANT } from "./variants.js";

export const BUNDLE_FORMAT = "takedown-hash-bundle";
export const BUNDLE_VERSION = 1;
export const TOOL = Object.freeze({ name: "takedown-browser", version: "0.1.0" });

/** Same limits as takedown/hashing (image.py MAX_IMAGE_BYTES, MAX_PIXELS; video.py). */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
export const MAX_PIXELS = 100_000_000;
/**
 * Video files are read into memory once for SHA-256 (crypto.subtle has no streaming API), so the
 * browser limit is lower than the server's 4 GiB.
 */
export const MAX_VIDEO_BYTES = 1024 * 1024 * 1024;
/** At one frame per second: two hours (video.py MAX_SAMPLED_FRAMES). */
export const MAX_SAMPLED_FRAMES = 7200;

/**
 * A failure with a machine-readable `code` the page turns into a translated sentence:
 * "unsupported" (not an image or video this browser can read), "unreadable" (corrupt or
 * truncated), "file-too-large", "image-too-large", "video-too-long", "insecure-context",
 * "failed" (anything else).
 */
export class HashingError extends Error {
  constructor(code, detail) {
    super(detail || code);
    this.name = "HashingError";
    this.code = code;
  }
}

function hashEntry(signal, value, quality, variant) {
  return { signal, value, quality, variant };
}

/**
 * PDQ, pHash and dHash of the reduced original, then PDQ of every registered variant and of the
 * border-trimmed original when trimming changes it: takedown.hashing.variants.registered_hashes.
 * @param {{pixels: Uint8Array, width: number, height: number}} image reduced RGB
 * @param {{variants?: Array<{label: string, apply: Function}>, trim?: boolean}} options
 */
export function registeredHashes(image, { variants = REGISTERED_VARIANTS, trim = true } = {}) {
  const { pixels, width, height } = image;
  const pdq = pdqHash(pixels, width, height);
  const out = [
    hashEntry("pdq", pdq.hex, pdq.quality, "original"),
    hashEntry("phash", phash(pixels, width, height), null, "original"),
    hashEntry("dhash", dhash(pixels, width, height), null, "original"),
  ];
  const extra = trim ? [...variants, TRIM_VARIANT] : variants;
  for (const variant of extra) {
    const edited = variant.apply(image);
    if (variant === TRIM_VARIANT && edited === image) continue;
    const h = pdqHash(edited.pixels, edited.width, edited.height);
    out.push(hashEntry("pdq", h.hex, h.quality, variant.label));
  }
  return out;
}

/** Canonical preprocessing of decoded RGBA: composite over white, then working-size reduction. */
export function preprocessRgba(rgba, width, height) {
  const rgb = compositeOverWhite(rgba, width, height);
  const { pixels, width: w, height: h } = reduceWorkingSize(rgb, width, height);
  return { pixels, width: w, height: h };
}

/** All perceptual hashes of a decoded still image (RGBA from a canvas). */
export function hashImageRgba(rgba, width, height, options) {
  checkPixels(width, height);
  return registeredHashes(preprocessRgba(rgba, width, height), options);
}

/** PDQ of one sampled video frame (variant "frame"). */
export function hashFrameRgba(rgba, width, height) {
  checkPixels(width, height);
  const { pixels, width: w, height: h } = preprocessRgba(rgba, width, height);
  const pdq = pdqHash(pixels, w, h);
  return hashEntry("pdq", pdq.hex, pdq.quality, "frame");
}

/** Frame hashes with repeated values removed, first occurrence kept (video.frame_hashes). */
export function dedupeFrameHashes(hashes) {
  const seen = new Set();
  return hashes.filter((h) => (seen.has(h.value) ? false : (seen.add(h.value), true)));
}

export function checkPixels(width, height) {
  if (!(width > 0 && height > 0)) {
    throw new HashingError("unreadable", "the picture has no pixels");
  }
  if (width * height > MAX_PIXELS) {
    throw new HashingError(
      "image-too-large",
      `${width}x${height} is more than ${MAX_PIXELS} pixels`,
    );
  }
}

function toHex(bytes) {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * MD5 and SHA-256 of a file's bytes (variant "file"), in the order video.hash_video lists them.
 * @param {ArrayBuffer} buffer
 * @param {(fraction: number) => void} [onProgress]
 */
export async function fileDigests(buffer, onProgress) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) {
    // crypto.subtle exists only in secure contexts (HTTPS or localhost).
    throw new HashingError("insecure-context", "crypto.subtle is unavailable");
  }
  const bytes = new Uint8Array(buffer);
  const md5 = new Md5();
  const chunk = 4 * 1024 * 1024;
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    md5.update(bytes.subarray(offset, offset + chunk));
    if (onProgress) onProgress(Math.min(offset + chunk, bytes.length) / bytes.length);
  }
  const sha = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return [hashEntry("md5", md5.hex(), null, "file"), hashEntry("sha256", toHex(sha), null, "file")];
}

/** A random item id: 32 lowercase hex characters from crypto.getRandomValues. */
export function newItemId() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return toHex(bytes);
}

/** One bundle item. `kind` is "image" or "video". */
export function makeItem(kind, hashes) {
  return { id: newItemId(), kind, hashes };
}

/**
 * The hash bundle the service accepts. It carries only ids, kinds and hashes: no file names,
 * EXIF, pixels, paths or timestamps.
 */
export function makeBundle(items) {
  return { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, tool: { ...TOOL }, items };
}
