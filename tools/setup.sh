#!/usr/bin/env bash
# One-command set-up: creates .venv at the repository root with Python 3.11 and installs the
# pinned OpenMMLab stack, mmcv built from source with its compiled ops (cached outside the
# repository and reused), then this package in editable mode. Safe to run again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
VENV="$ROOT/.venv"
CACHE="${MMYOLO_VIS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmyolo-vis}"
log() { printf '[setup] %s\n' "$*"; }
# pip.conf on this kind of machine names local index folders that may not exist: hide that noise only.
exec 2> >(grep -v --line-buffered "is ignored: it is neither a file nor a directory" >&2)

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

log "build tools and torch"
"${PIP[@]}" -r requirements/build.txt
"${PIP[@]}" -r requirements/torch.txt

# --- mmcv with compiled ops -------------------------------------------------------------
MMCV_SPEC="$(grep -E '^mmcv==' requirements/mmcv.txt)"
MMCV_VERSION="${MMCV_SPEC#mmcv==}"
# One cached wheel per build kind: CUDA ops when nvcc is there and torch sees a GPU.
KIND=cpu
if command -v nvcc >/dev/null 2>&1 && "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  KIND=cuda
fi
TORCH_TAG="$("$PY" -c 'import torch, sys; print(torch.__version__.split("+")[0] + "-py%d%d" % sys.version_info[:2])')"
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-$KIND-torch$TORCH_TAG"
installed_ok() {
  "$PY" - "$MMCV_VERSION" <<'PYCODE' 2>/dev/null
import sys
import mmcv
from mmcv.ops import nms  # noqa: F401  (fails without compiled ops)
sys.exit(0 if mmcv.__version__ == sys.argv[1] else 1)
PYCODE
}
if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  log "building mmcv $MMCV_VERSION ($KIND ops) from source: about 18 minutes on 2 cores, once per machine"
  BUILD="$(mktemp -d)"
  trap 'rm -rf "$BUILD"' EXIT
  "$PY" -m pip download -q --no-deps --no-binary :all: "$MMCV_SPEC" -d "$BUILD"
  tar -xzf "$BUILD"/mmcv-*.tar.gz -C "$BUILD"
  SRC="$(find "$BUILD" -maxdepth 1 -type d -name 'mmcv-*' | head -n 1)"
  # torch 2.14's headers need C++20; mmcv 2.0.1 hard-codes C++14.
  sed -i 's/-std=c++14/-std=c++20/g' "$SRC/setup.py"
  FORCE=0; [ "$KIND" = cuda ] && FORCE=1
  (cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=$FORCE MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
     "$PY" -m pip wheel -q --no-build-isolation --no-deps . -w "$BUILD/dist")
  mkdir -p "$WHEEL_DIR"
  cp "$BUILD"/dist/mmcv-*.whl "$WHEEL_DIR/"
  log "cached $(ls "$WHEEL_DIR"/mmcv-*.whl)"
fi
if ! installed_ok; then
  "${PIP[@]}" --force-reinstall --no-deps "$WHEEL_DIR"/mmcv-*.whl
fi

log "runtime and test packages"
"${PIP[@]}" -r requirements/mmcv.txt -r requirements/runtime.txt -r requirements/tests.txt --find-links "$WHEEL_DIR"
installed_ok || { echo "[setup] mmcv $MMCV_VERSION with compiled ops did not install" >&2; exit 1; }
"${PIP[@]}" --no-deps -r requirements/mmpretrain.txt  # see the note in that file

log "this package (editable)"
"${PIP[@]}" --no-build-isolation --no-deps -e .
"$PY" -c 'import mmdet, mmyolo, mmcv, mmpretrain, pytorch_grad_cam, sahi, mmyolo_vis; print("[setup] ok: mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmyolo", mmyolo.__version__, "mmpretrain", mmpretrain.__version__)'
