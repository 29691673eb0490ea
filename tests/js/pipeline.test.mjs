// The file-level pipeline (hashFiles on the main-thread engine), the bundle and the digests.
// Node has no image decoder, so createImageBitmap/OffscreenCanvas are replaced by fakes that
// "decode" a tiny test container holding raw RGBA; everything after decoding is the real code.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

import { loadVectors, fromBase64 } from "./vectors.mjs";
import { hashFiles, kindOf, DEFAULT_MESSAGES } from "../../static/hashing/hasher.js";
import {
  fileDigests,
  makeBundle,
  newItemId,
  dedupeFrameHashes,
  hashFrameRgba,
  MAX_IMAGE_BYTES,
} from "../../static/hashing/core.js";
import { md5Hex, Md5 } from "../../static/hashing/md5.js";

const vectors = loadVectors();
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const python = process.env.PYTHON || path.join(repo, ".venv", "bin", "python");

/** Validate with the service's own reader, takedown.hashing.bundle.load_bundle. */
function loadWithPython(bundle) {
  const code = [
    "import sys",
    `sys.path.insert(0, ${JSON.stringify(repo)})`,
    "try:\n    from takedown.hashing.bundle import load_bundle\nexcept ImportError:\n    sys.exit(3)",
    "b = load_bundle(sys.stdin.read())",
    "print(len(b.items))",
  ].join("\n");
  return spawnSync(python, ["-c", code], { input: JSON.stringify(bundle), encoding: "utf8" });
}
const TEST_TYPE = "image/x-takedown-test";

function testImageFile(c, name = `${c.name}.raw`) {
  const header = new Uint32Array([c.width, c.height]);
  return new File([new Uint8Array(header.buffer), fromBase64(c.rgba_b64)], name, { type: TEST_TYPE });
}

