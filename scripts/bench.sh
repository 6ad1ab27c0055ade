#!/usr/bin/env bash
# Every measurement behind docs/BENCHMARKS.md, printed (make bench). Each step
# also runs alone; the commands are listed in docs/BENCHMARKS.md.
#
#   BENCH_DRAIN_N=10000 (default) invoices in the drained backlog
#   BENCH_SKIP="drain-interactive" skips steps by name
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
N=${BENCH_DRAIN_N:-10000}
SKIP=" ${BENCH_SKIP:-} "
failed=()

step() {
  local name=$1; shift
  [[ $SKIP == *" $name "* ]] && { echo "== $name: skipped"; return; }
  echo; echo "== $name"; echo "\$ $*"
  "$@" || failed+=("$name")
}

echo "== machine"
echo "$(uname -srm); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "$(go version); $(free -m | awk '/Mem:/{print $2" MiB RAM"}')"
df -h . | tail -1

step go-benchmarks go test -run '^$' -bench . -benchmem -count 1 ./...
step first-byte go test -run '^$' -bench SaleToFirstByte -benchtime 500x -count 1 ./bench
step first-byte-http go test -count 1 -run TestHTTPFirstByte -v ./bench -http.n 500
if command -v npm >/dev/null && [ ! -d bench/peer/node_modules ]; then
  (cd bench/peer && npm install --no-audit --no-fund --silent) || echo "npm install failed: the peer column stays empty"
fi
step printed-mark go test -run '^$' -bench PrintedMark -benchtime 10x -count 3 ./bench
step wire go test -count 1 -run TestWireBytes -v ./bench
step sizes scripts/sizes.sh
step idle-rss go test -count 1 -run TestIdleRSS -v ./bench
step drain-batch go test -count 1 -timeout 30m -run TestDrain -v ./bench -drain.n "$N" -drain.mode batch
# Interactive sending is limited to 180 invoices an hour; at time scale 3600
# the simulator's hour lasts a second, so the wall time × 3600 is the real one.
step drain-interactive go test -count 1 -timeout 30m -run TestDrain -v ./bench -drain.n "$((N < 10000 ? N : 9999))" -drain.mode interactive -drain.scale 3600
step recovery go test -count 1 -timeout 30m -run '^$' -bench BenchmarkRecovery -benchtime 7x ./internal/faults
step store-180-days go test -count 1 -timeout 30m -run TestStoreSize -v ./bench -store.days 180 -store.perday 500

if [ ${#failed[@]} -gt 0 ]; then echo "bench: failed steps: ${failed[*]}"; exit 1; fi
