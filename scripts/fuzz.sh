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
failed=() n=0 names=()
while read -r line; do
  case $line in
    Fuzz*) names+=("$line") ;;
    ok*)
      pkg=$(awk '{print $2}' <<<"$line")
      [ ${#names[@]} -eq 0 ] && continue
      # One test binary per package, run from the package directory (its
      # testdata/fuzz corpus) with go test's own fuzz cache.
      bin=$tmp/$(tr / _ <<<"$pkg").test
      # -fuzz=. builds the binary with the coverage instrumentation fuzzing needs.
      if ! out=$(go test -c -fuzz=. -o "$bin" "$pkg" 2>&1); then
        echo "fuzz $pkg: build failed"; echo "$out"; failed+=("$pkg"); names=(); continue
      fi
      dir=$(go list -f '{{.Dir}}' "$pkg")
      for name in "${names[@]}"; do
        n=$((n + 1))
        printf 'fuzz %-45s %-28s ' "$pkg" "$name"
        # -test.run=^$ skips the unit tests; the seed corpus still runs first.
        run() { (cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$1" \
            -test.parallel 2 -test.fuzzcachedir "$fuzzcache/$pkg" 2>&1); }
        if out=$(run "$fuzztime"); then
          echo ok
        elif grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out" \
            && out=$(run 10s); then
          # Go's fuzzer reports "context deadline exceeded" when the time runs
          # out before its baseline coverage pass ends (a loaded machine): no
          # input failed, so the target gets one longer run.
          echo "ok (second run, 10s)"
        else
          echo FAIL; echo "$out" | tail -30; failed+=("$pkg.$name")
        fi
      done
      names=() ;;
  esac
done <<<"$listing"
echo "fuzz: $n targets, ${#failed[@]} failed, $fuzztime each"
[ ${#failed[@]} -eq 0 ] || { echo "fuzz failures: ${failed[*]}"; exit 1; }
