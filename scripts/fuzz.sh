#!/usr/bin/env bash
# Runs every fuzz target in the module for a fixed time each: a few seconds in
# CI (`make fuzz`), minutes in the long mode (`make fuzz-long`).
#
#   scripts/fuzz.sh [DURATION] [PACKAGES...]     e.g. scripts/fuzz.sh 5m ./escpos
#
# New crashers land in the package's testdata/fuzz/<Target>/ and fail the run;
# commit them as regression seeds once fixed.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-3s}
shift || true
pkgs=("${@:-./...}")

# go test -list prints the matching names, then "ok <pkg> <time>" per package.
listing=$(go test -list '^Fuzz' "${pkgs[@]}" 2>&1) || { echo "$listing"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fuzzcache=$(go env GOCACHE)/fuzz

# fuzz_pkg PKG OUT NAME... fuzzes one package's targets one after another;
# it writes its report to OUT and each failed target to OUT.failed.
fuzz_pkg() {
  local pkg=$1 outf=$2; shift 2
  local bin=$tmp/$(tr / _ <<<"$pkg").test dir out name
  # -fuzz=. builds the binary with the coverage instrumentation fuzzing needs.
  if ! out=$(go test -c -fuzz=. -o "$bin" "$pkg" 2>&1); then
    { echo "fuzz $pkg: build failed"; echo "$out"; } >>"$outf"; echo "$pkg" >>"$outf.failed"; return
  fi
  # Run from the package directory (its testdata/fuzz corpus) with go test's
  # own fuzz cache.
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for name in "$@"; do
    printf 'fuzz %-45s %-28s ' "$pkg" "$name" >>"$outf"
    # -test.run=^$ skips the unit tests; the seed corpus still runs first.
    # One worker: two packages fuzz at once, one per core.
    run() { (cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$1" \
        -test.parallel 1 -test.fuzzcachedir "$fuzzcache/$pkg" 2>&1); }
    if out=$(run "$fuzztime"); then
      echo ok >>"$outf"
    elif grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out" \
        && out=$(run 10s); then
      # Go's fuzzer reports "context deadline exceeded" when the time runs
      # out before its baseline coverage pass ends (a loaded machine): no
      # input failed, so the target gets one longer run.
      echo "ok (second run, 10s)" >>"$outf"
    else
      { echo FAIL; echo "$out" | tail -30; } >>"$outf"; echo "$pkg.$name" >>"$outf.failed"
    fi
  done
}

# Two packages at a time: a target's run is mostly one busy core (building,
# the seed corpus, the baseline coverage pass), so one worker each on two
# cores halves the stage and gives each target the same FUZZTIME.
jobs=${FUZZJOBS:-2} n=0 k=0 names=()
while read -r line; do
  case $line in
    Fuzz*) names+=("$line") ;;
    ok*)
      [ ${#names[@]} -eq 0 ] && continue
      k=$((k + 1)) n=$((n + ${#names[@]}))
      while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
      fuzz_pkg "$(awk '{print $2}' <<<"$line")" "$tmp/out.$(printf %03d $k)" "${names[@]}" &
      names=() ;;
  esac
done <<<"$listing"
wait
cat "$tmp"/out.[0-9][0-9][0-9] 2>/dev/null
failed=()
for f in "$tmp"/out.*.failed; do [ -e "$f" ] && mapfile -t -O ${#failed[@]} failed <"$f"; done
echo "fuzz: $n targets, ${#failed[@]} failed, $fuzztime each"
[ ${#failed[@]} -eq 0 ] || { echo "fuzz failures: ${failed[*]}"; exit 1; }
