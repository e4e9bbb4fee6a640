#!/bin/sh
# The console in a real browser: Debian's chromium and chromium-driver,
# driven by Debian's python3-selenium (tests/browser/test_console.py starts
# its own citygridd). Skipped (exit 77) only when one of them is missing.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
for need in /usr/bin/chromium /usr/bin/chromedriver; do
    if [ ! -x "$need" ]; then
        echo "SKIP: $need is not installed (apt-get install chromium chromium-driver)"
        exit 77
    fi
done
if ! "$py" -c 'import selenium' 2>/dev/null; then
    echo "SKIP: python3-selenium is not installed (apt-get install python3-selenium)"
    exit 77
fi
here=$(dirname "$0")
exec "$py" "${CG_SRCDIR:-$here/../..}/tests/browser/test_console.py" "$@"
