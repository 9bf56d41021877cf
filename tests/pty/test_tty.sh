#!/bin/sh
# test_tty.sh -- drive the real interactive k2t through a pty (tmux).
#
# Starts "k2t --no-init" in a detached tmux session on a private server,
# with HOME set to a temporary directory, types as a person would (TAB
# completion, Enter, Ctrl-C, quit, Ctrl-D) and reads the screen back with
# capture-pane.  Prints "ok - ..." / "not ok - ..." lines; exits 1 when a
# check failed, 77 when tmux is missing.
#
#   tests/pty/test_tty.sh            # uses ./k2t from the top of the tree
#   K2T=./k2t-asan tests/pty/test_tty.sh

command -v tmux >/dev/null 2>&1 || { echo "skip: tmux not installed"; exit 77; }

top=$(cd "$(dirname "$0")/../.." && pwd)
K2T=${K2T:-$top/k2t}
case $K2T in /*) ;; *) K2T=$(pwd)/$K2T ;; esac
if [ ! -x "$K2T" ]; then
    echo "not ok - $K2T is not built"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/k2t-pty.XXXXXX") || exit 1
sock=$tmp/tmux.sock
fail=0
trap 'tmux -S "$sock" kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM

ok()    { echo "ok - $1"; }
notok() { echo "not ok - $1"; fail=1; }
tm()    { tmux -S "$sock" "$@"; }
screen() { tm capture-pane -p -J -S -500 -t "$1"; }

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

# start SESSION: k2t in a clean environment; its exit status is printed
# after it ends and the pane stays for capture.
start() {
    tm -f /dev/null new-session -d -s "$1" -x 132 -y 50 \
        "cd '$tmp' && env -u INPUTRC HOME='$tmp' TERM=xterm NO_COLOR=1 PAGER=cat '$K2T' --no-init; echo \"k2t-exit=\$?\"; sleep 60"
}

show_screen() {
    echo "# screen of $1:"
    screen "$1" | sed -e '/^$/d' -e 's/^/#   /'
}

#---------------------------------------------------------------- session 1
start s1
if wait_for s1 '^k2t> $'; then ok "banner and prompt"; else notok "banner and prompt"; fi
screen s1 | grep -q 'k2t .* -- Keras-to-PyTorch port debugger' \
    && ok "banner text" || notok "banner text"

tm send-keys -t s1 'hel' Tab
if wait_for s1 '^k2t> help ?$'; then ok "TAB completes 'hel' to 'help'"
else notok "TAB completes 'hel' to 'help'"; fi

tm send-keys -t s1 Enter
# help lists the commands, quit among them, then a new prompt.
if wait_for s1 'quit' && wait_for s1 '^k2t> $' &&
   screen s1 | sed -n '/^k2t> help/,$p' | sed 1d | grep -q 'quit'; then
    ok "help output shown"
else
    notok "help output shown"
fi

# Ctrl-C at the prompt drops the line being typed.
tm send-keys -t s1 'echo dropped-by-ctrl-c'
wait_for s1 'dropped-by-ctrl-c' >/dev/null
tm send-keys -t s1 C-c
sleep 0.3
tm send-keys -t s1 'echo after-ctrl-c' Enter
if wait_for s1 '^after-ctrl-c$' && ! screen s1 | grep -q '^dropped-by-ctrl-c$'; then
    ok "Ctrl-C clears the line and prompts again"
else
    notok "Ctrl-C clears the line and prompts again"
fi

tm send-keys -t s1 'quit' Enter
if wait_for s1 '^k2t-exit=0$'; then ok "quit exits with status 0"
else notok "quit exits with status 0"; fi

hist=$tmp/.k2t_history
if [ -f "$hist" ] && grep -qx 'help' "$hist" && grep -qx 'quit' "$hist" &&
   grep -qx 'echo after-ctrl-c' "$hist" && ! grep -q 'dropped-by-ctrl-c' "$hist"; then
    ok "history file holds the commands"
else
    notok "history file holds the commands"
    [ -f "$hist" ] && sed 's/^/#   /' "$hist"
fi
[ $fail -eq 0 ] || show_screen s1

#---------------------------------------------------------------- session 2
# History is read back at start (Up recalls the last line), and Ctrl-D
# ends the session.
start s2
wait_for s2 '^k2t> $' >/dev/null
tm send-keys -t s2 Up
if wait_for s2 '^k2t> quit$'; then ok "history read at start"
else notok "history read at start"; fi
tm send-keys -t s2 C-u C-d
if wait_for s2 '^k2t-exit=0$'; then ok "Ctrl-D quits"
else notok "Ctrl-D quits"; show_screen s2; fi

exit $fail
