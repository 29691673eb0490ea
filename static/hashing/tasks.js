// The units of work the page hands to the worker (or runs inline when there is no worker).
// One dispatcher for both, so the two paths cannot drift apart.

import { hashImageRgba, hashFrameRgba, fileDigests, HashingError } from "./core.js";
import { decodeImage, canDecodeImages } from "./decode.js";

/**
 * @param {string} type "hello" | "digest" | "hash-image-blob" | "hash-image-rgba" | "hash-frame-rgba"
 * @param {object} data the request's payload
 * @param {(fraction: number) => void} progress
 */
export async function runTask(type, data, progress) {
  switch (type) {
    case "hello":
      return { canDecodeImages: canDecodeImages() };
    case "digest":
      return fileDigests(await data.blob.arrayBuffer(), progress);
    case "hash-image-blob": {
      const { rgba, width, height } = await decodeImage(data.blob);
      progress(0.5);
      return hashImageRgba(rgba, width, height);
    }
    case "hash-image-rgba":
      return hashImageRgba(new Uint8Array(data.rgba), data.width, data.height);
    case "hash-frame-rgba":
      return hashFrameRgba(new Uint8Array(data.rgba), data.width, data.height);
    default:
      throw new HashingError("failed", `unknown task ${type}`);
  }
}
