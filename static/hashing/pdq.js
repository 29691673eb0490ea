// PDQ (Meta's 256-bit perceptual hash), ported from the C++ reference in facebook/ThreatExchange
// (pdq/cpp/hashing/pdqhashing.cpp, pdq/cpp/downscaling/downscaling.cpp, torben.cpp) as wrapped
// by the Python `pdqhash` package, which the server uses.
//
// Goal: identical pixels give the identical hash and quality, bit for bit. The C++ does its
// arithmetic in 32-bit `float`; JavaScript numbers are 64-bit doubles. Every place the C++ stores
// or operates on a float we round with Math.fround or store into a Float32Array. For a single
// +, -, * or / of two float32 values, computing in double and rounding once to float32 gives
// exactly the float32 result (double has more than 2*24+2 significand bits), so this emulation
// is exact, provided the C++ was compiled without fused multiply-add or reassociation (true for
// the pdqhash x86-64 wheels: no -ffast-math, no FMA in the baseline instruction set).

const f32 = Math.fround;

/** Images smaller than this in either dimension hash to all zeros with quality 0 (as in C++). */
export const MIN_HASHABLE_DIM = 5;
const JAROSZ_XY_PASSES = 2;

/**
 * Luma as the `pdqhash` Python binding computes it: numpy evaluates
 * r*0.299 + g*0.587 + b*0.114 in float64 (uint8 array times Python float), then casts to
 * float32. (The C++ fillFloatLumaFromRGB, with float coefficients, is NOT used by pdqhash.)
 * @returns {Float32Array} height*width luma values, row-major
 */
export function lumaFromRgb(rgb, width, height) {
  const n = width * height;
  const luma = new Float32Array(n);
  for (let p = 0, s = 0; p < n; p++, s += 3) {
    luma[p] = rgb[s] * 0.299 + rgb[s + 1] * 0.587 + rgb[s + 2] * 0.114;
  }
  return luma;
}

/** downscaling.cpp computeJaroszFilterWindowSize: integer division rounding up. */
export function jaroszWindowSize(oldDimension, newDimension) {
  return Math.floor((oldDimension + 2 * newDimension - 1) / (2 * newDimension));
}

// downscaling.cpp box1DFloat: a running-sum box filter with shrinking windows at both ends.
// `sum` is a C++ float, so every update is rounded; the division result is stored into a
// Float32Array, which rounds it.
function box1D(invec, inOffset, outvec, outOffset, length, stride, fullWindowSize) {
  const halfWindowSize = Math.floor((fullWindowSize + 2) / 2);
  const phase1 = halfWindowSize - 1;
  const phase2 = fullWindowSize - halfWindowSize + 1;
  const phase3 = length - fullWindowSize;
  const phase4 = halfWindowSize - 1;
  let li = inOffset;
  let ri = inOffset;
  let oi = outOffset;
  let sum = 0;
  let current = 0;
  for (let i = 0; i < phase1; i++) {
    sum = f32(sum + invec[ri]);
    current++;
    ri += stride;
  }
  for (let i = 0; i < phase2; i++) {
    sum = f32(sum + invec[ri]);
    current++;
    outvec[oi] = sum / current;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase3; i++) {
    sum = f32(sum + invec[ri]);
    sum = f32(sum - invec[li]);
    outvec[oi] = sum / current;
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase4; i++) {
    sum = f32(sum - invec[li]);
    current--;
    outvec[oi] = sum / current;
    li += stride;
    oi += stride;
  }
}

/** downscaling.cpp jaroszFilterFloat: X,Y,X,Y box passes (a tent filter); result in buffer1. */
export function jaroszFilter(buffer1, buffer2, numRows, numCols, windowAlongRows, windowAlongCols, reps) {
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < numRows; i++) {
      box1D(buffer1, i * numCols, buffer2, i * numCols, numCols, 1, windowAlongRows);
    }
    for (let j = 0; j < numCols; j++) {
      box1D(buffer2, j, buffer1, j, numRows, numCols, windowAlongCols);
    }
  }
}

/** downscaling.cpp decimateFloat: sample at target centres (index arithmetic in double). */
export function decimate(input, inRows, inCols, outRows, outCols) {
  const out = new Float32Array(outRows * outCols);
  for (let oi = 0; oi < outRows; oi++) {
    const ii = Math.floor(((oi + 0.5) * inRows) / outRows);
    for (let oj = 0; oj < outCols; oj++) {
      const ij = Math.floor(((oj + 0.5) * inCols) / outCols);
      out[oi * outCols + oj] = input[ii * inCols + ij];
    }
  }
  return out;
}

