#!/bin/sh
# test_eval_progress.sh -- eval's progress line, at a real terminal (tmux).
#
# A long eval at the terminal shows "eval DONE/TOTAL [===   ] N samples/s" on
# standard error, overwritten in place, and erases it when done; the same eval
# from a script (or with stderr not a terminal) never prints it.  Prints
# "ok - ..." / "not ok - ..." lines; exits 77 when tmux or numpy is missing.

command -v tmux >/dev/null 2>&1 || { echo "skip: tmux not installed"; exit 77; }
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import numpy" 2>/dev/null || { echo "skip: numpy not installed"; exit 77; }

top=$(cd "$(dirname "$0")/../.." && pwd)
K2T=${K2T:-$top/k2t}
case $K2T in /*) ;; *) K2T=$(pwd)/$K2T ;; esac
[ -x "$K2T" ] || { echo "not ok - $K2T is not built"; exit 1; }
MODEL=$top/demo/demo.h5

tmp=$(mktemp -d "${TMPDIR:-/tmp}/k2t-pty.XXXXXX") || exit 1
sock=$tmp/tmux.sock
fail=0
trap 'tmux -S "$sock" kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM

ok()    { echo "ok - $1"; }
notok() { echo "not ok - $1"; fail=1; }
tm()    { tmux -S "$sock" "$@"; }
screen() { tm capture-pane -p -J -S -500 -t "$1"; }
wait_for() { # SESSION PATTERN SECONDS
    i=0
    while [ $i -lt $(($3 * 10)) ]; do
        screen "$1" 2>/dev/null | grep -Eq -- "$2" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# 12,000 random 32x32x3 pixel images on one thread: a few seconds.
"$PY" - "$tmp" <<'PYEOF'
import sys, numpy as np
r = np.random.RandomState(0)
np.save(sys.argv[1] + "/x.npy", r.randint(0, 256, (12000, 32, 32, 3)).astype(np.uint8))
np.save(sys.argv[1] + "/y.npy", r.randint(0, 10, 12000))
PYEOF

tm -f /dev/null new-session -d -s s1 -x 132 -y 40 \
    "cd '$tmp' && env -u INPUTRC HOME='$tmp' TERM=xterm NO_COLOR=1 '$K2T' --no-init '$MODEL'; echo k2t-exit=\$?; sleep 60"
wait_for s1 '^k2t> $' 10 || notok "prompt"
tm send-keys -t s1 "set threads 1" Enter "eval x.npy y.npy" Enter
if wait_for s1 'eval [0-9]+/12000 \[=* *\] [0-9]+ samples/s' 20; then
    ok "eval at the terminal shows a progress line"
else
    notok "eval at the terminal shows a progress line"
fi
if wait_for s1 '^accuracy: [0-9]+/12000 ' 60; then ok "eval finishes"; else notok "eval finishes"; fi
if screen s1 | grep -Eq 'eval [0-9]+/12000 \['; then
    notok "the progress line is erased at the end"
    screen s1 | sed -e '/^$/d' -e 's/^/#   /'
else
    ok "the progress line is erased at the end"
fi
screen s1 | grep -Eq '^eval: 12000 samples from x.npy with labels y.npy in ' && ok "the summary line follows" \
    || notok "the summary line follows"
tm send-keys -t s1 "quit" Enter

# The same from a script, stderr a file: no progress line.
printf 'set threads 1\neval %s/x.npy %s/y.npy\n' "$tmp" "$tmp" >"$tmp/e.k2t"
"$K2T" --no-init -x "$tmp/e.k2t" "$MODEL" >"$tmp/out" 2>"$tmp/err"
if [ -s "$tmp/err" ] || ! grep -q '^accuracy: ' "$tmp/out"; then
    notok "eval in a script prints no progress"
else
    ok "eval in a script prints no progress"
fi
exit $fail
