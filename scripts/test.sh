#!/usr/bin/env bash
# The whole test suite: the README's `make test`, and what .ci/run calls with
# CI=true on a clean clone.
#
# It installs the Debian tools the tests need when they are missing and this
# runs as root. Under CI=true a missing tool is a failure, never a skip.
#
# Stages (each prints a "== stage" header; STAGES="vet gotest" runs a subset):
#   vet        go vet, and gofmt -s must have nothing to say
#   test386    GOARCH=386 go test -short: 64-bit alignment of atomics and structs
#              (natively, or under qemu-i386-static where this kernel cannot
#              exec a 386 binary, then without the packages qemuarm runs)
#   qemuarm    build/arm/qemu-test.sh: outbox, escpos, printer, ksef, certstore as armv7
#   buildarm   make build-deb-arm (armv7, arm64), armv7 stripped must be < 15 MB
#   deb        build/deb/check.sh: nfpm packages, dpkg-deb, the amd64 package extracted
#              into a throwaway root: version, doctor against its own simulator on
#              loopback; installed on this machine only under CI=true or
#              POSAGENT_TEST_INSTALL=1
#   demoarm    posagent demo cross-built for armv7, run under qemu-arm-static
#   fuzz       every fuzz target for FUZZTIME (default 3s), two packages at a
#              time with one fuzzing worker each
#   dates      the date-sensitive paths at fixed instants (month and year ends, New
#              Year's midnight, Christmas Eve, both DST switches, a leap day): the
#              tests on injected clocks, then `posagent demo --date` at each
#              instant checked by democheck -date (never against today)
#   race       go test -race -short: the data-race detector over every package
#              (-short leaves out the soak and the fault matrix, minutes each)
#   prom       deploy/prometheus: promtool check and unit tests of the rules, the
#              example config and file_sd list, then the e2e: a real Prometheus
#              scrapes three real agents and sees one's overdue alert fire
#   staticcheck, govulncheck   pinned versions, run with `go run`
#   gotest     go test ./... (amd64), last, so the output ends with its summary
#
# A failing stage does not stop the others; the exit status is non-zero if any
# failed, and the last line then names them in go test's FAIL format.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2
# v1.9.0 needs a golang.org/x/telemetry version the module proxy refuses (403).
GOVULNCHECK=golang.org/x/vuln/cmd/govulncheck@v1.8.0
FUZZTIME=${FUZZTIME:-3s}
ALL_STAGES="vet test386 qemuarm buildarm deb demoarm dates fuzz race prom staticcheck govulncheck gotest"
STAGES=${STAGES:-$ALL_STAGES}
MAX_ARMV7_BYTES=$((15 * 1024 * 1024))
LOG=${TEST_LOG:-/tmp/posagent-test.log}

# tool -> Debian package
declare -A pkgs=(
  [xmllint]=libxml2-utils
  [xmlsec1]=xmlsec1
  [qemu-arm-static]=qemu-user-static
  [qemu-i386-static]=qemu-user-static
  [chromium]=chromium
  [dpkg-deb]=dpkg
  [openssl]=openssl
  [systemd-analyze]=systemd
  [adduser]=adduser
  [git]=git
  [curl]=curl
  [gcc]=gcc
  [promtool]=prometheus
  [prometheus]=prometheus
)

install_tools() {
  local missing=() tool
  for tool in "${!pkgs[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${pkgs[$tool]}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "warning: missing ${missing[*]} (not root or no apt-get): tests needing them skip, or fail under CI=true" >&2
    return 0
  fi
  echo "== apt: installing ${missing[*]}"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -qq -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false)
  local try
  for try in 1 2 3; do
    if "${apt[@]}" update >/dev/null 2>&1 && "${apt[@]}" install -y "${missing[@]}" >/tmp/posagent-apt.log 2>&1; then
      return 0
    fi
    echo "apt attempt $try failed; retrying in $((try * 5)) s" >&2
    sleep $((try * 5))
  done
  echo "warning: apt-get could not install ${missing[*]}; see /tmp/posagent-apt.log" >&2
  tail -5 /tmp/posagent-apt.log >&2
}

