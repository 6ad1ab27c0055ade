#!/usr/bin/env bash
# Stripped binary sizes for every target (docs/BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '| target | bytes | MiB |\n|---|---:|---:|\n'
for t in amd64: arm:6 arm:7 arm64:; do
  arch=${t%%:*} arm=${t#*:}
  name=linux-$arch${arm:+v$arm}
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOARM=$arm go build -trimpath -ldflags "-s -w" -o "$out/$name" ./cmd/posagent
  size=$(stat -c %s "$out/$name")
  printf '| %s | %d | %.2f |\n' "$name" "$size" "$(awk "BEGIN{print $size/1048576}")"
done
