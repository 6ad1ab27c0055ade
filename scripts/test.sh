#!/usr/bin/env bash
# The whole test suite. Installs the Debian tools the tests need when they are
# missing and this runs as root; under CI=true a test whose tool is missing fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

# tool -> Debian package
declare -A pkgs=(
  [xmllint]=libxml2-utils
  [xmlsec1]=xmlsec1
  [qemu-arm-static]=qemu-user-static
  [chromium]=chromium
  [dpkg-deb]=dpkg
)
missing=()
for tool in "${!pkgs[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${pkgs[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: missing ${missing[*]} (not root: tests needing them skip, or fail under CI=true)" >&2
  fi
fi

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 20m ./... 2>&1 | tee /tmp/posagent-test.log