# SKIP is the status of a skipped stage (automake's convention); any other
# non-zero status, including make's 2, is a failure.
SKIP=77

# need fails the stage when a tool is missing under CI, and skips it otherwise.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "${CI:-}" = true ]; then echo "missing tool $1 (CI=true)" >&2; return 1; fi
  echo "skip: missing tool $1"; return $SKIP
}

stage_vet() {
  go vet ./... || return 1
  local unformatted
  unformatted=$(gofmt -s -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
  if [ -n "$unformatted" ]; then echo "gofmt -s needed:"; echo "$unformatted"; return 1; fi
}

# native386 reports whether this kernel executes a linux/386 binary (many
# amd64 kernels are built without IA32 emulation: "exec format error").
native386() {
  local dir rc
  dir=$(mktemp -d)
  printf 'package main\n\nfunc main() {}\n' >"$dir/probe.go"
  (cd "$dir" && CGO_ENABLED=0 GOOS=linux GOARCH=386 GOFLAGS= go build -o probe probe.go) >/dev/null 2>&1 &&
    "$dir/probe" >/dev/null 2>&1
  rc=$?
  rm -rf "$dir"
  return $rc
}

stage_test386() {
  # CGO is off so no 32-bit libc is needed. Every package must build and vet
  # for 32 bits; the unit tests of the packages that own structs, atomics and
  # storage run. The end-to-end packages (agent, cmd, e2e, soak, faults,
  # bench) repeat those paths and are left to the amd64 pass, to keep the
  # suite short.
  CGO_ENABLED=0 GOARCH=386 go vet ./... || return 1
  local pkgs=(./ksef ./certstore/... ./escpos/... ./receipt/... ./printer/... ./outbox/... ./config/...
    ./till/... ./internal/metrics/... ./internal/logx/... ./internal/backoff/... ./internal/svcunit/...)
  if native386; then
    CGO_ENABLED=0 GOARCH=386 go test -short -count=1 -timeout 10m ./ksef/ksefapi/... ./ksef/ksefsim/... "${pkgs[@]}"
    return
  fi
  need qemu-i386-static; local rc=$?; [ $rc -ne 0 ] && return $rc
  # qemu-i386 (7.2) keeps one GDT for all the threads of a process, and a
  # signal's return reloads GS from it: a Go thread that takes a signal comes
  # back with another thread's TLS and the runtime dies ("exitsyscall: syscall
  # frame is no longer valid"). So under qemu: no preemption signals
  # (asyncpreemptoff), no child processes (POSAGENT_TEST_NOEXEC=1: the tests
  # that run xmllint, openssl or systemd-analyze skip), and not the KSeF
  # client and simulator, whose HTTP tests meet SIGPIPE and which take 2 min
  # emulated. Those hold no 64-bit atomics; go vet above still builds them.
  # Nor the packages the qemuarm stage runs as armv7, whose 64-bit atomics
  # need the same 8-byte alignment as on 386: emulated twice they cost a
  # minute of the suite for nothing more.
  echo "this kernel does not exec 386 binaries: running them under qemu-i386-static"
  echo "(outbox, escpos, printer, ksef and certstore run as 32-bit in the qemuarm stage)"
  POSAGENT_TEST_NOEXEC=1 GODEBUG=asyncpreemptoff=1 CGO_ENABLED=0 GOARCH=386 \
    go test -exec qemu-i386-static -short -count=1 -timeout 10m \
    ./receipt/... ./config/... ./till/... ./internal/metrics/... ./internal/logx/... ./internal/backoff/... ./internal/svcunit/...
}

stage_qemuarm() {
  need qemu-arm-static; local rc=$?; [ $rc -ne 0 ] && return $rc
  build/arm/qemu-test.sh
}

stage_buildarm() {
  # The packaged binaries only: armv6 differs from armv7 in GOARM alone (how
  # floating point is compiled) and would cost a cold build of everything
  # for nothing the armv7 build does not prove; `make build-arm` makes it.
  make --no-print-directory build-deb-arm || return 1
  local f size
  for f in build/arm/posagent-linux-armv7 build/arm/posagent-linux-arm64; do
    size=$(stat -c %s "$f") || return 1
    # -s -w strips; go tool nm proves it rather than trusting the flags.
    if go tool nm "$f" >/dev/null 2>&1; then echo "$f still has a symbol table" >&2; return 1; fi
    printf '%-36s %9d bytes (%s MiB)\n' "$f" "$size" "$(awk "BEGIN{printf \"%.2f\", $size/1048576}")"
  done
  size=$(stat -c %s build/arm/posagent-linux-armv7)
  if [ "$size" -ge "$MAX_ARMV7_BYTES" ]; then
    echo "armv7 binary is $size bytes, budget < $MAX_ARMV7_BYTES" >&2; return 1
  fi
}

stage_deb() {
  need dpkg-deb; local rc=$?; [ $rc -ne 0 ] && return $rc
  build/deb/check.sh
}

stage_demoarm() {
  need qemu-arm-static; local rc=$?; [ $rc -ne 0 ] && return $rc
  build/arm/demo-arm.sh
}

# The tests of dates on injected clocks the dates stage runs by name; each
# must be seen passing, so a renamed one fails the stage instead of vanishing.
DATE_TESTS=(TestAtInstants TestIssueDates TestOfflineClassificationAtMidnight TestOnlineAttemptAtMidnight
  TestDeadline TestStatutoryHolidays TestEaster TestCalendarOverrides TestTokenEndsAtNewYear TestPenaltyFrom2027
  TestArchiveYear TestArchiveRotatesByYear TestParse TestSince TestCheckDemoDates
  TestDemoDate TestDoctorDate TestKSeFSimDate TestDateFlagRefused TestRunDateNeedsLoopbackKSeF)
# The instants `posagent demo --date` rehearses, Warsaw time; on the DST days
# next to the switch (simclock refuses the hour October repeats). A demo takes
# about a second: TestAtInstants is the one that crosses midnight and the
# switches within one run.
DATE_INSTANTS=(2026-11-30 2026-11-30T23:59:30 2026-12-24 2026-12-31 2026-12-31T23:59:30 2027-01-01T00:00:30
  2027-03-28T01:59:30 2027-03-28T03:00 2027-10-31T01:59:30 2027-10-31T03:00 2028-02-29)

stage_dates() {
  local out rc name
  out=$(go test -count=1 -v -run "^($(IFS='|'; echo "${DATE_TESTS[*]}"))\$" \
    ./agent/ ./ksef/ ./ksef/ksefe2e/ ./outbox/ ./internal/simclock/ ./internal/soak/ ./cmd/posagent/ 2>&1)
  rc=$?
  grep -E '^(--- FAIL|FAIL|ok )|^ +[a-z_]+_test\.go:[0-9]+: ' <<<"$out"
  [ $rc -eq 0 ] || return 1
  for name in "${DATE_TESTS[@]}"; do
    grep -q -- "^--- PASS: $name " <<<"$out" || { echo "dates: $name did not run" >&2; return 1; }
  done
  local tmp at i=0
  tmp=$(mktemp -d) || return 1
  go build -o "$tmp/posagent" ./cmd/posagent && go build -o "$tmp/democheck" ./internal/soak/cmd/democheck || { rm -rf "$tmp"; return 1; }
  for at in "${DATE_INSTANTS[@]}"; do
    i=$((i + 1))
    if ! "$tmp/posagent" demo --dir "$tmp/demo$i" --date "$at" >"$tmp/demo$i.log" 2>&1; then
      echo "posagent demo --date $at failed:" >&2; tail -20 "$tmp/demo$i.log" >&2; rm -rf "$tmp"; return 1
    fi
    "$tmp/democheck" -date "$at" "$tmp/demo$i/demo.json" | tail -1 || { rm -rf "$tmp"; return 1; }
  done
  rm -rf "$tmp"
}

stage_fuzz() {
  scripts/fuzz.sh "$FUZZTIME"
}

stage_race() {
  # The race detector needs cgo, hence gcc in the tool list.
  CGO_ENABLED=1 go test -race -short -count=1 -timeout 10m ./...
}

stage_prom() {
  local tool rc
  for tool in promtool prometheus; do
    need "$tool"; rc=$?; [ $rc -ne 0 ] && return $rc
  done
  local dir=deploy/prometheus
  promtool check rules "$dir"/*.rules.yml || return 1
  promtool test rules "$dir"/tests/*.test.yml || return 1
  # The example config, its /etc paths pointed at this checkout.
  local tmp
  tmp=$(mktemp -d) || return 1
  mkdir -p "$tmp/targets" && : >"$tmp/metrics-token" && cp "$dir"/*.rules.yml "$tmp"/ &&
    cp "$dir"/targets/*.json "$tmp/targets/" &&
    sed "s#/etc/prometheus/posagent#$tmp#g" "$dir/prometheus.example.yml" >"$tmp/prometheus.yml" &&
    promtool check config "$tmp/prometheus.yml"
  rc=$?
  rm -rf "$tmp"
  [ $rc -eq 0 ] || return 1
  # The file_sd example is what the script makes of the example inventory.
  diff -u "$dir/targets/tills.example.json" <("$dir/file-sd-from-csv.sh" "$dir/targets/tills.example.csv") || return 1
  # -v, and the PASS line checked: a renamed test must not pass as "no tests to run".
  # The test's own lines here; with the processes' logs in ${LOG%.log}-prom.log.
  local out
  out=$(POSAGENT_E2E_PROMETHEUS=1 go test -v -count=1 -timeout 5m -run '^TestFleetPrometheus$' ./internal/e2e/ 2>&1)
  rc=$?
  echo "$out" >"${LOG%.log}-prom.log"
  grep -E '^ +[a-z_]+_test\.go:[0-9]+: |^(--- |ok |FAIL|PASS)' <<<"$out"
  [ $rc -eq 0 ] && grep -q -- '--- PASS: TestFleetPrometheus' <<<"$out"
}

stage_staticcheck() {
  go run "$STATICCHECK" ./...
}

stage_govulncheck() {
  # govulncheck needs the vulnerability database (vuln.go.dev, or a local copy
  # named by GOVULNDB=file:///path). When neither is reachable nothing can be
  # proved, so the stage says so loudly and is reported as "skip", never "ok";
  # GOVULNCHECK_REQUIRED=1 turns that into a failure.
  local db=${GOVULNDB:-https://vuln.go.dev}
  if [[ $db == https://* ]] && ! curl -fsS -m 15 -o /dev/null "$db/index/db.json.gz" 2>/dev/null; then
    echo "SKIP govulncheck: $db unreachable from this machine: vulnerabilities were NOT checked"
    [ "${GOVULNCHECK_REQUIRED:-0}" = 1 ] && return 1
    return $SKIP
  fi
  go run "$GOVULNCHECK" -db "$db" ./...
}

stage_gotest() {
  # Plain output (not -json) so the log ends with go test's own ok/FAIL lines.
  go test -count=1 -timeout 20m ./... 2>&1 | tee "$LOG"
}

install_tools

failed=() summary=()
for s in $STAGES; do
  [ "$s" = gotest ] && continue
  echo
  echo "== $s"
  start=$(date +%s)
  "stage_$s"; rc=$?
  secs=$(($(date +%s) - start))
  case $rc in
    0) summary+=("ok    $s ${secs}s") ;;
    "$SKIP") summary+=("skip  $s ${secs}s") ;;
    *) summary+=("FAIL  $s ${secs}s"); failed+=("$s") ;;
  esac
done
if [ ${#summary[@]} -gt 0 ]; then
  echo
  echo "== stages"
  printf '%s\n' "${summary[@]}"
fi
if [[ " $STAGES " == *" gotest "* ]]; then
  echo
  echo "== gotest"
  stage_gotest || failed+=(gotest)
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAIL	scripts/test.sh	stages: ${failed[*]}"
  exit 1
fi
