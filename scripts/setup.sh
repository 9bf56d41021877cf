#!/usr/bin/env bash
# setup.sh [build|test] -- install what k2t needs on Debian, only what is missing.
#   build: the compiler and the libraries k2t links (HDF5, Readline, ncurses,
#          OpenBLAS, jansson, libzip, libpng, libjpeg)
#   test:  build + the independent references the tests compare against
#          (PyTorch, h5py, numpy from Debian; tfjs-layers from npm, pinned by
#          tests/oracle/package-lock.json) and tmux for the terminal tests.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -u
what=${1:-build}
build_pkgs="gcc make pkg-config libhdf5-dev libreadline-dev libncurses-dev libopenblas-dev
            libjansson-dev libzip-dev libpng-dev libjpeg-dev"
test_pkgs="python3 python3-numpy python3-h5py python3-torch tmux"
pkgs=$build_pkgs
[ "$what" = test ] && pkgs="$build_pkgs $test_pkgs"
# Node.js may come from elsewhere than Debian (its own npm bundled): ask for
# Debian's only when the commands are missing.
if [ "$what" = test ]; then
  command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
  command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  cmd="apt-get update && apt-get install -y --no-install-recommends$missing"
  if [ "$(id -u)" = 0 ]; then
    echo "k2t setup: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >/tmp/k2t-apt.log 2>&1 || {
      echo "k2t setup: apt-get failed; the log is /tmp/k2t-apt.log"; tail -n 20 /tmp/k2t-apt.log; exit 1; }
  else
    echo "k2t setup: missing Debian packages:$missing"
    echo "run as root:  $cmd"
    exit 1
  fi
fi
if [ "$what" = test ] && [ -f tests/oracle/setup.sh ]; then
  bash tests/oracle/setup.sh || exit 1
fi
exit 0
