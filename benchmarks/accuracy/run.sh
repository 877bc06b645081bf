#!/usr/bin/env bash
# Fetch the corpus if it is missing, build a labelled collection from it, score lookalike and its peers.
#   usage: benchmarks/accuracy/run.sh [--split dev|holdout] [--seed N] [--originals K] [--tool NAME|all]
# Folders (environment): CORPUS (default ../corpus/dev beside the repo), PEERS_VENV (../venvs/peers),
# OUT (artifacts/accuracy/SPLIT-seedN in the repo); PYTHON is the tool's environment (.venv/bin/python).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
split=holdout seed=0 originals=100 tool=all
while [ $# -gt 0 ]; do
  case $1 in
    --split) split=$2 ;;
    --seed) seed=$2 ;;
    --originals) originals=$2 ;;
    --tool) tool=$2 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift 2
done
corpus=${CORPUS:-$repo/../corpus/dev}
peers_venv=${PEERS_VENV:-$repo/../venvs/peers}
python=${PYTHON:-$repo/.venv/bin/python}
out=${OUT:-$repo/artifacts/accuracy/$split-seed$seed}

install_peers() {
  [ -x "$peers_venv/bin/python" ] || python3 -m venv "$peers_venv"
  # torch first, alone: this machine keeps a CPU wheel of it, and imagededup would otherwise pull a CUDA one
  "$peers_venv/bin/pip" install -q -c "$here/peers-constraints.txt" torch &&
    "$peers_venv/bin/pip" install -q -c "$here/peers-constraints.txt" -r "$here/peers-requirements.txt"
}

[ -f "$corpus/manifest.tsv" ] || bash "$repo/../shared/corpus/fetch-dev-photos.sh" "$corpus"
if [ "$tool" != lookalike ] && ! "$peers_venv/bin/python" -c 'import imagededup, difPy' 2>/dev/null; then
  install_peers || echo "the peer tools did not install: scoring without them" >&2
fi
"$python" "$here/make_collection.py" "$out" --corpus "$corpus" --split "$split" --seed "$seed" --originals "$originals"
"$python" "$here/score.py" "$out" --tool "$tool" --peers-python "$peers_venv/bin/python" | tee "$out.scores.md"
