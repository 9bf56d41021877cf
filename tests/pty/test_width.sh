#!/bin/sh
# test_width.sh -- output fits the terminal (issue 15 part 2).
#
# Runs the interactive k2t in tmux at 80x24, 100x30 and 140x45 (no
# $COLUMNS: the width comes from the terminal) and checks that no line of
# summary, stats all, show, blocks, diff, check, help and print is longer
# than the terminal is wide (capture-pane -J joins the lines the terminal
# wrapped, so an overlong line shows at its full length).  The pager runs
# as PAGER=cat.  Models: ../shared/models/pretrainedResnet.h5 when present
# (skipped with a note otherwise), the demo model, and the fixtures
# all_layers.h5 and unsupported.h5 (long notes) from build/fixtures.
# Prints "ok - ..." / "not ok - ..."; exits 1 when a check failed, 77
# without tmux.

command -v tmux >/dev/null 2>&1 || { echo "skip: tmux not installed"; exit 77; }

top=$(cd "$(dirname "$0")/../.." && pwd)
K2T=${K2T:-$top/k2t}
case $K2T in /*) ;; *) K2T=$(pwd)/$K2T ;; esac
[ -x "$K2T" ] || { echo "not ok - $K2T is not built"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/k2t-width.XXXXXX") || exit 1
sock=$tmp/tmux.sock
fail=0
trap 'tmux -S "$sock" kill-server >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM
echo 'set -g history-limit 100000' > "$tmp/tmux.conf"

ok()    { echo "ok - $1"; }
notok() { echo "not ok - $1"; fail=1; }
tm()    { tmux -S "$sock" "$@"; }
screen() { tm capture-pane -p -J -S - -t "$1"; }

wait_for() {
    i=0
    while [ $i -lt 300 ]; do
        screen "$1" 2>/dev/null | grep -Eq -- "$2" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

models=""
if [ -f "$top/../shared/models/pretrainedResnet.h5" ]; then
    models="$top/../shared/models/pretrainedResnet.h5"
else
    echo "# note: ../shared/models/pretrainedResnet.h5 is missing: checked on the demo model and the fixtures only"
fi
models="$models $top/demo/demo.h5"
for f in all_layers.h5 unsupported.h5; do
    [ -f "$top/build/fixtures/$f" ] && models="$models $top/build/fixtures/$f"
done

n=0
for size in 80x24 100x30 140x45; do
    w=${size%x*} h=${size#*x}
    for model in $models; do
        n=$((n + 1))
        s=w$n
        tm -f "$tmp/tmux.conf" new-session -d -s $s -x "$w" -y "$h" \
            "cd '$tmp' && env -u COLUMNS -u LINES -u INPUTRC HOME='$tmp' TERM=xterm NO_COLOR=1 PAGER=cat '$K2T' --no-init '$model'; echo k2t-exit=\$?; sleep 60"
        wait_for $s '^k2t> $' >/dev/null || { notok "$size $(basename "$model"): no prompt"; continue; }
        for cmd in "input random 1" "run" "echo ==BEGIN==" summary "stats all" show blocks "diff keras torch-naive" \
                   check help "help diff" "print dense" "eval cifar $top/demo/demo-test.bin 100" "echo ==END==" quit; do
            # Type only at the prompt (typeahead would be echoed into the output).
            i=0
            while [ $i -lt 300 ] && ! screen $s | grep -v '^$' | tail -1 | grep -Eq '^k2t.*> $'; do
                sleep 0.1
                i=$((i + 1))
            done
            tm send-keys -t $s -l "$cmd"
            tm send-keys -t $s Enter
            sleep 0.2
        done
        if ! wait_for $s '^k2t-exit='; then
            notok "$size $(basename "$model"): the session did not end"
            continue
        fi
        screen $s > "$tmp/screen"
        long=$(sed -n '/^==BEGIN==$/,/^==END==$/p' "$tmp/screen" | awk -v w="$w" 'length($0) > w' | head -3)
        lines=$(sed -n '/^==BEGIN==$/,/^==END==$/p' "$tmp/screen" | wc -l)
        if [ "$lines" -gt 50 ] && [ -z "$long" ]; then
            ok "$size $(basename "$model"): no line wider than $w in $lines lines"
        else
            notok "$size $(basename "$model"): no line wider than $w in $lines lines"
            echo "$long" | sed 's/^/#   /'
        fi
        # A classifier's 10 scores: one line whatever the width.
        case $model in *pretrainedResnet.h5)
            if sed -n '/^==BEGIN==$/,/^==END==$/p' "$tmp/screen" | grep -A1 '^\[0\] \[' | tail -1 | grep -q '^ '; then
                notok "$size $(basename "$model"): print dense takes more than one line"
                grep -A1 '^\[0\] \[' "$tmp/screen" | sed 's/^/#   /'
            else
                ok "$size $(basename "$model"): print dense on one line"
            fi ;;
        esac
        tm kill-session -t $s
    done
done
#------------------------------------------------------------- the pager
# At a terminal, output longer than the screen goes through less -FRX
# ($PAGER unset); q returns to the prompt; "set pager off" prints it all;
# a script (-c) never pages.
tm -f "$tmp/tmux.conf" new-session -d -s pg -x 80 -y 24 \
    "cd '$tmp' && env -u COLUMNS -u LINES -u PAGER -u LESS HOME='$tmp' TERM=xterm NO_COLOR=1 '$K2T' --no-init; echo k2t-exit=\$?; sleep 60"
wait_for pg '^k2t> $' >/dev/null
tm send-keys -t pg -l help
tm send-keys -t pg Enter
sleep 1
if tm capture-pane -p -t pg | grep -q '^:$\|(END)'; then ok "help at 80x24 opens the pager"
else notok "help at 80x24 opens the pager"; tm capture-pane -p -t pg | sed 's/^/#   /'; fi
tm send-keys -t pg q
if wait_for pg '^k2t> $'; then ok "q leaves the pager for the prompt"; else notok "q leaves the pager for the prompt"; fi
tm send-keys -t pg -l "set pager off"
tm send-keys -t pg Enter
sleep 0.3
tm send-keys -t pg -l help
tm send-keys -t pg Enter
if wait_for pg 'commands may be shortened'; then ok "set pager off prints without the pager"
else notok "set pager off prints without the pager"; fi
tm send-keys -t pg -l quit
tm send-keys -t pg Enter
tm new-session -d -s sc -x 80 -y 24 \
    "cd '$tmp' && env -u COLUMNS -u PAGER HOME='$tmp' TERM=xterm NO_COLOR=1 '$K2T' --no-init -c help; echo k2t-exit=\$?; sleep 60"
if wait_for sc '^k2t-exit=0$'; then ok "a -c command at a terminal never pages"
else notok "a -c command at a terminal never pages"; fi

exit $fail
