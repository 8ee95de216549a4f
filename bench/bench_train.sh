#!/bin/sh
# Throughput and peak memory of `stochopt train` against PyTorch 1.13 on the same model
# (mlp:256,128), data (Fashion-MNIST), optimizer (Adam, lr 1e-3), batch (128) and thread
# count, in one run on one machine. Needs a release build in build/ and Debian's
# python3-torch. Prints a Markdown table for docs/benchmarks.md.
# Usage: bench/bench_train.sh [epochs] [threads]
set -eu
cd "$(dirname "$0")/.."
epochs=${1:-3}
threads=${2:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# OMP_NUM_THREADS and OPENBLAS_NUM_THREADS pin both programs' pools to the same size.
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
/usr/bin/time -f '%M' -o "$out/so.rss" ./build/stochopt train --epochs "$epochs" \
    --threads "$threads" >"$out/so.txt"
/usr/bin/time -f '%M' -o "$out/pt.rss" /usr/bin/python3 bench/train_torch.py \
    --epochs "$epochs" --threads "$threads" >"$out/pt.txt"
./build/bench/bench_sgemm "$threads" >"$out/sgemm.txt"

# Mean of the per-epoch samples/s figures; both programs time training steps only.
so_rate=$(awk '/^epoch/ { for (i = 1; i < NF; i++) if ($(i+1) == "samples/s") { s += $i; n++ } }
               END { printf "%.0f", s / n }' "$out/so.txt")
pt_rate=$(awk '/^epoch/ { for (i = 1; i < NF; i++) if ($(i+1) == "samples/s") { s += $i; n++ } }
               END { printf "%.0f", s / n }' "$out/pt.txt")
so_acc=$(awk '/^final/ { for (i = 1; i < NF; i++) if ($i == "test_accuracy") print $(i+1) }' "$out/so.txt" | tr -d ,)
pt_acc=$(awk '/^epoch/ { for (i = 1; i < NF; i++) if ($i == "test_accuracy") a = $(i+1) } END { print a }' "$out/pt.txt")
bound=$(awk '/^bound/ { print $(NF-1) }' "$out/sgemm.txt")

echo "Machine: $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2 }'), $threads thread(s); $epochs epochs"
echo
so_rss=$(cat "$out/so.rss")
pt_rss=$(cat "$out/pt.rss")
pt_version=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')
awk -v sr="$so_rate" -v pr="$pt_rate" -v sa="$so_acc" -v pa="$pt_acc" -v sm="$so_rss" \
    -v pm="$pt_rss" -v b="$bound" -v pv="$pt_version" 'BEGIN {
    print "| program | samples/s | ratio to PyTorch | test accuracy | peak RSS (MiB) |"
    print "|---|---|---|---|---|"
    printf "| stochopt train | %d | %.2f | %s | %.0f |\n", sr, sr / pr, sa, sm / 1024
    printf "| PyTorch %s | %d | 1.00 | %s | %.0f |\n", pv, pr, pa, pm / 1024
    printf "| SGEMM-only bound | %d | %.2f | | |\n", b, b / pr
}'
echo
sed 's/^/    /' "$out/sgemm.txt"
