// Module Web Worker: runs the heavy hashing off the page's main thread.
// Started by hasher.js as new Worker(new URL("./worker.js", import.meta.url), {type: "module"}).
// Requests: {id, type, ...payload}; replies: {id, type: "progress", fraction},
// {id, type: "result", result} or {id, type: "error", code, detail}. It never uses the network.

import { runTask } from "./tasks.js";

self.addEventListener("message", async (event) => {
  const { id, type, ...data } = event.data;
  const progress = (fraction) => self.postMessage({ id, type: "progress", fraction });
  try {
    const result = await runTask(type, data, progress);
    self.postMessage({ id, type: "result", result });
  } catch (err) {
    self.postMessage({
      id,
      type: "error",
      code: (err && err.code) || "failed",
      detail: String((err && err.message) || err),
    });
  }
});
