#!/usr/bin/env bash
# Turns the chain's till inventory (CSV: station,till,address[,region]) into a
# Prometheus file_sd target list on stdout, one target per till labelled by
# station and till:
#
#   deploy/prometheus/file-sd-from-csv.sh tills.csv > /etc/prometheus/posagent/targets/tills.json
#
# Prometheus re-reads file_sd files when they change (no reload), so the config
# management tool that owns the inventory can run this on every change; write
# to a temporary file and mv it into place so Prometheus never reads half a file.
# A header line starting with "station" and lines starting with # are skipped.
# Any malformed line fails the whole run and names the line: a silently
# dropped till would simply stop being watched.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 INVENTORY.csv" >&2; exit 2; }
awk -F, '
  function fail(msg) { printf "%s:%d: %s: %s\n", FILENAME, FNR, msg, $0 > "/dev/stderr"; bad = 1; exit 1 }
  /^[ \t]*(#|$)/ || (FNR == 1 && $1 == "station") { next }
  {
    sub(/\r$/, "")
    if (NF < 3 || NF > 4) fail("want station,till,address[,region]")
    # No {m,n} intervals: mawk (the default awk on Debian) lacks them.
    if ($1 !~ /^[A-Za-z0-9_.-]+$/ || length($1) > 32) fail("station must be 1-32 of A-Z a-z 0-9 _ . -")
    if ($2 !~ /^[A-Za-z0-9_.-]+$/ || length($2) > 32) fail("till must be 1-32 of A-Z a-z 0-9 _ . -")
    if ($3 !~ /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]+$/) fail("address must be host:port")
    if (NF == 4 && ($4 !~ /^[A-Za-z0-9_.-]+$/ || length($4) > 64)) fail("region must be 1-64 of A-Z a-z 0-9 _ . -")
    key = $1 "/" $2
    if (key in seen) fail("station/till " key " listed twice")
    seen[key] = 1
    line = sprintf("  {\"targets\": [\"%s\"], \"labels\": {\"station\": \"%s\", \"till\": \"%s\"", $3, $1, $2)
    if (NF == 4) line = line sprintf(", \"region\": \"%s\"", $4)
    out[n++] = line "}}"
  }
  END {
    if (bad) exit 1
    print "["
    for (i = 0; i < n; i++) print out[i] (i < n - 1 ? "," : "")
    print "]"
  }
' "$1"
