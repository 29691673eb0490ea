// Registering-side variants: deterministic edits of the reduced original whose PDQ hashes are
// registered too, so a found copy that was cropped, rotated or partly covered still matches.
//
// Port of takedown/hashing/variants.py (the set was chosen there by measurement; see
// docs/hashing.md). Every transform is integer arithmetic on the reduced RGB array, so the
// browser produces the same arrays, and therefore the same hashes, as the server.
//
// An image is {pixels: Uint8Array (RGB, row-major), width, height}. A variant is
// {label, apply(image) -> image}.

/** Fixed-point cos/sin (x 65536) per whole degree, as written in variants.py. */
export const ROTATION_CONSTANTS = Object.freeze({
  2: [65496, 2287],
  3: [65446, 3430],
  4: [65376, 4572],
  5: [65287, 5712],
  6: [65177, 6850],
  8: [64898, 9121],
  10: [64540, 11380],
});
/** Colour outside the source picture after a rotation. */
export const ROTATION_FILL = Object.freeze([0, 0, 0]);
/** Border detection: per-channel tolerance, share of a line that must match, minimum kept. */
export const BORDER_TOLERANCE = 16;
export const BORDER_COVERAGE = 0.98;
export const BORDER_MIN_KEEP = 0.25;

function slice(image, top, bottom, left, right) {
  // Rows [top, bottom) and columns [left, right), copied into a new contiguous image.
  const width = Math.max(right - left, 0);
  const height = Math.max(bottom - top, 0);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const src = ((top + y) * image.width + left) * 3;
    out.set(image.pixels.subarray(src, src + width * 3), y * width * 3);
  }
  return { pixels: out, width, height };
}

/** Remove floor(H*top/100) rows from the top, floor(H*bottom/100) from the bottom, etc. */
export function cropPercent(image, top, bottom, left, right) {
  const { width, height } = image;
  const t = Math.floor((height * top) / 100);
  const b = Math.floor((height * bottom) / 100);
  const l = Math.floor((width * left) / 100);
  const r = Math.floor((width * right) / 100);
  return slice(image, t, height - b, l, width - r);
}

/** Add floor(H*p/100) rows above and below and floor(W*p/100) columns each side, in `colour`. */
export function padPercent(image, percent, colour) {
  const { width, height } = image;
  const dy = Math.floor((height * percent) / 100);
  const dx = Math.floor((width * percent) / 100);
  const outW = width + 2 * dx;
  const outH = height + 2 * dy;
  const out = new Uint8Array(outW * outH * 3);
  for (let i = 0; i < outW * outH; i++) {
    out[i * 3] = colour[0];
    out[i * 3 + 1] = colour[1];
    out[i * 3 + 2] = colour[2];
  }
  for (let y = 0; y < height; y++) {
    const src = y * width * 3;
    out.set(image.pixels.subarray(src, src + width * 3), ((y + dy) * outW + dx) * 3);
  }
  return { pixels: out, width: outW, height: outH };
}

/** Mirror left-right. */
export function flipHorizontal(image) {
  const { width, height, pixels } = image;
  const out = new Uint8Array(pixels.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      const d = (y * width + (width - 1 - x)) * 3;
      out[d] = pixels[s];
      out[d + 1] = pixels[s + 1];
      out[d + 2] = pixels[s + 2];
    }
  }
  return { pixels: out, width, height };
}

// Python's `>>` and `&` on negative integers behave like floor division and a non-negative
// modulo; JavaScript's bitwise operators are 32-bit and would overflow for wide images, so
// these use plain arithmetic (exact: every value stays far below 2^53).
const floorDiv = (a, b) => Math.floor(a / b);
const mod = (a, b) => ((a % b) + b) % b;

/**
 * Rotate counter-clockwise by whole `degrees` (negative: clockwise) about the centre, same
 * canvas size, fixed-point bilinear sampling exactly as variants.rotate (see its docstring).
 */
