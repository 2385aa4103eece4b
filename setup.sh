#!/usr/bin/env bash
# Installs what the project needs into ./.venv (idempotent; no GPU or internet needed beyond
# the package registries), and Fashion-MNIST for the main job (Debian's package, where apt is
# available); `bash setup.sh --test` adds the test tools.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup.sh: needs Python >= 3.11 (JAX 0.10); found: $("$PY" --version 2>&1). Set PYTHON=..." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv || {
    echo "setup.sh: '$PY -m venv' failed; on Debian/Ubuntu: apt-get install -y python3-venv" >&2
    exit 1; }
fi
# uv installs the same pinned packages as pip, downloading, unpacking and byte-compiling on
# every core: the test set took 22-25 s here against pip's 64 s (docs/contributing.md). Of
# pip's configuration it is handed only the wheel folders pip is told to look in (where these
# machines keep PyTorch's CPU build); an install uv cannot do (a package only on an index
# that pip's configuration names, say) is done by pip, as is everything where uv cannot be had.
pip=(.venv/bin/python -m pip install -q)
uv=()
if .venv/bin/python -m pip install -q uv==0.13.9 2>/dev/null; then
  uv=(.venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python)
  while read -r folder; do
    uv+=(--find-links "$folder")
  done < <(.venv/bin/python -m pip config list 2>/dev/null | .venv/bin/python -c '
import ast, os, sys
for line in sys.stdin:
  key, _, value = line.rstrip("\n").partition("=")
  try:
    places = ast.literal_eval(value).split() if key.endswith("find-links") else []
  except (ValueError, SyntaxError):
    places = []
  for place in places:
    if os.path.isdir(place) or "://" in place:
      print(place)' | sort -u)
else
  echo "setup.sh: could not install uv; installing with pip instead (slower)" >&2
fi
install() {
  if [ ${#uv[@]} -gt 0 ]; then
    "${uv[@]}" "$@" && return
    echo "setup.sh: uv could not install $*; pip tries" >&2
  fi
  "${pip[@]}" "$@"
}
if [ "${1:-}" = "--test" ]; then
  install -r requirements-test.txt
  # torch-fidelity's InceptionV3 is the FID port's reference; its own dependency torchvision
  # would replace the pinned torch, and the network needs torch only.
  install --no-deps torch-fidelity==0.4.0
else
  install -r requirements.txt
fi
# The project's own modules byte-compiled too, as pip compiles the packages': where
# PYTHONDONTWRITEBYTECODE is set (as on these CI machines), each process would otherwise
# compile them again when it imports them (~0.08 s of CPU for the trainers' modules).
.venv/bin/python -m compileall -q launch.py benchmarks classifiers common configs gans probes \
  tests transfer || echo "setup.sh: could not byte-compile the project's modules (above)" >&2

# Debian packages: the main job's data (the tests run the main job too; elsewhere the run
# downloads it or says how to provide it) and, with --test, the Chromium the web app's browser
# test drives (browsers cannot be downloaded by Playwright here).
packages=()
[ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
[ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null && packages+=(chromium)
if [ ${#packages[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
  $sudo apt-get install -y -q "${packages[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "${packages[@]}" >/dev/null 2>&1; } ||
    echo "setup.sh: could not install ${packages[*]} with apt-get; without dataset-fashion-mnist the run will try to download it, without chromium the browser test fails." >&2
fi
