#!/usr/bin/env bash
# Run one of this repository's scripts on NPROC processes per node with torchrun, as OpenMMLab's
# tools/dist_test.sh does:
#
#   bash tools/dist_run.sh SCRIPT NPROC [ARGS...]
#   bash tools/dist_run.sh demo/featmap_vis_demo.py 2 data/frames configs/yolov5/yolov5_n_shapes.py \
#       checkpoints/yolov5_n_shapes.pth --device cpu --out-dir output/frames
#
# Several nodes: run it on each with the same NNODES, MASTER_ADDR and PORT and its own NODE_RANK.
# The script gets --launcher pytorch; each process takes every world-size-th input.
# A failed run ends with the processes' own one-line errors and a non-zero exit code (130 on Ctrl-C);
# the launcher is mmyolo_vis/apps/dist_run.py (torchrun without its traceback).
set -uo pipefail
USAGE="usage: bash tools/dist_run.sh SCRIPT NPROC [ARGS...] (env: PORT, NNODES, NODE_RANK, MASTER_ADDR)"
die() { echo "error: $1; $USAGE" >&2; exit 2; }  # one line
[ $# -ge 2 ] || die "SCRIPT and NPROC are required"
SCRIPT=$1
NPROC=$2
[ -f "$SCRIPT" ] || die "$SCRIPT: no such script"
[[ "$NPROC" =~ ^[1-9][0-9]*$ ]] || die "NPROC $NPROC: give the number of processes, a positive integer"
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
[[ "$NNODES" =~ ^[1-9][0-9]*$ ]] || die "NNODES $NNODES: a positive integer"
[[ "$NODE_RANK" =~ ^[0-9]+$ ]] && [ "$NODE_RANK" -lt "$NNODES" ] || die "NODE_RANK $NODE_RANK: 0 to NNODES-1"
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "PORT $PORT: a port number (1-65535)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=${PYTHON:-"$ROOT/.venv/bin/python"}
[ -x "$PYTHON" ] || PYTHON=python

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m mmyolo_vis.apps.dist_run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$SCRIPT" "${@:3}" --launcher pytorch
