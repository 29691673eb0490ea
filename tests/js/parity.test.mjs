// Parity of the browser hasher with the Python reference stack on identical pixel arrays.
// Expected values come from tests/js/make_vectors.py (pdqhash, imagehash/Pillow, scipy, numpy).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import { loadVectors, fromBase64 } from "./vectors.mjs";
import { compositeOverWhite, reduceWorkingSize } from "../../static/hashing/preprocess.js";
import { pdqHash, pdqDctMatrix } from "../../static/hashing/pdq.js";
import {
  phash,
  dhash,
  phashPixels,
  dhashPixels,
  rgbToGrey,
  lanczosCoefficients,
} from "../../static/hashing/imagehash.js";
import { dct2d32 } from "../../static/hashing/dct.js";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const vectors = loadVectors();

test("vector file has image cases", () => {
  assert.ok(vectors.images.length >= 30, `only ${vectors.images.length} image vectors`);
});

for (const c of vectors.images) {
  test(`image ${c.name} (${c.width}x${c.height})`, async (t) => {
    const rgba = fromBase64(c.rgba_b64);
    const rgb = compositeOverWhite(rgba, c.width, c.height);
    await t.test("composite over white", () => assert.equal(sha256(rgb), c.composite_sha256));
    const reduced = reduceWorkingSize(rgb, c.width, c.height);
    await t.test("working-size reduction", () => {
      assert.deepEqual(
        { width: reduced.width, height: reduced.height, factor: reduced.factor },
        { width: c.reduced.width, height: c.reduced.height, factor: c.reduced.factor },
      );
      assert.equal(sha256(reduced.pixels), c.reduced.sha256);
    });
    const { pixels, width, height } = reduced;
    await t.test("pdq", () => {
      const got = pdqHash(pixels, width, height);
      assert.deepEqual(got, { hex: c.pdq, quality: c.pdq_quality });
    });
    if (c.debug) {
      await t.test("grey and resized pixels", () => {
        assert.equal(sha256(rgbToGrey(pixels, width, height)), c.debug.l_sha256);
        assert.deepEqual(Array.from(phashPixels(pixels, width, height)), c.debug.phash_pixels);
        assert.deepEqual(Array.from(dhashPixels(pixels, width, height)), c.debug.dhash_pixels);
      });
    }
    await t.test("phash", () => assert.equal(phash(pixels, width, height), c.phash));
    await t.test("dhash", () => assert.equal(dhash(pixels, width, height), c.dhash));
  });
}

test("PDQ DCT matrix equals the libm-based float32 matrix", () => {
  const m = pdqDctMatrix();
  assert.equal(sha256(new Uint8Array(m.buffer, m.byteOffset, m.byteLength)), vectors.pdq_dct_matrix_f32_sha256);
});

test("Lanczos fixed-point coefficients equal Resample.c's for every input size 1..2048", () => {
  for (const [outText, expected] of Object.entries(vectors.lanczos_coefficients_sha256)) {
    const outSize = Number(outText);
    const h = createHash("sha256");
    for (let inSize = 1; inSize <= 2048; inSize++) {
      const { ksize, bounds, coeffs } = lanczosCoefficients(inSize, outSize);
      const row = new Int32Array(outSize * (ksize + 2));
      for (let xx = 0; xx < outSize; xx++) {
        row[xx * (ksize + 2)] = bounds[xx * 2];
        row[xx * (ksize + 2) + 1] = bounds[xx * 2 + 1];
        row.set(coeffs.subarray(xx * ksize, (xx + 1) * ksize), xx * (ksize + 2) + 2);
      }
      h.update(new Uint8Array(row.buffer));
    }
    assert.equal(h.digest("hex"), expected, `output size ${outSize}`);
  }
});

test("32x32 DCT is bit-identical to scipy.fftpack.dct (axis 0 then 1)", () => {
  let i = 0;
  for (const v of vectors.dct) {
    const got = dct2d32(Uint8Array.from(v.pixels));
    const expected = new Float64Array(fromBase64(v.dct_f64_b64).slice().buffer);
    for (let k = 0; k < 1024; k++) {
      if (!Object.is(got[k], expected[k])) {
        assert.fail(`case ${i} coefficient ${k}: got ${got[k]}, scipy ${expected[k]}`);
      }
    }
    i++;
  }
});

test("registered variant hashes equal takedown.hashing.variants.registered_hashes", async (t) => {
  const { registeredHashes } = await import("../../static/hashing/core.js");
  const cases = vectors.images.filter((c) => c.registered);
  if (cases.length === 0) {
    t.skip("vectors were generated without takedown.hashing.variants");
    return;
  }
  for (const c of cases) {
    const rgb = compositeOverWhite(fromBase64(c.rgba_b64), c.width, c.height);
    const reduced = reduceWorkingSize(rgb, c.width, c.height);
    assert.deepEqual(registeredHashes(reduced), c.registered, c.name);
  }
});

test("the registered variant labels are Python's, in the same order", async (t) => {
  const { REGISTERED_LABELS } = await import("../../static/hashing/variants.js");
  if (!vectors.registered_labels) {
    t.skip("vectors were generated without takedown.hashing.variants");
    return;
  }
  assert.deepEqual([...REGISTERED_LABELS], vectors.registered_labels);
});

test("every candidate variant transform (crops, rotations, flip, pad) gives Python's array", async (t) => {
  const { CANDIDATE_VARIANTS, padPercent } = await import("../../static/hashing/variants.js");
  if (!vectors.candidates) {
    t.skip("vectors were generated without takedown.hashing.variants");
    return;
  }
  for (const v of vectors.candidates) {
    const image = { pixels: fromBase64(v.rgb_b64), width: v.width, height: v.height };
    const results = {};
    for (const [label, variant] of Object.entries(CANDIDATE_VARIANTS)) results[label] = variant.apply(image);
    results["pad-10-white"] = padPercent(image, 10, [255, 255, 255]);
    results["pad-20-red"] = padPercent(image, 20, [200, 10, 0]);
    assert.deepEqual(Object.keys(results).sort(), Object.keys(v.results).sort());
    for (const [label, out] of Object.entries(results)) {
      assert.deepEqual(
        { width: out.width, height: out.height, sha256: sha256(out.pixels) },
        v.results[label],
        `${label} on ${v.width}x${v.height}`,
      );
    }
  }
});
