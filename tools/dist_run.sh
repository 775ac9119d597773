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
set -euo pipefail
SCRIPT=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=${PYTHON:-"$ROOT/.venv/bin/python"}
[ -x "$PYTHON" ] || PYTHON=python

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$SCRIPT" "${@:3}" --launcher pytorch
