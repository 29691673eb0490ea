# Shared by scripts/run and scripts/test. Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "needs root to run: $* (install it by hand, then re-run)"; fi
}

# Debian packages the project needs, installed when missing (apt-get update only if needed).
APT_UPDATED=0
ensure_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing system packages (${missing[*]}) and no apt-get to install them"
  say "Installing system packages: ${missing[*]}"
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Libraries WeasyPrint needs to render notices and case reports as PDF.
PDF_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 libglib2.0-0 fonts-dejavu-core)

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      command -v "$candidate"; return 0
    fi
  done
  die "Python 3.11 is required (python3.11 not found)"
}

# Create .venv and install a requirements file; skipped when nothing changed since the last install.
ensure_venv() {
  local reqs="$1" stamp="$VENV/.installed-$(basename "$1")" digest
  if [ ! -x "$PY" ]; then
    say "Creating the virtual environment in .venv"
    "$(find_python)" -m venv "$VENV"
  fi
  digest=$(cat "$ROOT/requirements.txt" "$ROOT/$reqs" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    say "Installing Python packages from $reqs"
    # The filter hides a harmless warning some machines' pip configuration prints per package.
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | { grep -v 'is ignored: it is neither' || true; }
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/$reqs" 2>&1 | { grep -v 'is ignored: it is neither' || true; }
    echo "$digest" > "$stamp"
  fi
}

# JavaScript packages from npm, pinned in package-lock.json: the test tools (axe-core) and the
# browser libraries vendored into static/ below. Node may come from another source than Debian
# (with npm inside); Debian's is installed only if absent.
ensure_node_packages() {
  { command -v node >/dev/null && command -v npm >/dev/null; } || ensure_apt nodejs npm
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || ! cmp -s "$ROOT/package-lock.json" "$ROOT/node_modules/.package-lock.json"; then
    say "Installing JavaScript packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Face templates made in the survivor's browser (static/faces/) need @vladmandic/face-api (MIT; its
# face_recognition_model is dlib's ResNet ported to TensorFlow.js) and the WASM binaries of the
# TensorFlow.js backend it bundles (@tensorflow/tfjs-backend-wasm, Apache-2.0, the same version).
# They are copied from node_modules into static/vendor/face-api/ (gitignored), so the page loads
# them from our own origin: never from a CDN. Re-copied when package-lock.json changes.
vendor_face_api() {
  local api="$ROOT/node_modules/@vladmandic/face-api" wasm="$ROOT/node_modules/@tensorflow/tfjs-backend-wasm"
  local dest="$ROOT/static/vendor/face-api" want model
  # The suffix changes when this function copies differently, so existing copies are redone.
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)-nomap"
  [ "$(cat "$dest/.vendored" 2>/dev/null)" = "$want" ] && return 0
  [ -f "$api/dist/face-api.esm.js" ] && [ -f "$wasm/dist/tfjs-backend-wasm.wasm" ] ||
    die "node_modules lacks @vladmandic/face-api or @tensorflow/tfjs-backend-wasm (npm ci failed?)"
  say "Copying face-api, its models and the TensorFlow.js WASM binaries into static/vendor/face-api"
  rm -rf "$dest"
  mkdir -p "$dest/model"
  # Without its source-map comment: the map is not shipped, and collectstatic's manifest storage
  # refuses a file that points at a missing one.
  sed '/^\/\/# sourceMappingURL=/d' "$api/dist/face-api.esm.js" > "$dest/face-api.esm.js"
  cp "$api/LICENSE" "$dest/LICENSE-face-api"
  for model in ssd_mobilenetv1 face_landmark_68 face_recognition; do
    cp "$api/model/${model}_model-weights_manifest.json" "$api/model/${model}_model.bin" "$dest/model/"
  done
  cp "$wasm"/dist/tfjs-backend-wasm.wasm "$wasm"/dist/tfjs-backend-wasm-simd.wasm \
    "$wasm"/dist/tfjs-backend-wasm-threaded-simd.wasm "$dest/"
  printf '%s\n' \
    "Copied by scripts/lib.sh (vendor_face_api) from npm packages pinned in package-lock.json; not committed." \
    "@vladmandic/face-api $(node -p "require('$api/package.json').version") (MIT, LICENSE-face-api): face-api.esm.js, model/." \
    "@tensorflow/tfjs-backend-wasm $(node -p "require('$wasm/package.json').version") (Apache-2.0): *.wasm." \
    > "$dest/README.txt"
  echo "$want" > "$dest/.vendored"
}
