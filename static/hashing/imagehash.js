// pHash and dHash exactly as the Python `imagehash` package (4.3.x) computes them on Pillow:
//
//   phash: image.convert('L').resize((32, 32), LANCZOS) -> scipy.fftpack.dct along axis 0, then
//          axis 1 -> top-left 8x8 -> bits = value > numpy.median(values)
//   dhash: image.convert('L').resize((9, 8), LANCZOS) -> bits = pixel[r][c+1] > pixel[r][c]
//   hex:   the 64 bits row-major, most significant first (imagehash._binary_array_to_hex)
//
// The grey conversion and the resampler are ports of Pillow's C code (libImaging/Convert.c
// rgb2l, libImaging/Resample.c for 8-bit images), integer arithmetic included, so the 32x32 and
// 9x8 grey images are byte-identical to Pillow's. The DCT is in ./dct.js.

import { dct2d32 } from "./dct.js";

/** Convert.c rgb2l: ITU-R 601-2 luma in 16.16 fixed point, rounded. */
export function rgbToGrey(rgb, width, height) {
  const n = width * height;
  const grey = new Uint8Array(n);
  for (let p = 0, s = 0; p < n; p++, s += 3) {
    grey[p] = (rgb[s] * 19595 + rgb[s + 1] * 38470 + rgb[s + 2] * 7471 + 0x8000) >>> 16;
  }
  return grey;
}

// Resample.c: 8-bit results are computed with 22 fractional bits (32 - 8 - 2: two spare bits
// because Lanczos has negative lobes, so partial sums can leave the 0..255 range).
const PRECISION_BITS = 32 - 8 - 2;
const LANCZOS_SUPPORT = 3.0;

function sincFilter(x) {
  if (x === 0.0) {
    return 1.0;
  }
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

function lanczosFilter(x) {
  // Truncated sinc, as Resample.c lanczos_filter.
  if (-3.0 <= x && x < 3.0) {
    return sincFilter(x) * sincFilter(x / 3);
  }
  return 0.0;
}

/**
 * Resample.c precompute_coeffs + normalize_coeffs_8bpc for a box of (0, inSize).
 * Doubles throughout (as in C), then rounded half away from zero to 22-bit fixed point.
 * @returns {{ksize: number, bounds: Int32Array, coeffs: Int32Array}}
 */
export function lanczosCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = LANCZOS_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const coeffs = new Int32Array(outSize * ksize);
  const weights = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    // C casts with (int), which truncates toward zero; then clamps.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    weights.fill(0);
    for (let x = 0; x < xmax; x++) {
      const w = lanczosFilter((x + xmin - center + 0.5) * ss);
      weights[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      if (ww !== 0.0) weights[x] /= ww;
    }
    for (let x = 0; x < ksize; x++) {
      const v = weights[x];
      coeffs[xx * ksize + x] =
        v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, coeffs };
}

function clip8(value) {
  if (value >= 1 << PRECISION_BITS << 8) return 255;
  if (value <= 0) return 0;
  return value >> PRECISION_BITS;
}

/**
 * Pillow's Image.resize(size, LANCZOS) of an 8-bit grey image (ImagingResampleInner):
 * a horizontal pass into an 8-bit intermediate, then a vertical pass, each skipped when that
 * dimension does not change. (Pillow restricts the horizontal pass to the rows the vertical
 * pass reads; that only saves work, it does not change any output value.)
 * @returns {Uint8Array} outWidth*outHeight grey values
 */
export function resizeLanczosGrey(grey, width, height, outWidth, outHeight) {
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  let src = grey;
  let srcWidth = width;
  if (needHorizontal) {
    const { ksize, bounds, coeffs } = lanczosCoefficients(width, outWidth);
    const tmp = new Uint8Array(outWidth * height);
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = bounds[xx * 2];
        const xmax = bounds[xx * 2 + 1];
        const k = xx * ksize;
        let ss = 1 << (PRECISION_BITS - 1);
        for (let x = 0; x < xmax; x++) {
          ss += src[row + x + xmin] * coeffs[k + x];
        }
        tmp[y * outWidth + xx] = clip8(ss);
      }
    }
    src = tmp;
    srcWidth = outWidth;
  }
  if (!needVertical) {
    return needHorizontal ? src : Uint8Array.from(src);
  }
  const { ksize, bounds, coeffs } = lanczosCoefficients(height, outHeight);
  const out = new Uint8Array(srcWidth * outHeight);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2];
    const ymax = bounds[yy * 2 + 1];
    const k = yy * ksize;
    for (let xx = 0; xx < srcWidth; xx++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++) {
        ss += src[(y + ymin) * srcWidth + xx] * coeffs[k + y];
      }
      out[yy * srcWidth + xx] = clip8(ss);
    }
  }
  return out;
}

/** imagehash._binary_array_to_hex: bits most significant first, zero-padded to len/4 digits. */
export function bitsToHex(bits) {
  let hex = "";
  for (let i = 0; i < bits.length; i += 4) {
    hex += ((bits[i] << 3) | (bits[i + 1] << 2) | (bits[i + 2] << 1) | bits[i + 3]).toString(16);
  }
  return hex;
}

/** numpy.median: the mean of the two middle values for an even count. */
export function median(values) {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The 32x32 grey image phash works on (exposed for tests). */
export function phashPixels(rgb, width, height) {
  return resizeLanczosGrey(rgbToGrey(rgb, width, height), width, height, 32, 32);
}

/** The 9x8 grey image dhash works on (exposed for tests). */
export function dhashPixels(rgb, width, height) {
  return resizeLanczosGrey(rgbToGrey(rgb, width, height), width, height, 9, 8);
}

/** str(imagehash.phash(PIL.Image.fromarray(rgb))) */
export function phash(rgb, width, height) {
  const dct = dct2d32(phashPixels(rgb, width, height));
  const low = new Float64Array(64);
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) {
      low[r * 8 + c] = dct[r * 32 + c];
    }
  }
  const med = median(low);
  return bitsToHex(Array.from(low, (v) => (v > med ? 1 : 0)));
}

/** str(imagehash.dhash(PIL.Image.fromarray(rgb))) */
export function dhash(rgb, width, height) {
  const p = dhashPixels(rgb, width, height);
  const bits = [];
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) {
      bits.push(p[r * 9 + c + 1] > p[r * 9 + c] ? 1 : 0);
    }
  }
  return bitsToHex(bits);
}
