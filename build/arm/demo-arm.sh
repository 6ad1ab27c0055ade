#!/usr/bin/env bash
# Cross-builds posagent for linux/arm GOARM=7, runs `posagent demo` under
# qemu-arm-static (embedded KSeF simulator, virtual printer) and checks that
# demo.json reports every invoice accepted by the simulator.
set -euo pipefail
cd "$(dirname "$0")/../.."
qemu=$(command -v qemu-arm-static || command -v qemu-arm) || { echo "qemu-arm-static missing" >&2; exit 1; }
dir=$(mktemp -d /tmp/posagent-demo-arm.XXXXXX)
trap 'rm -rf "$dir"' EXIT
CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 go build -trimpath -o "$dir/posagent" ./cmd/posagent
echo "== posagent demo under $(basename "$qemu") (armv7)"
start=$(date +%s)
"$qemu" "$dir/posagent" demo --dir "$dir/out" --sales "${DEMO_SALES:-6}" >"$dir/demo.log" 2>&1 || {
  echo "demo failed:" >&2; tail -40 "$dir/demo.log" >&2; exit 1; }
echo "demo ran in $(($(date +%s) - start)) s"
go run ./internal/soak/cmd/democheck "$dir/out/demo.json"
