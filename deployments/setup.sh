#!/usr/bin/env bash
# Prepare a Prefect server for the outreach-multichannel deployment, in one go:
#   - the process work pool the deployment runs on (OUTREACH_WORK_POOL),
#   - the outreach_pool tag concurrency limit (OUTREACH_POOL_LIMIT, default 16),
#   - the Outreach Webhook Block type, so it shows in the UI's block catalogue,
#   - the outreach-email / outreach-linkedin Blocks, when
#     OUTREACH_EMAIL_WEBHOOK_URL / OUTREACH_LINKEDIN_WEBHOOK_URL are set.
# It talks to the server at PREFECT_API_URL. Running it again changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
if [[ ! -x "$BIN/prefect" ]]; then
    BIN="$(dirname "$(command -v prefect)")"
fi
POOL="${OUTREACH_WORK_POOL:-outreach-process}"
LIMIT="${OUTREACH_POOL_LIMIT:-16}"
API="${PREFECT_API_URL:?set PREFECT_API_URL to the server, e.g. http://127.0.0.1:4200/api}"

# A server started a moment ago may still be migrating its database: wait up to
# two minutes for it to answer.
"$BIN/python" - "$API" <<'PY'
import sys, time, urllib.request

for _ in range(60):
    try:
        urllib.request.urlopen(f"{sys.argv[1]}/health", timeout=2)
        sys.exit(0)
    except OSError:
        time.sleep(2)
sys.exit(f"no Prefect server answers at {sys.argv[1]}; start it: prefect server start")
PY

if "$BIN/prefect" work-pool inspect "$POOL" >/dev/null 2>&1; then
    echo "work pool $POOL: already there"
else
    "$BIN/prefect" work-pool create "$POOL" --type process >/dev/null
    echo "work pool $POOL: created (process)"
fi

current="$("$BIN/prefect" concurrency-limit inspect outreach_pool --output json \
    2>/dev/null | "$BIN/python" -c \
    'import json, sys; print(json.load(sys.stdin)["concurrency_limit"])' \
    2>/dev/null || true)"
if [[ "$current" == "$LIMIT" ]]; then
    echo "concurrency limit outreach_pool: already $LIMIT"
else
    "$BIN/prefect" concurrency-limit create outreach_pool "$LIMIT" >/dev/null
    echo "concurrency limit outreach_pool: ${current:-none} -> $LIMIT"
fi

# Registering again with the same definition leaves the block type as it is.
"$BIN/prefect" block register --file blocks/outreach_webhook.py >/dev/null
echo "block type outreach-webhook: registered"

if [[ -n "${OUTREACH_EMAIL_WEBHOOK_URL:-}" ]]; then
    "$BIN/python" -m blocks.outreach_webhook outreach-email \
        "$OUTREACH_EMAIL_WEBHOOK_URL"
fi
if [[ -n "${OUTREACH_LINKEDIN_WEBHOOK_URL:-}" ]]; then
    "$BIN/python" -m blocks.outreach_webhook outreach-linkedin \
        "$OUTREACH_LINKEDIN_WEBHOOK_URL"
fi
