#!/usr/bin/env bash
# tools/pi-emulate.sh: prove the Raspberry Pi path of edgeseq on emulated 64-bit ARM.
#
# Builds (or reuses) an arm64 Debian bookworm root filesystem, runs it through a user-mode QEMU
# (>= 10, from bookworm-backports) registered with binfmt_misc, installs edgeseq there twice
# (edgeseq[runtime]: LiteRT + onnxruntime; edgeseq[tflite-runtime]), then inspects, validates and
# benchmarks the committed models/ inside it, compares the accuracies with a native run on this host
# and writes docs/results/pi-emulated.md plus the raw outputs in docs/results/pi-emulated/.
#
# Needs root (debootstrap, chroot, mount, binfmt_misc) and Debian/Ubuntu apt on the host.
# Run `tools/pi-emulate.sh --help` for the options.
set -euo pipefail

PROG="pi-emulate"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHECKOUT="$(cd "$SCRIPT_DIR/.." && pwd)"

# ---- settings (environment variables, most also as options) ----------------------------------------
PI_ROOT="${PI_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeseq/pi-root}"   # scratch (rootfs/, cache/), outside the checkout
PI_SUITE="${PI_SUITE:-bookworm}"               # Debian suite of the emulated device (Raspberry Pi OS 12 = bookworm)
PI_MIRROR="${PI_MIRROR:-}"                     # Debian mirror; default: read from this machine's apt sources
PI_CPU="${PI_CPU:-${QEMU_CPU:-cortex-a76}}"    # cortex-a76 = Pi 5, cortex-a72 = Pi 4 (not `max`: SVE, ~10x slower)
PI_QEMU="${PI_QEMU:-}"                         # use this qemu-aarch64 (static, >= 10) instead of the backports one
PI_LIMIT="${PI_LIMIT:-200}"                    # test digits for validate
PI_PIP_INDEX_URL="${PI_PIP_INDEX_URL:-}"       # pip index inside the rootfs; default: pip's own (PyPI)
NATIVE_VENV="${NATIVE_VENV:-$CHECKOUT/.venv}"  # host venv for the native comparison run
OUT_DIR="${PI_OUT:-$CHECKOUT/docs/results/pi-emulated}"
MD_FILE="${PI_MD:-$CHECKOUT/docs/results/pi-emulated.md}"
BINFMT_NAME="edgeseq-aarch64"
SKIP_NATIVE=0

# ELF64, little-endian, e_machine 0xb7 (AArch64): the magic and mask QEMU's own binfmt.d file uses.
AARCH64_MAGIC='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
AARCH64_MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
AARCH64_MAGIC_HEX='7f454c460201010000000000000000000200b700'  # how /proc/sys/fs/binfmt_misc/<entry> shows it

usage() {
  cat <<EOF
Usage: tools/pi-emulate.sh [OPTIONS]

Prove the Raspberry Pi path on emulated 64-bit ARM: build or reuse an arm64 Debian $PI_SUITE root
filesystem run by QEMU user mode (>= 10, bookworm-backports) through binfmt_misc, install
edgeseq[runtime] and edgeseq[tflite-runtime] in two venvs there, run inspect, validate and bench on
models/, compare with a native validate, and write the results. Needs root. A first run takes about
10-15 minutes and leaves ~700 MB under PI_ROOT; later runs reuse the root filesystem and venvs.

Options:
  --root DIR      scratch folder (rootfs/, cache/) [env PI_ROOT, default ~/.cache/edgeseq/pi-root]
  --out DIR       folder for the raw outputs [env PI_OUT, default docs/results/pi-emulated]
  --md FILE       markdown summary [env PI_MD, default docs/results/pi-emulated.md]
  --cpu MODEL     QEMU CPU model [env PI_CPU or QEMU_CPU, default cortex-a76 (Pi 5); cortex-a72 = Pi 4]
  --mirror URL    Debian mirror [env PI_MIRROR, default: the host's apt sources]
  --limit N       test digits for validate [env PI_LIMIT, default 200]
  --skip-native   don't run the native comparison on this host
  -h, --help      show this help and exit

Other environment variables: PI_QEMU (a static qemu-aarch64 >= 10 to use instead of downloading
qemu-user from bookworm-backports), PI_PIP_INDEX_URL (pip index inside the root filesystem, default
pip's own), NATIVE_VENV (host venv for the comparison, default .venv of the checkout), PI_SUITE.

Exit status: 0 when everything ran and no file failed validate (inconclusive is recorded) in the edgeseq[runtime] venv;
1 otherwise (the results are still written when the runs got that far). The tflite-runtime venv is
secondary: its install or validate failures are recorded, not fatal.
EOF
}

log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$PROG" "$*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --root) PI_ROOT="${2:?--root needs a value}"; shift 2 ;;
    --out) OUT_DIR="${2:?--out needs a value}"; shift 2 ;;
    --md) MD_FILE="${2:?--md needs a value}"; shift 2 ;;
    --cpu) PI_CPU="${2:?--cpu needs a value}"; shift 2 ;;
    --mirror) PI_MIRROR="${2:?--mirror needs a value}"; shift 2 ;;
    --limit) PI_LIMIT="${2:?--limit needs a value}"; shift 2 ;;
    --skip-native) SKIP_NATIVE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mount, binfmt_misc)"
