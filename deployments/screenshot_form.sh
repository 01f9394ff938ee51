#!/usr/bin/env bash
# Take a headless Chromium screenshot of the deployment's run form in the Prefect
# UI, to check every parameter shows with its title, description and widget.
#   bash deployments/screenshot_form.sh [OUT.png]   (default docs/run-form.png)
# Needs Debian's chromium (apt-get install -y chromium) and a Prefect server at
# PREFECT_API_URL (http://HOST:PORT/api) with the deployment on it.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-docs/run-form.png}"
API="${PREFECT_API_URL:?set PREFECT_API_URL, e.g. http://127.0.0.1:4200/api}"
UI="${API%/api}"
DEPLOYMENT="${OUTREACH_DEPLOYMENT:-outreach-multichannel/campaign}"

id="$(curl --silent --show-error --fail --max-time 10 \
    "$API/deployments/name/$DEPLOYMENT" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

timeout 120 chromium --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --hide-scrollbars --user-data-dir="$profile" \
    --virtual-time-budget=20000 --window-size=1280,3000 \
    --screenshot="$OUT" "$UI/v2/deployments/deployment/$id/run" 2>/dev/null
echo "run form of $DEPLOYMENT -> $OUT"
