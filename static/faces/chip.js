// The face chip dlib's face recognition model expects, cut from a picture the way dlib cuts it.
//
// dlib's ResNet (and face-api's port of it) was trained on 150x150 "chips": the face turned
// upright and scaled so five landmarks (the corners of both eyes and the bottom of the nose) land
// on fixed positions, with 25% padding around them (dlib's get_face_chip_details). face-api's own
// pipeline crops the detector's box instead, which gives descriptors about 0.17 away from the
// server's for the same photo; cutting the chip like dlib brings the two close (the figures are in
// docs/benchmarks/detectors.md). Pure geometry plus one canvas draw; nothing leaves the page.

/** Side of the chip the recognition model takes, and dlib's padding around the landmarks. */
export const CHIP_SIZE = 150;
export const CHIP_PADDING = 0.25;

// dlib's mean positions (0..1 of the unpadded face) of its five-point model's landmarks, in the
// order of that model: outer and inner corner of the eye on the picture's right, outer and inner
// corner of the eye on the left, bottom of the nose (dlib/image_transforms/interpolation.h).
const MEAN_FIVE = [
  [0.8595674595992, 0.2134981538014],
  [0.6460604764104, 0.2289674387677],
  [0.1205750620789, 0.2137274526848],
  [0.3340850613712, 0.2290642403242],
  [0.4901123135679, 0.6277975316475],
];
// The same five points in the 68-point (iBUG 300-W) numbering that face-api's landmark model uses.
const FIVE_OF_68 = [45, 42, 36, 39, 33];

// face-api's landmark model places these five points slightly differently from dlib's five-point
// model (about 2% of the distance between the eyes, mostly lower on the face in dlib's), and the
// descriptor is sensitive to it. This is the mean offset, in the face's own frame (see faceFrame),
// from face-api's points to dlib's, fitted by bench/faces_browser.py on the people of the choosing
// half of shared/data/face-pairs and checked on the other half: x, y for each of the five points.
export const DLIB_FIVE_OFFSET = Object.freeze([0.0144, 0.0239, 0.0059, 0.021, -0.0074, 0.0439, 0.0014, 0.0229, 0.0052, 0.019]);

function xy(p) {
  return Array.isArray(p) ? [p[0], p[1]] : [p.x, p.y];
}

/**
 * The face's own frame from 68 landmarks: origin at their mean, x along the line from the left
 * eye's centre to the right eye's (points 36-41 and 42-47), unit = the distance between them.
 */
export function faceFrame(points68) {
  const pts = points68.map(xy);
  const mean = (from, to) => {
    let x = 0, y = 0;
    for (let i = from; i < to; i++) { x += pts[i][0]; y += pts[i][1]; }
    return [x / (to - from), y / (to - from)];
  };
  const [cx, cy] = mean(0, 68);
  const [lx, ly] = mean(36, 42);
  const [rx, ry] = mean(42, 48);
  const scale = Math.hypot(rx - lx, ry - ly);
  return { cx, cy, scale, cos: (rx - lx) / scale, sin: (ry - ly) / scale };
}

/**
 * The five landmarks dlib's chip is aligned on, from 68 points ([{x, y}] or [[x, y]]), moved by
 * `offset` (in the face's frame) towards where dlib's own five-point model puts them.
 */
export function fivePoints(points68, offset = DLIB_FIVE_OFFSET) {
  if (!points68 || points68.length !== 68) throw new Error("68 landmarks are needed");
  const f = faceFrame(points68);
  return FIVE_OF_68.map((index, k) => {
    const [x, y] = xy(points68[index]);
    // into the frame, add the offset, back out
    const u = ((x - f.cx) * f.cos + (y - f.cy) * f.sin) / f.scale + offset[2 * k];
    const v = (-(x - f.cx) * f.sin + (y - f.cy) * f.cos) / f.scale + offset[2 * k + 1];
    return [f.cx + f.scale * (u * f.cos - v * f.sin), f.cy + f.scale * (u * f.sin + v * f.cos)];
  });
}

/**
 * The least-squares similarity transform (rotation, uniform scale, translation) taking `from`
 * points to `to` points (Umeyama 1991, as dlib's find_similarity_transform). Returned as
 * {a, b, tx, ty}: x' = a*x - b*y + tx, y' = b*x + a*y + ty.
 */
export function similarity(from, to) {
  const n = from.length;
  let mx = 0, my = 0, nx = 0, ny = 0;
  for (let i = 0; i < n; i++) {
    mx += from[i][0]; my += from[i][1]; nx += to[i][0]; ny += to[i][1];
  }
  mx /= n; my /= n; nx /= n; ny /= n;
  let sxx = 0, sxy = 0, variance = 0;
  for (let i = 0; i < n; i++) {
    const fx = from[i][0] - mx, fy = from[i][1] - my;
    const tx = to[i][0] - nx, ty = to[i][1] - ny;
    sxx += fx * tx + fy * ty; // dot product: cosine part
    sxy += fx * ty - fy * tx; // cross product: sine part
    variance += fx * fx + fy * fy;
  }
  if (variance === 0) throw new Error("the landmarks are all at one point");
  const a = sxx / variance;
  const b = sxy / variance;
  return { a, b, tx: nx - (a * mx - b * my), ty: ny - (b * mx + a * my) };
}

