#!/usr/bin/env bash
# Build and score one collection per seed, and write every table into one results file with the date, the
# machine and the commit measured.
#   usage: benchmarks/accuracy/seeds.sh [--split dev|holdout] [--set random|regression] [--seeds "0 1 2"]
#                                       [--originals K] [--tool NAME|all]
# Writes benchmarks/accuracy/results/SPLIT-SET.md (committed); the collections go to artifacts/ (never committed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
split=holdout set=random seeds="0 1 2" originals=40 tool=lookalike
while [ $# -gt 0 ]; do
  case $1 in
    --split) split=$2 ;;
    --set) set=$2 ;;
    --seeds) seeds=$2 ;;
    --originals) originals=$2 ;;
    --tool) tool=$2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift 2
done
corpus=${CORPUS:-$repo/../corpus/dev}
python=${PYTHON:-$repo/.venv/bin/python}
[ -f "$corpus/manifest.tsv" ] || bash "$repo/../shared/corpus/fetch-dev-photos.sh" "$corpus"
video=$(dirname "$corpus")/labelme
if [ ! -d "$video/usr" ]; then  # consecutive video frames: the hard negatives of the random set
  (cd "$(mktemp -d)" && apt-get download -qq labelme-examples && mkdir -p "$video" && dpkg -x labelme-examples_*.deb "$video")
fi
results=$here/results/$split-$set.md
{
  echo "# $split split, $set set: seeds $seeds, $originals originals each"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(uname -m), $(nproc) cores, at commit $(git -C "$repo" rev-parse --short HEAD)."
  for seed in $seeds; do
    out=$repo/artifacts/accuracy/$split-$set-seed$seed
    "$python" "$here/make_collection.py" "$out" --corpus "$corpus" --split "$split" --seed "$seed" \
      --originals "$originals" --set "$set" 2>/dev/null
    echo
    echo "## seed $seed"
    echo
    "$python" "$here/score.py" "$out" --tool "$tool" 2>/dev/null
  done
} > "$results"
echo "wrote $results"
