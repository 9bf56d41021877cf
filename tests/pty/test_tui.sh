#!/bin/sh
# test_tui.sh -- drive the real full-screen mode (k2t --tui) through tmux.
#
# Starts "k2t --no-init --tui build/fixtures/func_k24.h5" in a detached
# 80x24 tmux session on a private server, with HOME set to a temporary
# directory, presses keys as a person would (a command typed after ':',
# n, b, Tab, ?, /, B, d, Left/Right, a resize, q) and reads the screen back with
# capture-pane.  Then checks that the terminal is sane after leaving, also
# when k2t is killed by a signal while the screen is up.  Prints "ok - ..."
# / "not ok - ..." lines; exits 1 when a check failed, 77 when tmux is
# missing.
#
#   tests/pty/test_tui.sh            # uses ./k2t from the top of the tree
#   K2T=./k2t-asan tests/pty/test_tui.sh

command -v tmux >/dev/null 2>&1 || { echo "skip: tmux not installed"; exit 77; }

top=$(cd "$(dirname "$0")/../.." && pwd)
K2T=${K2T:-$top/k2t}
case $K2T in /*) ;; *) K2T=$(pwd)/$K2T ;; esac
if [ ! -x "$K2T" ]; then
    echo "not ok - $K2T is not built"
    exit 1
fi
model=$top/build/fixtures/func_k24.h5
if [ ! -f "$model" ]; then
    echo "not ok - $model is missing (scripts/gen_fixtures.py makes it)"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/k2t-tui.XXXXXX") || exit 1
sock=$tmp/tmux.sock
fail=0
trap 'tmux -S "$sock" kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM

ok()    { echo "ok - $1"; }
notok() { echo "not ok - $1"; fail=1; }
# check CMD...: "ok - $desc" when CMD succeeds, else "not ok" and the screen of $cur.
check() { if "$@"; then ok "$desc"; else notok "$desc"; show_screen "$cur"; fi; }
tm()    { tmux -S "$sock" "$@"; }
screen() { tm capture-pane -p -t "$1"; }

# wait_for SESSION PATTERN: poll the screen (grep -E) for up to 5 s.
wait_for() {
    i=0
    while [ $i -lt 50 ]; do
        screen "$1" 2>/dev/null | grep -Eq -- "$2" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# wait_gone SESSION PATTERN: poll until the pattern is off the screen.
wait_gone() {
    i=0
    while [ $i -lt 50 ]; do
        screen "$1" 2>/dev/null | grep -Eq -- "$2" || return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

show_screen() {
    echo "# screen of $1:"
    screen "$1" | sed -e '/^$/d' -e 's/^/#   /'
}

# start SESSION: k2t --tui in a clean environment, 80x24.  The pane's
# shell records k2t's pid (for the signal tests), prints its exit status
# and whether the terminal is back in canonical mode with echo, then waits
# so that the pane stays for capture.
start() {
    cat >"$tmp/run-$1.sh" <<EOF
trap : INT
cd '$tmp'
sh -c 'echo \$\$ >"$tmp/pid-$1"; exec env -u INPUTRC -u LINES -u COLUMNS HOME="$tmp" TERM=xterm NO_COLOR=1 "$K2T" --no-init --tui "$model"'
echo "k2t-exit=\$?"
stty -a | tr ';' '\n' | tr ' ' '\n' | grep -x -e icanon -e -icanon -e echo -e -echo | sed 's/^/tty: /'
sleep 60
EOF
    tm -f /dev/null new-session -d -s "$1" -x 80 -y 24 "sh '$tmp/run-$1.sh'"
}

#---------------------------------------------------------------- session s
cur=s
start s
desc="the screen comes up: layers, details, output, keys"
check wait_for s 'Layers \(11\)'
desc="the layer list is grouped: stem, block 1, head"
check eval 'screen s | grep -q " stem " && screen s | grep -q " block 1 " && screen s | grep -q " head "'
desc="loading MODEL is shown in the output pane"
check eval 'screen s | grep -q "loaded .*func_k24.h5"'

tm send-keys -t s ':input random' Enter
desc="':' then a command runs it through the dispatcher"
check wait_for s 'input: random uniform'

tm send-keys -t s n
desc="n steps: the cursor marker is on node 1"
check wait_for s '=> +1 conv2d'
desc="n steps: the details show the stepped layer and its activation"
check eval 'wait_for s "input_1 \(InputLayer\)" && wait_for s "Activation \(1, 8, 8, 3\)"'

tm send-keys -t s n
desc="n again: the cursor marker moved to node 2"
check eval 'wait_for s "=> +2 batch_normalization" && ! screen s | grep -Eq "=> +1 conv2d"'

tm send-keys -t s b
# The output fits the output pane (78 columns) and wraps: the operands are
# seen with the output pane focused (it grows), then Shift-Tab twice back.
tm send-keys -t s Tab Tab
desc="b steps through the block: the cursor is past it, the addition's operands shown"
check eval 'wait_for s "=> +9 global_average_pooling2d" && wait_for s "before add: conv2d_2"'
tm send-keys -t s BTab BTab
desc="b selects the layer that ran last"
check wait_for s 'activation_1 \(Activation\)'

# Tab three times: details, output, the command line, where letters type.
tm send-keys -t s Tab Tab Tab
desc="Tab reaches the command line"
check wait_for s '^k2t> ?$'
tm send-keys -t s 'where' Enter
desc="with the command line focused, any printable key types a command"
check wait_for s 'last ran: node 8 activation_1'
tm send-keys -t s Escape

tm send-keys -t s ':' Up
desc="Up in the command line recalls the history"
check wait_for s '^k2t> where$'
tm send-keys -t s Escape

tm send-keys -t s '?'
desc="? shows the key help"
check wait_for s 'Keys.*any key|step: run the next layer'
tm send-keys -t s x
desc="any key closes the help"
check wait_gone s 'step: run the next layer'

tm send-keys -t s '/' 'dense' Enter
desc="/ finds a layer by name and selects it"
check wait_for s 'dense \(Dense\)'

tm resize-window -t s -x 100 -y 30
desc="a resize lays the screen out again at 100x30"
check eval 'wait_for s "input random uniform \[0,1\), seed 1" &&
    [ "$(screen s | awk "{ if (length(\$0) > m) m = length(\$0) } END { print m }")" -eq 100 ] &&
    [ "$(screen s | wc -l)" -eq 30 ] && screen s | sed -n 30p | grep -q "q back"'

tm send-keys -t s B
desc="B sets a breakpoint on the selected layer"
check wait_for s 'breakpoint 1: before dense'
tm send-keys -t s B
desc="B again deletes it"
check wait_for s 'deleted breakpoint 1'

tm send-keys -t s d
desc="d shows the diff in the output pane"
check wait_for s 'diff: A = keras'
desc="after d, the layer list carries the divergence column"
check wait_for s 'Layers \(11\), max\|a-b\|'
tm send-keys -t s Right
desc="Right scrolls the output sideways"
check wait_for s 'Output \(scrolled right\)'
tm send-keys -t s Left
desc="Left scrolls it back"
check wait_gone s 'Output \(scrolled right\)'

tm send-keys -t s q
desc="q leaves: k2t exits with status 0"
check wait_for s '^k2t-exit=0$'
desc="the terminal is sane after leaving (icanon, echo)"
check eval 'wait_for s "^tty: icanon$" && screen s | grep -q "^tty: echo$" && ! screen s | grep -q "^tty: -"'

#------------------------------------------- the real size, session w
# A stale $COLUMNS (200) in the environment: output in the full-screen mode
# fits its output pane all the same (the terminal's size, not $COLUMNS), and
# eval shows its progress on the key bar.
cur=w
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
cat >"$tmp/run-w.sh" <<EOF
cd '$top'
env -u INPUTRC -u LINES COLUMNS=200 HOME="$tmp" TERM=xterm NO_COLOR=1 "$K2T" --no-init --tui demo/demo.h5
echo "k2t-exit=\$?"
sleep 60
EOF
tm -f /dev/null new-session -d -s w -x 80 -y 24 "sh '$tmp/run-w.sh'"
wait_for w 'Layers \(30\)' >/dev/null
tm send-keys -t w ':summary' Enter
desc="with COLUMNS=200, summary in an 80-column screen fits the output pane (Connected to shown)"
check eval 'wait_for w "Total params" && tm send-keys -t w Tab Tab && sleep 0.3 && tm send-keys -t w g &&
    sleep 0.3 && screen w | grep -q "Connected to"'
tm send-keys -t w BTab BTab
if "$PY" -c "import numpy" 2>/dev/null; then
    "$PY" - "$tmp" <<'PYEOF'
import sys, numpy as np
r = np.random.RandomState(0)
np.save(sys.argv[1] + "/x.npy", r.randint(0, 256, (12000, 32, 32, 3)).astype(np.uint8))
np.save(sys.argv[1] + "/y.npy", r.randint(0, 10, 12000))
PYEOF
    tm send-keys -t w ':set threads 1' Enter
    tm send-keys -t w ":eval $tmp/x.npy $tmp/y.npy" Enter
    desc="eval in the full-screen mode shows its progress on the key bar"
    check eval 'i=0; while [ $i -lt 200 ] && ! screen w | tail -1 | grep -Eq "eval [0-9]+/12000 \[=* *\] [0-9]+ samples/s"; do
        sleep 0.05; i=$((i + 1)); done; [ $i -lt 200 ]'
    tm send-keys -t w ':print $total' Enter
    desc="eval finishes in the full-screen mode and its progress is gone"
    check eval 'i=0; while [ $i -lt 600 ] && ! screen w | grep -q "total = 12000"; do sleep 0.1; i=$((i + 1)); done;
        screen w | grep -q "total = 12000" && ! screen w | grep -q "eval [0-9]*/12000 \["'
else
    echo "skip - eval progress in the full-screen mode (numpy missing)"
fi
tm send-keys -t w q

#------------------------------------------------------- signals, session t
# A signal while the screen is up: the handler ends curses and k2t dies
# of the signal, with the terminal restored.
for sig in TERM INT SEGV; do
    case $sig in TERM) code=143 ;; INT) code=130 ;; SEGV) code=139 ;; esac
    cur=t$sig
    start "t$sig"
    wait_for "t$sig" 'Layers \(11\)' >/dev/null
    kill -"$sig" "$(cat "$tmp/pid-t$sig")"
    desc="SIG$sig during the full-screen mode: k2t dies of it ($code)"
    check wait_for "t$sig" "^k2t-exit=$code$"
    desc="SIG$sig during the full-screen mode: the terminal is restored"
    check eval 'wait_for "t$sig" "^tty: icanon$" && screen "t$sig" | grep -q "^tty: echo$" && ! screen "t$sig" | grep -q "^tty: -"'
done

exit $fail