export function rotate(image, degrees, fill = ROTATION_FILL) {
  const constants = ROTATION_CONSTANTS[Math.abs(degrees)];
  if (!constants) {
    throw new RangeError(`no rotation constants for ${degrees} degrees`);
  }
  const [c, s0] = constants;
  const s = degrees >= 0 ? s0 : -s0;
  const { width, height, pixels } = image;
  const out = new Uint8Array(width * height * 3);
  // Sample (px, py) of the picture padded by one pixel of `fill` on every side; indices are
  // clipped onto that border, as numpy.clip does in the Python.
  const sample = (px, py, ch) => {
    if (px <= 0 || py <= 0 || px >= width + 1 || py >= height + 1) return fill[ch];
    return pixels[((py - 1) * width + (px - 1)) * 3 + ch];
  };
  const clip = (v, hi) => (v < 0 ? 0 : v > hi ? hi : v);
  for (let y = 0; y < height; y++) {
    const dy2 = 2 * y - (height - 1);
    for (let x = 0; x < width; x++) {
      const dx2 = 2 * x - (width - 1);
      const u = c * dx2 - s * dy2 + (width - 1) * 65536;
      const v = s * dx2 + c * dy2 + (height - 1) * 65536;
      const x0 = floorDiv(u, 131072);
      const y0 = floorDiv(v, 131072);
      const fx = floorDiv(mod(u, 131072), 512);
      const fy = floorDiv(mod(v, 131072), 512);
      const xa = clip(x0 + 1, width + 1);
      const xb = clip(x0 + 2, width + 1);
      const ya = clip(y0 + 1, height + 1);
      const yb = clip(y0 + 2, height + 1);
      const d = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = sample(xa, ya, ch) * (256 - fx) + sample(xb, ya, ch) * fx;
        const bottom = sample(xa, yb, ch) * (256 - fx) + sample(xb, yb, ch) * fx;
        out[d + ch] = (top * (256 - fy) + bottom * fy + 32768) >> 16;
      }
    }
  }
  return { pixels: out, width, height };
}

// Median of integers as numpy.median, then .astype(int16): the mean of the two middle values
// for an even count, truncated toward zero (values are non-negative, so floored).
function medianTruncated(values) {
  const sorted = Int32Array.from(values).sort();
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 ? sorted[mid] : Math.trunc((sorted[mid - 1] + sorted[mid]) / 2);
}

/**
 * How many leading lines are uniform in the colour of the first line (variants._leading_border).
 * `line(i, j)` returns the pixel offset of element j of line i; there are `count` lines of `length`.
 */
function leadingBorder(pixels, count, length, offsetOf) {
  const ref = [0, 1, 2].map((ch) => {
    const channel = new Int32Array(length);
    for (let j = 0; j < length; j++) channel[j] = pixels[offsetOf(0, j) + ch];
    return medianTruncated(channel);
  });
  for (let i = 0; i < count; i++) {
    let close = 0;
    for (let j = 0; j < length; j++) {
      const o = offsetOf(i, j);
      const diff = Math.max(
        Math.abs(pixels[o] - ref[0]),
        Math.abs(pixels[o + 1] - ref[1]),
        Math.abs(pixels[o + 2] - ref[2]),
      );
      if (diff <= BORDER_TOLERANCE) close++;
    }
    // numpy: (diff <= tol).mean() >= coverage; the mean is an exact count divided by length.
    if (!(close / length >= BORDER_COVERAGE)) return i;
  }
  return count;
}

/**
 * Remove uniform borders (pads, letterbox bars) from the four sides (variants.trim_borders).
 * Returns the same object when nothing is trimmed.
 */
export function trimBorders(image) {
  const { width: w, height: h, pixels } = image;
  const top = leadingBorder(pixels, h, w, (i, j) => (i * w + j) * 3);
  let bottom = h - leadingBorder(pixels, h, w, (i, j) => ((h - 1 - i) * w + j) * 3);
  const left = leadingBorder(pixels, w, h, (i, j) => (j * w + i) * 3);
  let right = w - leadingBorder(pixels, w, h, (i, j) => (j * w + (w - 1 - i)) * 3);
  let t = top;
  let l = left;
  if (bottom - t < BORDER_MIN_KEEP * h) {
    t = 0;
    bottom = h;
  }
  if (right - l < BORDER_MIN_KEEP * w) {
    l = 0;
    right = w;
  }
  if (t === 0 && bottom === h && l === 0 && right === w) {
    return image;
  }
  return slice(image, t, bottom, l, right);
}

const crop = (label, top, bottom, left, right) => ({
  label,
  apply: (image) => cropPercent(image, top, bottom, left, right),
});
const rot = (degrees) => ({
  label: `rot${degrees >= 0 ? "+" : ""}${degrees}`,
  apply: (image) => rotate(image, degrees),
});

/** Off-centre crop groups (crop_search.CROP_GROUPS with two starts): code, percent kept, starts. */
const OFF_CENTRE_GROUPS = [
  ["k73", 73, [9, 18]],
  ["k64", 64, [12, 24]],
  ["k55", 55, [15, 30]],
];

