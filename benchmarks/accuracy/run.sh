#!/usr/bin/env bash
# Fetch the corpus and the video frames if they are missing, build a labelled collection, score the tools.
#   usage: benchmarks/accuracy/run.sh [--set random|regression] [--split dev|holdout] [--seed N | --seeds N,M,..]
#                                     [--originals K] [--tool NAME|all]
# --seeds builds and scores every seed, then writes one results file, results/SET-SPLIT-COMMIT.md (committed).
# Folders (environment): CORPUS (default ../corpus/dev beside the main checkout), LABELME (../corpus/labelme),
# PEERS_VENV (../venvs/peers), OUT (artifacts/accuracy in this checkout: collections go to OUT/SET-SPLIT-seedN,
# tables beside them); PYTHON is the tool's environment (.venv/bin/python).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# The corpus and shared files sit beside the main checkout, which a worktree's git knows.
home=$(dirname "$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo "$repo/.git")")
set_name=random split=holdout seeds=0 originals=100 tool=all results=no
command="benchmarks/accuracy/run.sh $*"
while [ $# -gt 0 ]; do
  case $1 in
    --set) set_name=$2 ;;
    --split) split=$2 ;;
    --seed) seeds=$2 ;;
    --seeds) seeds=${2//,/ } results=yes ;;
    --originals) originals=$2 ;;
    --tool) tool=$2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift 2
done
corpus=${CORPUS:-$home/../corpus/dev}
labelme=${LABELME:-$home/../corpus/labelme}
shared=$home/../shared/corpus
peers_venv=${PEERS_VENV:-$home/../venvs/peers}
python=${PYTHON:-$repo/.venv/bin/python}
video=$labelme/usr/share/doc/labelme-examples/examples/video_annotation/data_annotated

install_peers() {
  [ -x "$peers_venv/bin/python" ] || python3 -m venv "$peers_venv"
  # torch first, alone: this machine keeps a CPU wheel of it, and imagededup would otherwise pull a CUDA one
  "$peers_venv/bin/pip" install -q -c "$here/peers-constraints.txt" torch &&
    "$peers_venv/bin/pip" install -q -c "$here/peers-constraints.txt" -r "$here/peers-requirements.txt"
}

fetch_video_frames() {
  # Debian's labelme-examples ships five consecutive frames of one video
  mkdir -p "$labelme/_debs"
  (cd "$labelme/_debs" && { ls labelme-examples_*.deb >/dev/null 2>&1 || apt-get download -qq labelme-examples; })
  dpkg -x "$labelme"/_debs/labelme-examples_*.deb "$labelme"
}

[ -f "$corpus/manifest.tsv" ] || bash "$shared/fetch-dev-photos.sh" "$corpus"
[ "$set_name" != random ] || ls "$video"/*.jpg >/dev/null 2>&1 || fetch_video_frames
if [ "$tool" != lookalike ] && ! "$peers_venv/bin/python" -c 'import imagededup, difPy' 2>/dev/null; then
  install_peers || echo "the peer tools did not install: scoring without them" >&2
fi
saved=()
for seed in $seeds; do
  out=${OUT:-$repo/artifacts/accuracy}/$set_name-$split-seed$seed
  "$python" "$here/make_collection.py" "$out" --corpus "$corpus" --set "$set_name" --split "$split" --seed "$seed" \
    --originals "$originals" --lookalike-pairs "$shared/dev-lookalike-pairs.tsv" --video "$video"
  "$python" "$here/score.py" "$out" --tool "$tool" --peers-python "$peers_venv/bin/python" --save "$out.scores.json" |
    tee "$out.scores.md"
  saved+=("$out.scores.json")
done
[ "$results" = no ] || "$python" "$here/results.py" "$here/results" "${saved[@]}" --command "$command"
