#!/usr/bin/env bash
# Builds the .deb packages and checks them the way a technician will meet them:
# metadata and file list, then a real install of the amd64 package on this
# machine, `posagent version`, and `posagent doctor` with no printer attached,
# which must fail clearly (exit 3, "check(s) failed", FAIL lines with a fix)
# and never crash.
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

if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ]; then echo "installing the .deb needs root" >&2; exit 1; fi
  echo "not root: skipping the install check"; exit 0
fi
amd64=$(ls dist/posagent_*_amd64.deb)
dpkg -i "$amd64" >/dev/null
trap 'dpkg --purge posagent >/dev/null 2>&1 || true' EXIT
id posagent | grep -q dialout || { echo "posagent user is not in dialout" >&2; exit 1; }
[ "$(stat -c %U /var/lib/posagent)" = posagent ] || { echo "/var/lib/posagent not owned by posagent" >&2; exit 1; }
posagent version
set +e
out=$(posagent doctor --config /etc/posagent/posagent.toml 2>&1); rc=$?
set -e
echo "$out"
# cmd/posagent/errors.go: exitCheckFailed = 3 when doctor finds a failure.
if [ $rc -ne 3 ]; then echo "doctor exit $rc, want 3 (checks failed clearly, no crash)" >&2; exit 1; fi
grep -qi 'panic\|goroutine ' <<<"$out" && { echo "doctor crashed" >&2; exit 1; }
grep -qE '^ *FAIL +printer' <<<"$out" || { echo "doctor printed no FAIL line for the missing printer" >&2; exit 1; }
grep -q 'fix:' <<<"$out" || { echo "doctor printed no fix for its failures" >&2; exit 1; }
echo "deb check: ok"
