// worker.js message protocol, driven through a fake worker global scope.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadVectors, fromBase64 } from "./vectors.mjs";

test("worker answers hello, hashes RGBA and reports errors with a code", async () => {
  const listeners = [];
  const posted = [];
  globalThis.self = {
    addEventListener: (type, fn) => type === "message" && listeners.push(fn),
    postMessage: (message) => posted.push(message),
  };
  try {
    await import("../../static/hashing/worker.js");
    assert.equal(listeners.length, 1);
    const send = async (message) => {
      posted.length = 0;
      await listeners[0]({ data: message });
      return posted.at(-1);
    };
    const hello = await send({ id: 1, type: "hello" });
    assert.equal(hello.id, 1);
    assert.equal(hello.type, "result");
    assert.equal(typeof hello.result.canDecodeImages, "boolean");

    const c = loadVectors().images.find((x) => x.name === "smooth-257x300-k1");
    const rgba = fromBase64(c.rgba_b64).slice();
    const reply = await send({ id: 2, type: "hash-image-rgba", rgba: rgba.buffer, width: c.width, height: c.height });
    assert.equal(reply.type, "result");
    assert.deepEqual(reply.result, c.registered);

    const bad = await send({ id: 3, type: "hash-image-rgba", rgba: new ArrayBuffer(0), width: 0, height: 0 });
    assert.deepEqual([bad.id, bad.type, bad.code], [3, "error", "unreadable"]);
    const unknown = await send({ id: 4, type: "nonsense" });
    assert.deepEqual([unknown.type, unknown.code], ["error", "failed"]);
  } finally {
    delete globalThis.self;
  }
});
