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