/** Where dlib's five mean points sit in a chip of `size` pixels with `padding`. */
export function chipTargets(size = CHIP_SIZE, padding = CHIP_PADDING) {
  return MEAN_FIVE.map(([x, y]) => [((padding + x) / (2 * padding + 1)) * size, ((padding + y) / (2 * padding + 1)) * size]);
}

/**
 * The transform from chip pixels to picture pixels for a face with these five landmarks,
 * {a, b, tx, ty} as in similarity(). dlib samples the picture at integer pixel centres.
 */
export function chipToPicture(points5, size = CHIP_SIZE, padding = CHIP_PADDING) {
  return similarity(chipTargets(size, padding), points5);
}

/**
 * Draw the chip onto a new canvas (size x size): `source` is anything drawImage takes (the
 * decoded picture), `points5` the face's five landmarks in that source's pixels. `quality` is the
 * canvas's smoothing: "low" is plain bilinear, as dlib samples.
 */
export function drawChip(source, points5, { size = CHIP_SIZE, padding = CHIP_PADDING, quality = "low" } = {}) {
  const t = chipToPicture(points5, size, padding);
  const canvas = newCanvas(size, size);
  const ctx = canvas.getContext("2d", { willReadFrequently: true }); // its pixels are read right back
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = quality;
  // dlib fills chip pixel (u, v) from the picture at T(u + 0.5, v + 0.5), picture pixel centres at
  // integers (checked against dlib.get_face_chip: 0.5 grey levels apart on average). A canvas puts
  // centres at +0.5 on both sides, so the chip pixel centre c maps to the canvas point T(c) + 0.5;
  // the canvas needs the inverse, picture to chip, written out here (T is a similarity).
  const s2 = t.a * t.a + t.b * t.b;
  const ia = t.a / s2, ib = -t.b / s2; // inverse rotation-scale: [ia -ib; ib ia]
  const ox = t.tx + 0.5;
  const oy = t.ty + 0.5;
  // inverse: c = M^-1 (p - o)
  const ex = -(ia * ox - ib * oy);
  const ey = -(ib * ox + ia * oy);
  ctx.setTransform(ia, ib, -ib, ia, ex, ey);
  ctx.drawImage(source, 0, 0);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  return canvas;
}

// The oval of the chip that holds the inner face, in chip pixels (takedown/detectors/faces.py
// OVAL_CENTRE, OVAL_AXES, OVAL_FILL): outside it a face swap shows the other body, so that part is
// greyed in two of the four looks.
export const OVAL_CENTRE = Object.freeze([74, 70]);
export const OVAL_AXES = Object.freeze([56, 62]);
export const OVAL_FILL = 128;
/** The looks averaged into one descriptor, in the server's order (faces.py LOOKS). */
export const LOOKS = Object.freeze(["chip", "mirror", "oval", "oval-mirror"]);

function mirrored(image) {
  const { width, height, data } = image;
  const out = new ImageData(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = 4 * (y * width + x), to = 4 * (y * width + (width - 1 - x));
      out.data[to] = data[from]; out.data[to + 1] = data[from + 1]; out.data[to + 2] = data[from + 2]; out.data[to + 3] = 255;
    }
  }
  return out;
}

function oval(image) {
  const { width, height } = image;
  const out = new ImageData(new Uint8ClampedArray(image.data), width, height);
  const [cx, cy] = OVAL_CENTRE, [ax, ay] = OVAL_AXES;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 > 1) {
        const i = 4 * (y * width + x);
        out.data[i] = out.data[i + 1] = out.data[i + 2] = OVAL_FILL;
      }
    }
  }
  return out;
}

/**
 * The four looks at a chip (LOOKS order) as canvases: the chip, its mirror image, and both with
 * only the oval kept. Built from the chip's pixels exactly as the server builds them (mirror =
 * columns reversed, after the oval), so both sides describe the same pixels.
 */
export function looks(chip) {
  const size = chip.width;
  const plain = chip.getContext("2d").getImageData(0, 0, size, size);
  const inner = oval(plain);
  return [plain, mirrored(plain), inner, mirrored(inner)].map((image) => {
    const canvas = newCanvas(size, size);
    canvas.getContext("2d").putImageData(image, 0, 0);
    return canvas;
  });
}

function newCanvas(width, height) {
  if (typeof OffscreenCanvas !== "undefined" && typeof document === "undefined") return new OffscreenCanvas(width, height);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}