const saved = {};
before(() => {
  saved.createImageBitmap = globalThis.createImageBitmap;
  saved.OffscreenCanvas = globalThis.OffscreenCanvas;
  globalThis.createImageBitmap = async (blob, options) => {
    // The contract's decode options must be passed exactly.
    assert.deepEqual(options, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
    if (blob.type !== TEST_TYPE) {
      throw new DOMException("The source image could not be decoded.", "InvalidStateError");
    }
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const [width, height] = new Uint32Array(bytes.slice(0, 8).buffer);
    return { width, height, rgba: new Uint8ClampedArray(bytes.slice(8).buffer), close() {} };
  };
  globalThis.OffscreenCanvas = class {
    constructor(width, height) {
      this.width = width;
      this.height = height;
    }
    getContext() {
      let source = null;
      return {
        drawImage: (bitmap) => {
          source = bitmap;
        },
        getImageData: () => ({ data: source.rgba }),
      };
    }
  };
});
after(() => {
  globalThis.createImageBitmap = saved.createImageBitmap;
  globalThis.OffscreenCanvas = saved.OffscreenCanvas;
});

test("hashFiles: bundle equals the Python hashes, file digests included, nothing else", async () => {
  const cases = vectors.images.filter((c) => c.registered && c.width * c.height < 600 * 600).slice(0, 6);
  assert.ok(cases.length >= 3);
  const files = cases.map((c) => testImageFile(c, `secret-name-${c.name}.png`));
  const progress = cases.map(() => []);
  const errors = [];
  const bundle = await hashFiles(files, {
    onProgress: (i, f) => progress[i].push(f),
    onError: (i, message) => errors.push([i, message]),
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(Object.keys(bundle).sort(), ["format", "items", "tool", "version"]);
  assert.equal(bundle.format, "takedown-hash-bundle");
  assert.equal(bundle.version, 1);
  assert.deepEqual(bundle.tool, { name: "takedown-browser", version: "0.1.0" });
  assert.equal(bundle.items.length, cases.length);
  const ids = new Set();
  for (const [i, item] of bundle.items.entries()) {
    assert.deepEqual(Object.keys(item).sort(), ["hashes", "id", "kind"]);
    assert.match(item.id, /^[0-9a-f]{32}$/);
    ids.add(item.id);
    assert.equal(item.kind, "image");
    const bytes = new Uint8Array(await files[i].arrayBuffer());
    const expected = [
      ...cases[i].registered,
      { signal: "md5", value: createHash("md5").update(bytes).digest("hex"), quality: null, variant: "file" },
      { signal: "sha256", value: createHash("sha256").update(bytes).digest("hex"), quality: null, variant: "file" },
    ];
    assert.deepEqual(item.hashes, expected);
    for (const h of item.hashes) assert.deepEqual(Object.keys(h), ["signal", "value", "quality", "variant"]);
    // Progress is monotonic and ends at 1.
    assert.deepEqual(progress[i], [...progress[i]].sort((a, b) => a - b));
    assert.equal(progress[i].at(-1), 1);
  }
  assert.equal(ids.size, cases.length, "item ids are unique");
  assert.ok(!JSON.stringify(bundle).includes("secret-name"), "no file names in the bundle");
});

test("the service's bundle reader accepts what the browser writes", async (t) => {
  if (!existsSync(python)) {
    t.skip(`no Python at ${python}`);
    return;
  }
  const cases = vectors.images.filter((c) => c.width * c.height < 400 * 400);
  const bundle = await hashFiles(cases.map((c) => testImageFile(c)));
  const result = loadWithPython(bundle);
  if (result.status === 3) {
    t.skip("takedown.hashing.bundle is not available");
    return;
  }
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), String(cases.length));
});

test("the same file twice: second copy reported as duplicate, also across batches", async () => {
  const c = vectors.images.find((x) => x.name === "smooth-64x64");
  const other = vectors.images.find((x) => x.name === "smooth-100x300");
  const seenSha256 = new Set();
  const errors = [];
  const first = await hashFiles([testImageFile(c, "a.png"), testImageFile(c, "b.png")], {
    seenSha256,
    onError: (i, message, code) => errors.push([i, code]),
  });
  assert.equal(first.items.length, 1);
  const second = await hashFiles([testImageFile(other), testImageFile(c, "c.png")], {
    seenSha256,
    onError: (i, message, code) => errors.push([i, code]),
  });
  assert.equal(second.items.length, 1);
  assert.deepEqual(errors, [[1, "duplicate"], [1, "duplicate"]]);
});

test("hashFiles: unreadable, unsupported and oversize files are reported, others still hashed", async () => {
  const good = vectors.images.find((c) => c.name === "smooth-64x64");
  const files = [
    new File([new Uint8Array([1, 2, 3])], "notes.pdf", { type: "application/pdf" }),
    new File([new Uint8Array([0xff, 0xd8, 0xff])], "broken.jpg", { type: "image/jpeg" }),
    { name: "huge.png", type: "image/png", size: MAX_IMAGE_BYTES + 1 },
    testImageFile(good),
  ];
  const errors = [];
  const bundle = await hashFiles(files, {
    onError: (i, message, code) => errors.push([i, code, message]),
    messages: { unreadable: "Datei beschädigt." },
  });
  assert.deepEqual(errors, [
    [0, "unsupported", DEFAULT_MESSAGES.unsupported],
    [1, "unreadable", "Datei beschädigt."],
    [2, "file-too-large", DEFAULT_MESSAGES["file-too-large"]],
  ]);
  assert.equal(bundle.items.length, 1);
  assert.equal(bundle.items[0].hashes[0].value, good.pdq);
});

test("kindOf uses the MIME type, then the extension", () => {
  assert.equal(kindOf({ type: "video/mp4", name: "a" }), "video");
  assert.equal(kindOf({ type: "image/heic", name: "a.mov" }), "image");
  assert.equal(kindOf({ type: "", name: "clip.MOV" }), "video");
  assert.equal(kindOf({ type: "", name: "photo" }), "image");
});

test("MD5 and SHA-256 equal Python's hashlib and Node's crypto", async () => {
  for (const v of vectors.digests) {
    const bytes = fromBase64(v.b64);
    assert.equal(md5Hex(bytes), v.md5);
    assert.equal(md5Hex(bytes), createHash("md5").update(bytes).digest("hex"));
    const digests = await fileDigests(bytes.slice().buffer);
    assert.deepEqual(digests, [
      { signal: "md5", value: v.md5, quality: null, variant: "file" },
      { signal: "sha256", value: v.sha256, quality: null, variant: "file" },
    ]);
  }
  // Incremental updates in odd-sized pieces give the same digest.
  const data = new Uint8Array(10007).map((_, i) => (i * 31) & 0xff);
  const h = new Md5();
  for (let i = 0; i < data.length; i += 77) h.update(data.subarray(i, i + 77));
  assert.equal(h.hex(), createHash("md5").update(data).digest("hex"));
});

test("frame hashes: PDQ only, variant 'frame', duplicates removed in order", () => {
  const c = vectors.images.find((x) => x.name === "smooth-100x300");
  const rgba = fromBase64(c.rgba_b64);
  const frame = hashFrameRgba(rgba, c.width, c.height);
  assert.deepEqual(frame, { signal: "pdq", value: c.pdq, quality: c.pdq_quality, variant: "frame" });
  const other = { ...frame, value: "f".repeat(64) };
  assert.deepEqual(dedupeFrameHashes([frame, other, { ...frame }, other]), [frame, other]);
});

test("bundle and ids", () => {
  const a = newItemId();
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, newItemId());
  assert.deepEqual(makeBundle([]), {
    format: "takedown-hash-bundle",
    version: 1,
    tool: { name: "takedown-browser", version: "0.1.0" },
    items: [],
  });
});