/** pdqhashing.cpp pdqImageDomainQualityMetric on the 64x64 downsample. */
export function qualityMetric(b) {
  let gradientSum = 0;
  // int d = ((u - v) * 100) / 255;  -- float ops, then truncation toward zero.
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const d = Math.trunc(f32(f32(f32(b[i * 64 + j] - b[(i + 1) * 64 + j]) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const d = Math.trunc(f32(f32(f32(b[i * 64 + j] - b[i * 64 + j + 1]) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  return Math.min(Math.floor(gradientSum / 90), 100);
}

let dctMatrix = null;
/**
 * The 16x64 DCT matrix, row-major, as float32. C++:
 *   const float scale = sqrt(2.0 / 64.0);
 *   D[i][j] = scale * cos((M_PI / 2 / 64.0) * (i + 1) * (2 * j + 1));   // double product, stored as float
 * Math.cos and glibc's cos agree here after rounding to float32 (checked by the parity tests).
 */
export function pdqDctMatrix() {
  if (dctMatrix === null) {
    dctMatrix = new Float32Array(16 * 64);
    const scale = f32(Math.sqrt(2.0 / 64.0));
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 64; j++) {
        dctMatrix[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64.0) * (i + 1) * (2 * j + 1));
      }
    }
  }
  return dctMatrix;
}

/** pdqhashing.cpp dct64To16: B = D A D^T, sums accumulated left to right in float. */
export function dct64To16(a) {
  const d = pdqDctMatrix();
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) {
        sum = f32(sum + f32(d[i * 64 + k] * a[k * 64 + j]));
      }
      t[i * 64 + j] = sum;
    }
  }
  const b = new Float32Array(16 * 16);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) {
        sum = f32(sum + f32(t[i * 64 + k] * d[j * 64 + k]));
      }
      b[i * 16 + j] = sum;
    }
  }
  return b;
}

/** torben.cpp: Torben Mogensen's median (no sorting), float comparisons. */
export function torben(m) {
  const n = m.length;
  let min = m[0];
  let max = m[0];
  for (let i = 1; i < n; i++) {
    if (m[i] < min) min = m[i];
    if (m[i] > max) max = m[i];
  }
  let less;
  let greater;
  let equal;
  let guess;
  let maxltguess;
  let mingtguess;
  const halfUp = Math.floor((n + 1) / 2);
  for (;;) {
    guess = f32(f32(min + max) / 2);
    less = 0;
    greater = 0;
    equal = 0;
    maxltguess = min;
    mingtguess = max;
    for (let i = 0; i < n; i++) {
      const v = m[i];
      if (v < guess) {
        less++;
        if (v > maxltguess) maxltguess = v;
      } else if (v > guess) {
        greater++;
        if (v < mingtguess) mingtguess = v;
      } else {
        equal++;
      }
    }
    if (less <= halfUp && greater <= halfUp) break;
    else if (less > greater) max = maxltguess;
    else min = mingtguess;
  }
  if (less >= halfUp) return maxltguess;
  if (less + equal >= halfUp) return guess;
  return mingtguess;
}

/**
 * Hex text of a 256-bit hash whose bit k is bits[k] (k = i*16 + j of the 16x16 DCT output).
 * Meta's Hash256::format prints word 15 first, each word as 4 hex digits, so the first hex digit
 * holds bits 255..252. This equals numpy.packbits of pdqhash's bit vector, which is how
 * takedown.hashing.bits.bits_to_hex writes it.
 */
export function pdqBitsToHex(bits) {
  let hex = "";
  for (let digit = 0; digit < 64; digit++) {
    const top = 255 - 4 * digit;
    const nibble = (bits[top] << 3) | (bits[top - 1] << 2) | (bits[top - 2] << 1) | bits[top - 3];
    hex += nibble.toString(16);
  }
  return hex;
}

/**
 * PDQ of a float32 luma image (pdqHash256FromFloatLuma). `luma` is used as scratch and modified.
 * @returns {{hex: string, quality: number}}
 */
export function pdqFromLuma(luma, width, height) {
  if (height < MIN_HASHABLE_DIM || width < MIN_HASHABLE_DIM) {
    return { hex: "0".repeat(64), quality: 0 };
  }
  let buffer64;
  if (height === 64 && width === 64) {
    // The C++ skips the blur when the input is already 64x64 (e.g. ffmpeg-downsampled frames).
    buffer64 = Float32Array.from(luma);
  } else {
    const scratch = new Float32Array(width * height);
    jaroszFilter(
      luma,
      scratch,
      height,
      width,
      jaroszWindowSize(width, 64),
      jaroszWindowSize(height, 64),
      JAROSZ_XY_PASSES,
    );
    buffer64 = decimate(luma, height, width, 64, 64);
  }
  const quality = qualityMetric(buffer64);
  const dct = dct64To16(buffer64);
  const median = torben(dct);
  const bits = new Uint8Array(256);
  for (let k = 0; k < 256; k++) {
    bits[k] = dct[k] > median ? 1 : 0;
  }
  return { hex: pdqBitsToHex(bits), quality };
}

/**
 * PDQ of an RGB image, equal to takedown.hashing.image.pdq_rgb / pdqhash.compute on the same array.
 * @param {Uint8Array} rgb width*height*3 bytes, row-major
 * @returns {{hex: string, quality: number}}
 */
export function pdqHash(rgb, width, height) {
  return pdqFromLuma(lumaFromRgb(rgb, width, height), width, height);
}
