#!/usr/bin/env bash
# Installs what npm cannot: the Debian packages the test suite runs for real (redis-server, a C
# compiler and Open MPI for the executable tests, chromium for the dashboard's browser test, slurm-wlm and munge
# for the multi-node Slurm test cluster in test/helpers/slurm-cluster.ts).
# Skips anything already present; needs root (or sudo) and apt-get when something is missing.
set -euo pipefail

declare -A needs=(
  [redis-server]=redis-server
  [gcc]=gcc
  [mpicc]=libopenmpi-dev
  [mpirun]=openmpi-bin
  [chromium]=chromium
  [slurmctld]=slurm-wlm
  [munged]=munge
)

missing=()
for command in "${!needs[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${needs[$command]}")
done
# Open MPI's compiler wrapper needs the C compiler and headers of libc as well.
[ ${#missing[@]} -gt 0 ] && [[ " ${missing[*]} " == *" libopenmpi-dev "* ]] && missing+=(libc6-dev)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system dependencies present: ${!needs[*]}"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing: ${missing[*]}. This script installs them with apt-get (Debian/Ubuntu); install them with your system's package manager instead." >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Missing: ${missing[*]}. Run as root, or: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
