#!/usr/bin/env bash
# Builds the .deb packages and checks them the way a technician will meet them:
# metadata and file list; then the amd64 package's files extracted into a
# throwaway root (dpkg-deb -x) and run from there: `posagent version`, and
# `posagent doctor` with no printer attached, which must fail clearly (exit 3,
# "check(s) failed", FAIL lines with a fix), never crash, and reach KSeF: a
# simulator on loopback (`posagent ksefsim` of the package itself). No check
# resolves or contacts a real KSeF host.
#
# It changes nothing on this machine unless asked: the real install (dpkg -i,
# the posagent user in dialout, /var/lib/posagent owned by it, doctor on the
# installed binary, then dpkg --purge) runs only as root and only under
# CI=true or POSAGENT_TEST_INSTALL=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -f dist/posagent_*.deb   # packages of earlier versions would be counted
make deb >/dev/null
shopt -s nullglob
debs=(dist/posagent_*.deb)
[ ${#debs[@]} -eq 3 ] || { echo "want 3 packages, got: ${debs[*]}" >&2; exit 1; }
for deb in "${debs[@]}"; do
  echo "== $deb"
  dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Architecture|Depends):'
  contents=$(dpkg-deb --contents "$deb")
  for want in ./usr/bin/posagent ./lib/systemd/system/posagent.service ./etc/posagent/posagent.toml ./var/lib/posagent/; do
    grep -q " $want\$" <<<"$contents" || { echo "$deb lacks $want" >&2; exit 1; }
  done
  # Listing first: grep -q would close the pipe early and pipefail would see tar's SIGPIPE.
  ctrl=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
  grep -q conffiles <<<"$ctrl" || { echo "$deb has no conffiles" >&2; exit 1; }
  grep -qx '/etc/posagent/posagent.toml' <<<"$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" ||
    { echo "$deb: posagent.toml is not a conffile" >&2; exit 1; }
done
amd64=$(ls dist/posagent_*_amd64.deb)

tmp=$(mktemp -d /tmp/posagent-deb.XXXXXX)
sim_pid=
installed=
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  if [ -n "$installed" ]; then dpkg --purge posagent >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== $amd64 extracted into a throwaway root"
root=$tmp/root
dpkg-deb -x "$amd64" "$root"
bin=$root/usr/bin/posagent
"$bin" version

# The package's own simulator on a loopback port. Doctor only fetches its
# public keys and availability, so no login (and no token) is involved.
"$bin" ksefsim --listen 127.0.0.1:0 >"$tmp/sim.out" 2>"$tmp/sim.err" &
sim_pid=$!
sim=
for _ in $(seq 100); do
  sim=$(sed -n 's/^KSeF simulator on \(http:[^ ]*\).*/\1/p' "$tmp/sim.out")
  [ -n "$sim" ] && break
  kill -0 "$sim_pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$sim" ] || { echo "the simulator did not start:" >&2; cat "$tmp/sim.out" "$tmp/sim.err" >&2; exit 1; }

# loopback_config SRC DST [ROOT] writes the packaged configuration with its
# paths moved under ROOT and KSeF pointed at the simulator.
loopback_config() {
  local src=$1 dst=$2 under=${3:-}
  sed -e "s#\"/etc/posagent/#\"$under/etc/posagent/#g" -e "s#\"/var/lib/posagent\"#\"$under/var/lib/posagent\"#" \
    -e "/^\[ksef\]\$/a url = \"$sim/v2\"\navailability_url = \"$sim/latarnia\"" "$src" >"$dst"
  grep -q "^url = \"$sim/v2\"\$" "$dst" || { echo "$src has no [ksef] table to point at the simulator" >&2; return 1; }
  if grep -v '^ *#' "$dst" | grep -q 'ksef\.mf\.gov\.pl'; then
    echo "$dst still names a real KSeF host" >&2; return 1
  fi
}

# check_doctor BIN CONFIG: no printer, no certificate: exit 3 with FAIL lines
# and their fixes, no crash, and KSeF (the simulator) reached.
check_doctor() {
  local out rc=0
  out=$(env -u POSAGENT_KSEF_TOKEN "$1" doctor --config "$2" 2>&1) || rc=$?
  echo "$out"
  # cmd/posagent/errors.go: exitCheckFailed = 3 when doctor finds a failure.
  if [ $rc -ne 3 ]; then echo "doctor exit $rc, want 3 (checks failed clearly, no crash)" >&2; return 1; fi
  if grep -qi 'panic\|goroutine ' <<<"$out"; then echo "doctor crashed" >&2; return 1; fi
  grep -qE '^ *FAIL +printer' <<<"$out" || { echo "doctor printed no FAIL line for the missing printer" >&2; return 1; }
  grep -q 'fix:' <<<"$out" || { echo "doctor printed no fix for its failures" >&2; return 1; }
  grep -qE '^ *PASS +ksef ' <<<"$out" || { echo "doctor did not reach the KSeF simulator on $sim" >&2; return 1; }
}

loopback_config "$root/etc/posagent/posagent.toml" "$tmp/posagent.toml" "$root"
check_doctor "$bin" "$tmp/posagent.toml"

if [ "${CI:-}" != true ] && [ "${POSAGENT_TEST_INSTALL:-0}" != 1 ]; then
  echo "deb check: ok (the package was not installed on this machine; CI=true or POSAGENT_TEST_INSTALL=1 installs it)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then echo "installing the .deb needs root" >&2; exit 1; fi

echo "== dpkg -i $amd64 (CI=true or POSAGENT_TEST_INSTALL=1)"
# Another checkout's suite on this machine may install and purge the same
# package: one at a time.
exec 9>/var/lock/posagent-deb-check.lock
flock -w 600 9 || { echo "another deb check holds /var/lock/posagent-deb-check.lock" >&2; exit 1; }
installed=1
dpkg -i "$amd64" >/dev/null
id posagent | grep -q dialout || { echo "posagent user is not in dialout" >&2; exit 1; }
[ "$(stat -c %U /var/lib/posagent)" = posagent ] || { echo "/var/lib/posagent not owned by posagent" >&2; exit 1; }
posagent version
loopback_config /etc/posagent/posagent.toml "$tmp/installed.toml"
check_doctor posagent "$tmp/installed.toml"
echo "deb check: ok"
