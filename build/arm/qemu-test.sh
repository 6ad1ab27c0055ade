#!/usr/bin/env bash
# Unit tests of the packages that touch memory layout, mmap and crypto, run as
# 32-bit ARMv7 binaries under qemu-user. -short keeps the emulated run brief.
set -euo pipefail
cd "$(dirname "$0")/../.."
qemu=$(command -v qemu-arm-static || command -v qemu-arm) || { echo "qemu-arm-static missing" >&2; exit 1; }
pkgs=${PKGS:-"./outbox/... ./escpos/... ./printer/... ./ksef ./certstore/..."}
echo "== GOARCH=arm GOARM=7 go test under $(basename "$qemu")"
# shellcheck disable=SC2086
CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 go test -short -count=1 -exec "$qemu" $pkgs
