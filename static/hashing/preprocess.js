// Canonical preprocessing shared by every Takedown hasher (docs/hashing.md, steps 2 and 3).
//
// The Python library (takedown/hashing/image.py: rgba_to_rgb, reduce_for_hashing) does the same
// integer arithmetic, so identical RGBA input gives byte-identical RGB output on both sides.
// Pure functions on typed arrays: importable in Node, a Web Worker or a page.

/** Alpha is composited over white, like a browser page behind a transparent PNG. */
export const BACKGROUND = 255;
/** The working size keeps the short side at least this long. */
export const WORKING_MIN_SIDE = 256;
/** Candidate block sizes of the working-size reduction, largest first. */
export const WORKING_FACTORS = Object.freeze([8, 4, 2, 1]);

// out = floor((c*a + 255*(255-a) + 127) / 255) for every (alpha, colour) pair, precomputed once:
// a 64 KiB table turns the per-pixel work into three lookups.
let compositeTable = null;
function getCompositeTable() {
  if (compositeTable === null) {
    compositeTable = new Uint8Array(256 * 256);
    for (let a = 0; a < 256; a++) {
      for (let c = 0; c < 256; c++) {
        compositeTable[(a << 8) | c] = Math.floor(
          (c * a + BACKGROUND * (255 - a) + 127) / 255,
        );
      }
    }
  }
  return compositeTable;
}

/**
 * Composite RGBA (non-premultiplied, as canvas getImageData returns it) over white.
 * @param {Uint8Array|Uint8ClampedArray} rgba width*height*4 bytes, row-major
 * @returns {Uint8Array} width*height*3 bytes
 */
export function compositeOverWhite(rgba, width, height) {
  const n = width * height;
  if (rgba.length !== n * 4) {
    throw new RangeError(`expected ${n * 4} RGBA bytes, got ${rgba.length}`);
  }
  const table = getCompositeTable();
  const rgb = new Uint8Array(n * 3);
  for (let p = 0, s = 0, d = 0; p < n; p++, s += 4, d += 3) {
    const row = rgba[s + 3] << 8;
    rgb[d] = table[row | rgba[s]];
    rgb[d + 1] = table[row | rgba[s + 1]];
    rgb[d + 2] = table[row | rgba[s + 2]];
  }
  return rgb;
}

/** The largest k in {8, 4, 2, 1} with min(height, width) / k >= 256 (1 for small images). */
export function workingFactor(height, width) {
  const short = Math.min(height, width);
  for (const k of WORKING_FACTORS) {
    if (short / k >= WORKING_MIN_SIDE) {
      return k;
    }
  }
  return 1;
}

/**
 * Shrink an RGB image by the rounded k x k box average (k from workingFactor).
 * out = floor((sum of the k*k values + floor(k*k/2)) / (k*k)); the trailing rows and columns
 * that do not fill a whole block are dropped.
 * @returns {{pixels: Uint8Array, width: number, height: number, factor: number}}
 */
export function reduceWorkingSize(rgb, width, height) {
  const k = workingFactor(height, width);
  if (k === 1) {
    return { pixels: rgb, width, height, factor: 1 };
  }
  const outW = Math.floor(width / k);
  const outH = Math.floor(height / k);
  const area = k * k;
  const half = Math.floor(area / 2);
  const out = new Uint8Array(outW * outH * 3);
  const sums = new Uint32Array(outW * 3);
  for (let oy = 0; oy < outH; oy++) {
    sums.fill(0);
    for (let dy = 0; dy < k; dy++) {
      const rowStart = (oy * k + dy) * width * 3;
      for (let ox = 0; ox < outW; ox++) {
        let src = rowStart + ox * k * 3;
        const acc = ox * 3;
        for (let dx = 0; dx < k; dx++, src += 3) {
          sums[acc] += rgb[src];
          sums[acc + 1] += rgb[src + 1];
          sums[acc + 2] += rgb[src + 2];
        }
      }
    }
    const dst = oy * outW * 3;
    for (let i = 0; i < outW * 3; i++) {
      out[dst + i] = Math.floor((sums[i] + half) / area);
    }
  }
  return { pixels: out, width: outW, height: outH, factor: k };
}