/** Parts of the picture (crop_search.REGION_CANDIDATES): code, percent removed top/bottom/left/right. */
const REGION_CANDIDATES = [
  ["b20", 0, 20, 0, 0],
  ["t20", 20, 0, 0, 0],
  ["tb15", 15, 15, 0, 0],
  ["b30", 0, 30, 0, 0],
  ["t30", 30, 0, 0, 0],
  ["tb20", 20, 20, 0, 0],
  ["l25", 0, 0, 25, 0],
  ["r25", 0, 0, 0, 25],
  ["lr20", 0, 0, 20, 20],
  ["b50", 0, 50, 0, 0],
  ["t50", 50, 0, 0, 0],
  ["r50", 0, 0, 0, 50],
  ["l50", 0, 0, 50, 0],
  ["q1", 0, 50, 0, 50],
  ["q2", 0, 50, 50, 0],
  ["q3", 50, 0, 0, 50],
  ["q4", 50, 0, 50, 0],
  ["ml", 15, 15, 0, 50],
  ["mr", 15, 15, 50, 0],
  ["tl60", 0, 40, 0, 40],
  ["tr60", 0, 40, 40, 0],
  ["bl60", 40, 0, 0, 40],
  ["br60", 40, 0, 40, 0],
  ["c20", 20, 20, 20, 20],
  ["b65", 0, 65, 0, 0],
  ["t65", 65, 0, 0, 0],
  ["r65", 0, 0, 0, 65],
  ["l65", 0, 0, 65, 0],
];

/** Every variant the Python benchmark evaluated (variants.CANDIDATE_VARIANTS), by label. */
export const CANDIDATE_VARIANTS = Object.freeze(
  Object.fromEntries(
    [
      crop("crop-c10", 5, 5, 5, 5),
      crop("crop-c20", 10, 10, 10, 10),
      crop("crop-tl10", 10, 0, 10, 0),
      crop("crop-tr10", 10, 0, 0, 10),
      crop("crop-bl10", 0, 10, 10, 0),
      crop("crop-br10", 0, 10, 0, 10),
      crop("crop-tl20", 20, 0, 20, 0),
      crop("crop-tr20", 20, 0, 0, 20),
      crop("crop-bl20", 0, 20, 20, 0),
      crop("crop-br20", 0, 20, 0, 20),
      crop("crop-t10", 10, 0, 0, 0),
      crop("crop-b10", 0, 10, 0, 0),
      crop("crop-l10", 0, 0, 10, 0),
      crop("crop-r10", 0, 0, 0, 10),
      rot(3),
      rot(-3),
      rot(5),
      rot(-5),
      rot(8),
      rot(-8),
      { label: "flip", apply: flipHorizontal },
      // Issue 17: central crops for straightened copies, off-centre crop groups for heavy crops
      // (crop_search.CROP_GROUPS), parts of the picture for overlays (crop_search.REGION_CANDIDATES).
      crop("crop-c40", 20, 20, 20, 20),
      crop("crop-c50", 25, 25, 25, 25),
      crop("crop-c60", 30, 30, 30, 30),
      ...OFF_CENTRE_GROUPS.flatMap(([code, keep, starts]) =>
        starts.flatMap((top) =>
          starts.map((left) => crop(`crop-${code}t${top}l${left}`, top, 100 - top - keep, left, 100 - left - keep)),
        ),
      ),
      ...REGION_CANDIDATES.map(([code, top, bottom, left, right]) => crop(`part-${code}`, top, bottom, left, right)),
    ].map((v) => [v.label, Object.freeze(v)]),
  ),
);

/**
 * Labels of the registered set, in order (variants.REGISTERED_VARIANTS, chosen by measurement in
 * docs/hashing.md). Keep in step with the Python list: the parity tests compare the hashes that
 * registeredHashes() produces with takedown.hashing.variants.registered_hashes.
 */
export const REGISTERED_LABELS = Object.freeze([
  "crop-c10",
  "crop-c20",
  "crop-c40",
  "crop-c50",
  "crop-c60",
  "crop-k73t9l9",
  "crop-k73t9l18",
  "crop-k73t18l9",
  "crop-k73t18l18",
  "crop-k64t12l12",
  "crop-k64t12l24",
  "crop-k64t24l12",
  "crop-k64t24l24",
  "crop-k55t15l15",
  "crop-k55t15l30",
  "crop-k55t30l15",
  "crop-k55t30l30",
  "part-b20",
  "part-q1",
  "part-q2",
  "part-q3",
  "part-q4",
  "part-ml",
  "part-mr",
  "part-b65",
  "part-t65",
  "part-r65",
  "part-l65",
]);

/** The registered set: PDQ of each is stored under its label. */
export const REGISTERED_VARIANTS = Object.freeze(REGISTERED_LABELS.map((label) => CANDIDATE_VARIANTS[label]));

/** The border-trim variant: registered (label "trim") only when trimming changes the picture. */
export const TRIM_VARIANT = Object.freeze({ label: "trim", apply: trimBorders });