[[ $(uname -m) == x86_64 || $(uname -m) == amd64 ]] || log "host is $(uname -m), not x86_64: untested"
[[ "$PI_ROOT" != *[[:space:]]* ]] || die "PI_ROOT must not contain whitespace: $PI_ROOT"
[[ "$PI_LIMIT" =~ ^[0-9]+$ ]] || die "--limit must be a number: $PI_LIMIT"
mkdir -p "$PI_ROOT"
PI_ROOT="$(cd "$PI_ROOT" && pwd)"
case "$PI_ROOT/" in "$CHECKOUT"/*) die "PI_ROOT must be outside the checkout ($CHECKOUT)" ;; esac
ROOTFS="$PI_ROOT/rootfs"
CACHE="$PI_ROOT/cache"
mkdir -p "$CACHE" "$OUT_DIR" "$(dirname "$MD_FILE")"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
MD_FILE="$(cd "$(dirname "$MD_FILE")" && pwd)/$(basename "$MD_FILE")"

# Inside the root filesystem.
DEV_HOME=/opt/edgeseq            # everything of ours inside the root filesystem
SRC_IN="$DEV_HOME/src"           # copy of the package source
WORK_IN="$DEV_HOME/work"         # models/ and outputs; the edgeseq commands run here
VENV_RT="$DEV_HOME/venv-runtime"
VENV_TFLRT="$DEV_HOME/venv-tflite-runtime"
CA_IN=/usr/local/share/edgeseq-host-ca.pem

# ---- timing -----------------------------------------------------------------------------------------
T_START=$(date +%s)
PHASES=()   # "name<TAB>seconds<TAB>note"
phase_begin() { PHASE_NAME="$1"; PHASE_T0=$(date +%s); log "$1..."; }
phase_end() {  # [note]
  local dt=$(( $(date +%s) - PHASE_T0 ))
  PHASES+=("$PHASE_NAME"$'\t'"$dt"$'\t'"${1:-}")
  log "$PHASE_NAME: ${dt}s${1:+ ($1)}"
}

# ---- mounts: everything under $ROOTFS is unmounted on exit, also on failure ---------------------------
mounts_under_root() {  # mount points below $ROOTFS, deepest first
  awk -v r="$ROOTFS" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r
}
unmount_all() {
  local m
  for m in $(mounts_under_root); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}
cleanup() {
  local rc=$? p
  for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
  [[ -d "$ROOTFS" ]] && unmount_all
  if [[ -d "$ROOTFS" ]] && [[ -n "$(mounts_under_root)" ]]; then
    log "WARNING: mounts remain under $ROOTFS:"; mounts_under_root >&2
  fi
  [[ -n "${TMPD:-}" && -d "${TMPD:-}" ]] && rm -rf "$TMPD"
  ((rc == 0)) || log "failed (exit $rc); scratch kept in $PI_ROOT"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
TMPD="$(mktemp -d)"

mount_root() {
  local d
  [[ -n "$(mounts_under_root)" ]] && unmount_all
  for d in proc sys dev dev/pts dev/shm; do mkdir -p "$ROOTFS/$d"; done
  mount -t proc proc "$ROOTFS/proc"
  mount -t sysfs sysfs "$ROOTFS/sys"
  mount --bind /dev "$ROOTFS/dev"
  mount --bind /dev/pts "$ROOTFS/dev/pts"
  mount -t tmpfs -o mode=1777,size=1g tmpfs "$ROOTFS/dev/shm"  # own shm, not the host's
}

# Run a command in the root filesystem with a clean environment: nothing of the host's pip/proxy/locale
# settings leaks in (the host's pip.conf files are not in the rootfs either, and its env vars are dropped);
# only what is needed is passed. QEMU_CPU must be in this environment: binfmt_misc starts qemu-aarch64
# with the environment of the exec'd program, which is where qemu reads it from.
inroot() {
  local -a e=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
              TERM=dumb QEMU_CPU="$PI_CPU" DEBIAN_FRONTEND=noninteractive
              PIP_CERT="$CA_IN" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 PIP_NO_INPUT=1
              PIP_PROGRESS_BAR=off)
  [[ -z "$PI_PIP_INDEX_URL" ]] || e+=(PIP_INDEX_URL="$PI_PIP_INDEX_URL")
  env -i "${e[@]}" chroot "$ROOTFS" "$@"
}
# Run an edgeseq (or other) command from the venv $1 in $WORK_IN.
inwork() {
  local venv="$1"; shift
  # shellcheck disable=SC2016  # expanded by the sh inside
  inroot /bin/sh -c 'cd "$0" && exec "$@"' "$WORK_IN" "$venv/bin/$1" "${@:2}"
}

. "$SCRIPT_DIR/pi-emulate-steps.sh"   # steps 0-2 and the helpers: host tools, QEMU, the root filesystem, venvs

# ================================= main ==================================================================
log "checkout $CHECKOUT; scratch $PI_ROOT; output $OUT_DIR; CPU $PI_CPU"
PROBLEMS=()

phase_begin "host tools and QEMU"
need_host_pkg debootstrap debootstrap
need_host_pkg dpkg-deb dpkg
if [[ -z "$PI_MIRROR" ]]; then
  PI_MIRROR="$(detect_mirror || true)"
  [[ -n "$PI_MIRROR" ]] || die "no Debian mirror for $PI_SUITE in /etc/apt/sources*; set PI_MIRROR"
fi
PI_MIRROR="${PI_MIRROR%/}"
log "Debian mirror: $PI_MIRROR"
QEMU_VIA=""
if [[ -n "$PI_QEMU" ]]; then
  QEMU_BIN="$(readlink -f "$PI_QEMU")"
else
  fetch_qemu
fi
setup_binfmt
QEMU_VERSION="$(qemu_version "$QEMU_BIN")"
(( ${QEMU_VERSION%%.*} >= 10 )) || die "QEMU $QEMU_VERSION at $QEMU_BIN: need >= 10 (onnxruntime crashes under 7.2)"
log "QEMU $QEMU_VERSION ($QEMU_BIN), CPU $PI_CPU"
phase_end "QEMU $QEMU_VERSION"

phase_begin "root filesystem (debootstrap)"
reused=reused; [[ -f "$ROOTFS/.edgeseq-debootstrap-ok" ]] || reused=built
build_rootfs
phase_end "$reused"

mount_root
copy_inputs
SRC_HASH="$(source_hash)"

phase_begin "apt packages inside"
reused=reused; [[ -f "$ROOTFS/.edgeseq-packages-ok" ]] || reused=installed
install_packages
phase_end "$reused"

phase_begin "venv edgeseq[runtime]"
make_venv "$VENV_RT" runtime || { tail -n 30 "$CACHE/pip-runtime.log" >&2; die "pip install edgeseq[runtime] failed (log: $CACHE/pip-runtime.log)"; }
phase_end

phase_begin "venv edgeseq[tflite-runtime]"
TFLRT_OK=1
if ! make_venv "$VENV_TFLRT" tflite-runtime; then
  TFLRT_OK=0
  log "pip install edgeseq[tflite-runtime] failed (secondary env: recorded, not fatal)"
  grep -vE '^\s*$' "$CACHE/pip-tflite-runtime.log" | tail -n 25 > "$OUT_DIR/tflite-runtime-pip-install.log"
fi
phase_end "$( ((TFLRT_OK)) && echo ok || echo 'install failed')"

# --- checks: really aarch64, really no TensorFlow -------------------------------------------------------
phase_begin "checks (machine, no TensorFlow)"
PY_MACHINE="$(inroot "$VENV_RT/bin/python" -c 'import platform; print(platform.machine())')"
[[ "$PY_MACHINE" == aarch64 ]] || die "platform.machine() is '$PY_MACHINE' inside, not aarch64"
if inroot "$VENV_RT/bin/python" -c 'import tensorflow' > /dev/null 2>&1; then
  die "import tensorflow works in the runtime venv: TensorFlow must be absent"
fi
PY_VERSION="$(inroot "$VENV_RT/bin/python" -c 'import platform; print(platform.python_version())')"
CPU_FEATURES="$(inroot /bin/sh -c 'grep -m1 "^Features" /proc/cpuinfo | cut -d: -f2' | xargs || true)"
freeze "$VENV_RT" > "$OUT_DIR/pip-freeze-runtime.txt"
if ((TFLRT_OK)); then freeze "$VENV_TFLRT" > "$OUT_DIR/pip-freeze-tflite-runtime.txt"; else rm -f "$OUT_DIR/pip-freeze-tflite-runtime.txt"; fi
log "platform.machine() = $PY_MACHINE, Python $PY_VERSION, tensorflow absent"
phase_end "aarch64, Python $PY_VERSION"

mapfile -t MODEL_FILES < <(cd "$CHECKOUT" && find models -type f \( -name '*.tflite' -o -name '*.onnx' \) | LC_ALL=C sort)
inspect_all() {  # venv outfile badfile: inspect every exported file, count the failures into badfile
  local f rc bad=0
  : > "$2"
  for f in "${MODEL_FILES[@]}"; do
    rc=0
    { echo "\$ edgeseq inspect $f"; inwork "$1" edgeseq inspect "$f" 2>&1 || rc=$?; echo "(exit $rc)"; echo; } >> "$2"
    ((rc == 0)) || bad=$((bad + 1))
  done
  echo "$bad" > "$3"
}
# in_background RCFILE STDOUT STDERR CMD...: run CMD in the background, its exit code into RCFILE.
# Emulated runs use one core each (one thread): two at a time use this machine's 2 cores.
in_background() {
  local rcf="$1" stdout="$2" stderr="$3"; shift 3
  ( rc=0; "$@" > "$stdout" 2> "$stderr" || rc=$?; echo "$rc" > "$rcf" ) &
  BG_PIDS+=("$!")
}
BG_PIDS=()
wait_all() { local p; for p in "${BG_PIDS[@]}"; do wait "$p" || true; done; BG_PIDS=(); }

# Native first, right after the source was copied in: the native venv runs the working tree, which another
# engineer may be editing, so the two runs are of the same code only if they are close in time.
NATIVE_RC=""
phase_begin "native validate on this host"
if ((SKIP_NATIVE)); then
  phase_end "skipped (--skip-native)"
elif [[ ! -x "$NATIVE_VENV/bin/edgeseq" ]]; then
  phase_end "skipped: no $NATIVE_VENV/bin/edgeseq"
else
  NATIVE_RC="$(run_capture "$OUT_DIR/native-validate.json" "$TMPD/native.log" \
    env -u PYTHONPATH -C "$CHECKOUT" "$NATIVE_VENV/bin/edgeseq" validate models --limit "$PI_LIMIT" --runtime litert,onnxruntime --json)"
  phase_end "exit $NATIVE_RC"
fi

phase_begin "validate --limit $PI_LIMIT, table and --json in parallel"
in_background "$TMPD/val.rc" "$OUT_DIR/validate.txt" "$OUT_DIR/validate.log" \
  inwork "$VENV_RT" edgeseq validate models --limit "$PI_LIMIT" --runtime litert,onnxruntime
in_background "$TMPD/valj.rc" "$OUT_DIR/validate.json" "$TMPD/validate-json.log" \
  inwork "$VENV_RT" edgeseq validate models --limit "$PI_LIMIT" --runtime litert,onnxruntime --json
wait_all
VAL_RC="$(cat "$TMPD/val.rc")"; VALJ_RC="$(cat "$TMPD/valj.rc")"
phase_end "exit $VAL_RC and $VALJ_RC"

DEVICE_NAME="emulated aarch64 (QEMU $QEMU_VERSION, $PI_CPU) - not a speed figure"
phase_begin "bench (alone)"
# Without --json, so the table is printed; --out writes the same rows as bench.json (what --json prints).
BENCH_RC="$(run_capture "$OUT_DIR/bench.txt" "$OUT_DIR/bench.log" inwork "$VENV_RT" edgeseq bench models --warmup 2 --min-runs 5 --min-seconds 0 --out "$WORK_IN/out/bench" --device-name "$DEVICE_NAME")"
((BENCH_RC == 0)) || PROBLEMS+=("bench exited $BENCH_RC")
if [[ -f "$ROOTFS$WORK_IN/out/bench/bench.json" ]]; then
  cp "$ROOTFS$WORK_IN/out/bench/bench.json" "$OUT_DIR/bench.json"
else
  rm -f "$OUT_DIR/bench.json"; PROBLEMS+=("bench wrote no bench.json")
fi
phase_end "exit $BENCH_RC"

TFL_VAL_RC=""; TFL_INSPECT_BAD=""
phase_begin "inspect (${#MODEL_FILES[@]} files, both venvs) and tflite-runtime validate, in parallel"
if ((TFLRT_OK)); then
  rm -f "$OUT_DIR/tflite-runtime-pip-install.log"
  in_background "$TMPD/tflval.rc" "$OUT_DIR/tflite-runtime-validate.txt" "$OUT_DIR/tflite-runtime-validate.log" \
    inwork "$VENV_TFLRT" edgeseq validate models --limit "$PI_LIMIT" --tflite-backend tflite-runtime
else
  rm -f "$OUT_DIR"/tflite-runtime-validate.* "$OUT_DIR/tflite-runtime-inspect.txt"
fi
inspect_all "$VENV_RT" "$OUT_DIR/inspect.txt" "$TMPD/inspect.bad"
if ((TFLRT_OK)); then inspect_all "$VENV_TFLRT" "$OUT_DIR/tflite-runtime-inspect.txt" "$TMPD/tflinspect.bad"; fi
wait_all
INSPECT_BAD="$(cat "$TMPD/inspect.bad")"
((INSPECT_BAD == 0)) || PROBLEMS+=("inspect failed on $INSPECT_BAD file(s) in the runtime venv")
if ((TFLRT_OK)); then
  TFL_VAL_RC="$(cat "$TMPD/tflval.rc")"; TFL_INSPECT_BAD="$(cat "$TMPD/tflinspect.bad")"
  phase_end "inspect failed on $INSPECT_BAD (runtime) and $TFL_INSPECT_BAD (tflite-runtime); tflite-runtime validate exit $TFL_VAL_RC"
else
  phase_end "inspect failed on $INSPECT_BAD; tflite-runtime venv skipped: install failed"
fi
SRC_HASH_END="$(source_hash)"

unmount_all
T_TOTAL=$(( $(date +%s) - T_START ))

# ---- report ---------------------------------------------------------------------------------------------
log "writing $MD_FILE"
HOST_PY="$NATIVE_VENV/bin/python"; [[ -x "$HOST_PY" ]] || HOST_PY="$(command -v python3)"
printf '%s\n' "${PHASES[@]}" > "$TMPD/phases.tsv"
printf '%s\n' "${PROBLEMS[@]+"${PROBLEMS[@]}"}" > "$TMPD/problems.txt"
MD_FILE="$MD_FILE" OUT_DIR="$OUT_DIR" PHASES="$TMPD/phases.tsv" PROBLEMS="$TMPD/problems.txt" \
QEMU_VERSION="$QEMU_VERSION" QEMU_VIA="$QEMU_VIA" PI_CPU="$PI_CPU" PI_SUITE="$PI_SUITE" PY_VERSION="$PY_VERSION" \
CPU_FEATURES="$CPU_FEATURES" PI_LIMIT="$PI_LIMIT" T_TOTAL="$T_TOTAL" DEVICE_NAME="$DEVICE_NAME" \
VAL_RC="$VAL_RC" VALJ_RC="$VALJ_RC" BENCH_RC="$BENCH_RC" TFLRT_OK="$TFLRT_OK" TFL_VAL_RC="$TFL_VAL_RC" \
TFL_INSPECT_BAD="$TFL_INSPECT_BAD" INSPECT_BAD="$INSPECT_BAD" NATIVE_RC="$NATIVE_RC" SKIP_NATIVE="$SKIP_NATIVE" \
N_FILES="${#MODEL_FILES[@]}" SRC_HASH="$SRC_HASH" SRC_HASH_END="$SRC_HASH_END" \
"$HOST_PY" "$SCRIPT_DIR/pi_emulate_report.py"
mapfile -t PROBLEMS < <(grep -v '^$' "$TMPD/problems.txt" || true)

# ---- no host paths in what gets committed -----------------------------------------------------------------
for f in "$MD_FILE" "$OUT_DIR"/*; do
  [[ -f "$f" ]] || continue
  sed -i -e "s#$PI_ROOT#<PI_ROOT>#g" -e "s#$CHECKOUT/#./#g" -e "s#$CHECKOUT#.#g" "$f"
done
if grep -rnE '/work/|/tmp/' "$MD_FILE" "$OUT_DIR" >&2; then
  log "WARNING: host-looking paths remain in the outputs (lines above)"
fi

log "done in ${T_TOTAL}s: $MD_FILE, $OUT_DIR/"
if ((${#PROBLEMS[@]})); then
  log "problems: $(IFS=';'; echo "${PROBLEMS[*]}")"
  exit 1
fi
