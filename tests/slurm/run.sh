#!/usr/bin/env bash
# The workflow on a real SLURM controller (issue 7). Run by .ci/run after pytest; by hand:
#     tests/slurm/run.sh
# Needs root (it installs packages and starts daemons) and ~5 minutes on 2 cores. Steps:
#  1. installs Debian's slurmctld, slurmd and munge (apt-get) unless they are there;
#  2. makes .venv-slurm: this checkout with the optional extra '.[slurm]' (the executor plugin),
#     kept out of .venv because with it installed every snakemake call waits ~10 s for a
#     controller when none answers;
#  3. dry-runs the paper's configuration with `--profile workflow/profiles/slurm` (no controller
#     needed): every job must show its threads, mem_mb, runtime and partition;
#  4. on a throw-away single-node cluster ($WITH_SLURM, default ../shared/tools/with-slurm.sh
#     beside this checkout; no slurmdbd, so the test profile polls with squeue), each in a scratch
#     copy of the checkout: runs the mock survey of tests/slurm/config.yaml locally (the reference),
#     then with `--profile workflow/profiles/slurm --profile tests/slurm/profile` under
#     `timeout -s INT`, and lists the controller's jobs (squeue --states=all: finished jobs stay
#     MinJobAge = 600 s);
#  5. tests/slurm/check.py: one COMPLETED controller job per non-local rule instance, with the
#     CPUs, memory and time limit Snakemake asked for, each submitted and ended with exit status 0
#     in the controller's log (SlurmctldLogFile); the catalog equals the local run's.
# Environment: WITH_SLURM, SLURM_TEST_DIR (scratch folder; default a new one in /tmp, removed
# after success), SLURM_TEST_TIMEOUT (seconds for the SLURM run, default 900).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WITH_SLURM=${WITH_SLURM:-$REPO/../shared/tools/with-slurm.sh}
TIMEOUT=${SLURM_TEST_TIMEOUT:-900}
VENV=$REPO/.venv-slurm
say() { echo "[slurm-test $(date +%T)] $*"; }
die() { echo "[slurm-test] FAILED: $*" >&2; exit 1; }

if [ "${1:-}" = --in-cluster ]; then
  # Step 4, inside with-slurm.sh: the cluster is up and SLURM_CONF points at it.
  work=$2
  say "local reference run"
  (cd "$work/local" && "$VENV/bin/snakemake" --cores 2 --configfile config.yaml tests/slurm/config.yaml \
     > "$work/local.log" 2>&1) || { tail -n 30 "$work/local.log" >&2; die "local run failed ($work/local.log)"; }
  say "SLURM run (timeout ${TIMEOUT} s)"
  cd "$work/slurm"
  "$VENV/bin/snakemake" -n --profile workflow/profiles/slurm --profile tests/slurm/profile \
    --configfile config.yaml tests/slurm/config.yaml > "$work/slurm-dry-run.log" 2>&1
  rc=0
  timeout -s INT -k 60 "$TIMEOUT" "$VENV/bin/snakemake" --profile workflow/profiles/slurm \
    --profile tests/slurm/profile --configfile config.yaml tests/slurm/config.yaml > "$work/slurm.log" 2>&1 || rc=$?
  squeue --states=all -h -o '%i|%j|%k|%T|%C|%m|%l' > "$work/squeue.txt"
  if [ "$rc" != 0 ]; then
    tail -n 40 "$work/slurm.log" >&2
    die "snakemake with the SLURM profile exited $rc$([ "$rc" = 124 ] && echo " (timed out)") ($work/slurm.log)"
  fi
  exit 0
fi

[ -x "$WITH_SLURM" ] || die "no with-slurm.sh at $WITH_SLURM; set WITH_SLURM to its path"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
   || ! command -v sbatch >/dev/null; then
  [ "$(id -u)" = 0 ] || die "SLURM is not installed; as root: apt-get install slurmctld slurmd munge"
  say "installing slurmctld slurmd munge"
  # Keep the packages' init scripts from starting system daemons: the test starts its own.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q --no-install-recommends slurmctld slurmd munge; }
  apt_install > /tmp/slurm-test-apt.log 2>&1 || { apt-get update -q >> /tmp/slurm-test-apt.log 2>&1 && apt_install >> /tmp/slurm-test-apt.log 2>&1; } \
    || { [ "$made_policy" = 1 ] && rm -f "$policy"; tail -n 20 /tmp/slurm-test-apt.log >&2; die "apt-get install failed"; }
  [ "$made_policy" = 1 ] && rm -f "$policy"
fi
if ! "$VENV/bin/python" -c "import snakemake_executor_plugin_slurm" 2>/dev/null; then
  say "creating $VENV with '.[slurm]'"
  python3 -m venv "$VENV"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q -e "$REPO[slurm]"
fi

work=${SLURM_TEST_DIR:-$(mktemp -d /tmp/spectroparallax-slurm.XXXXXX)}
mkdir -p "$work"
for copy in paper local slurm; do
  rm -rf "${work:?}/$copy" && mkdir -p "$work/$copy"
  tar -C "$REPO" --exclude=./.git --exclude='./.venv*' --exclude=./results --exclude=./resources \
    --exclude=./logs --exclude=./.snakemake --exclude=./benchmarks/out -cf - . | tar -C "$work/$copy" -xf -
done
say "scratch copies in $work"

say "dry run of the paper's configuration with the SLURM profile (no controller)"
(cd "$work/paper" && "$VENV/bin/snakemake" -n --profile workflow/profiles/slurm > "$work/paper-dry-run.log" 2>&1) \
  || { tail -n 30 "$work/paper-dry-run.log" >&2; die "dry run failed ($work/paper-dry-run.log)"; }
"$VENV/bin/python" "$REPO/tests/slurm/check.py" paper-dry-run "$work/paper-dry-run.log"

rm -rf "${work:?}/cluster"
SLURM_CI_ROOT="$work/cluster" "$WITH_SLURM" "$REPO/tests/slurm/run.sh" --in-cluster "$work"

"$VENV/bin/python" "$REPO/tests/slurm/check.py" cluster-run --dry-run "$work/slurm-dry-run.log" \
  --run "$work/slurm.log" --squeue "$work/squeue.txt" --controller-log "$work/cluster/log/slurmctld.log" \
  --local "$work/local/results/mock/catalog/spectrophotometric_parallaxes.fits" \
  --slurm "$work/slurm/results/mock/catalog/spectrophotometric_parallaxes.fits" \
  || die "see $work"
[ -n "${SLURM_TEST_DIR:-}" ] || rm -rf "$work"
say "passed in $SECONDS s"
