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

# ---- 0. host tools ------------------------------------------------------------------------------------
apt_updated=0
need_host_pkg() {  # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing host package $2"
  if ((apt_updated == 0)); then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# The Debian mirror: from the host's apt sources (deb822 *.sources with URIs:, or one-line *.list),
# the first one that serves the suite. Not hard-coded; PI_MIRROR overrides.
detect_mirror() {
  local files=() f
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [[ -f "$f" ]] && files+=("$f"); done
  ((${#files[@]})) || return 1
  awk -v suite="$PI_SUITE" '
    function flush() { if (uris != "" && (" " suites " ") ~ (" " suite " ") && types ~ /(^| )deb( |$)/) { split(uris, u, " "); print u[1]; found = 1; exit } uris = suites = types = "" }
    FNR == 1 { flush() }
    /^[[:space:]]*#/ { next }
    /^[[:space:]]*$/ { flush(); next }
    /^Types:/ { sub(/^Types:[[:space:]]*/, ""); types = $0; next }
    /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0; next }
    /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0; next }
    /^deb[[:space:]]/ { sub(/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?/, ""); if ($2 == suite) { print $1; found = 1; exit } }
    END { if (!found) flush() }
  ' "${files[@]}" | head -n1
}

# ---- 1. QEMU >= 10 ----------------------------------------------------------------------------------
qemu_version() { "$1" --version 2>/dev/null | sed -n '1s/.*version \([0-9][0-9.]*\).*/\1/p'; }
qemu_major() { local v; v="$(qemu_version "$1")"; echo "${v%%.*}"; }

# bookworm's own qemu-user-static is 7.2, under which onnxruntime crashes on import; bookworm-backports
# has 10.x, whose qemu-user ships the static binaries (usr/bin/qemu-aarch64). It is fetched with a
# private apt state (its own sources file and lists under cache/), so the host's apt configuration is
# not changed, and extracted with dpkg-deb -x: nothing is installed on the host.
fetch_qemu() {
  local apt_dir="$CACHE/apt" src deb ver dir
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$CACHE/qemu"
  src="$apt_dir/backports.sources"
  printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: %s\n' \
    "$PI_MIRROR" "$PI_SUITE" /usr/share/keyrings/debian-archive-keyring.gpg > "$src"
  local -a o=(-o "Dir::Etc::SourceList=$src" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir" -o Dir::Cache::pkgcache=
              -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root -o Debug::NoLocking=1)
  apt-get "${o[@]}" update -qq >/dev/null
  ver="$(apt-cache "${o[@]}" policy qemu-user | sed -n 's/^ *Candidate: *//p')"
  [[ -n "$ver" && "$ver" != "(none)" ]] || die "qemu-user not found in $PI_SUITE-backports at $PI_MIRROR"
  dir="$CACHE/qemu/${ver//[:~+]/_}"
  if [[ ! -x "$dir/usr/bin/qemu-aarch64" ]]; then
    log "downloading qemu-user $ver from $PI_SUITE-backports (~60 MB)"
    rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
    (cd "$dir.tmp" && apt-get "${o[@]}" download -qq "qemu-user=$ver" >/dev/null)
    deb="$(ls "$dir.tmp"/qemu-user_*.deb)"
    dpkg-deb -c "$deb" > "$dir.tmp/contents.txt"  # the static binary: ./usr/bin/qemu-aarch64
    grep -q ' \./usr/bin/qemu-aarch64$' "$dir.tmp/contents.txt" || die "no usr/bin/qemu-aarch64 in $deb"
    dpkg-deb -x "$deb" "$dir.tmp/x"
    mkdir -p "$dir/usr/bin"
    mv "$dir.tmp/x/usr/bin/qemu-aarch64" "$dir/usr/bin/qemu-aarch64"
    rm -rf "$dir.tmp"
  fi
  QEMU_BIN="$dir/usr/bin/qemu-aarch64"
}

# binfmt_misc: our own entry `edgeseq-aarch64` with flag F (the kernel opens the interpreter at
# registration, so it needs not exist inside the chroot).
binfmt_field() { sed -n "s/^$2 //p" "$1"; }
setup_binfmt() {
  local bm=/proc/sys/fs/binfmt_misc e interp
  if ! mountpoint -q "$bm"; then
    log "mounting binfmt_misc at $bm"
    mount -t binfmt_misc binfmt_misc "$bm"
  fi
  [[ "$(cat "$bm/status")" == enabled ]] || echo 1 > "$bm/status"

  # Another registration for aarch64 (e.g. `qemu-aarch64` from a qemu-user-binfmt package or a docker
  # binfmt helper) competes with ours: the kernel uses the first enabled match. If it is a QEMU >= 10 with
  # flag F, use it as it is (it works in a chroot and does not crash onnxruntime). Otherwise disable it
  # (echo 0, not removed: `echo 1 > $bm/NAME` turns it back on), because a QEMU < 10 (bookworm's 7.2)
  # crashes onnxruntime on import, and one without F needs its interpreter inside the chroot.
  for e in "$bm"/*; do
    [[ -f "$e" ]] || continue
    case "$(basename "$e")" in register|status|"$BINFMT_NAME") continue ;; esac
    [[ "$(binfmt_field "$e" magic)" == "$AARCH64_MAGIC_HEX" ]] || continue
    [[ "$(head -n1 "$e")" == enabled ]] || continue
    interp="$(binfmt_field "$e" interpreter)"
    if [[ "$(binfmt_field "$e" flags)" == *F* && -x "$interp" ]] && (( $(qemu_major "$interp" || echo 0) >= 10 )); then
      log "using the existing binfmt entry $(basename "$e") ($interp, QEMU $(qemu_version "$interp"))"
      QEMU_BIN="$interp"; QEMU_VIA="existing binfmt_misc entry $(basename "$e") (flag F)"
      return 0
    fi
    log "disabling binfmt entry $(basename "$e") ($interp: not a QEMU >= 10 with flag F); re-enable: echo 1 > $e"
    echo 0 > "$e"
  done

  if [[ -f "$bm/$BINFMT_NAME" ]]; then
    if [[ "$(head -n1 "$bm/$BINFMT_NAME")" == enabled && "$(binfmt_field "$bm/$BINFMT_NAME" interpreter)" == "$QEMU_BIN" ]]; then
      log "reusing binfmt entry $BINFMT_NAME"
      QEMU_VIA="binfmt_misc entry $BINFMT_NAME (flag F)"
      return 0
    fi
    log "replacing binfmt entry $BINFMT_NAME (other interpreter or disabled)"
    echo -1 > "$bm/$BINFMT_NAME"
  fi
  log "registering binfmt entry $BINFMT_NAME -> $QEMU_BIN"
  printf ':%s:M::%s:%s:%s:F' "$BINFMT_NAME" "$AARCH64_MAGIC" "$AARCH64_MASK" "$QEMU_BIN" > "$bm/register"
  QEMU_VIA="binfmt_misc entry $BINFMT_NAME (flag F)"
}

# ---- 2. root filesystem -----------------------------------------------------------------------------
build_rootfs() {
  if [[ -f "$ROOTFS/.edgeseq-debootstrap-ok" ]]; then
    log "reusing root filesystem $ROOTFS"
    return 0
  fi
  if [[ -e "$ROOTFS" ]]; then
    unmount_all
    [[ -z "$(mounts_under_root)" ]] || die "mounts remain under $ROOTFS, not removing it"
    log "removing incomplete root filesystem $ROOTFS"
    rm -rf --one-file-system "$ROOTFS"
  fi
  log "debootstrap first stage: arm64 $PI_SUITE minbase from $PI_MIRROR"
  debootstrap --arch=arm64 --foreign --variant=minbase "$PI_SUITE" "$ROOTFS" "$PI_MIRROR" > "$CACHE/debootstrap-1.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap-1.log" >&2; die "debootstrap first stage failed (log: $CACHE/debootstrap-1.log)"; }
  log "debootstrap second stage through QEMU (a few minutes)"
  inroot /debootstrap/debootstrap --second-stage > "$CACHE/debootstrap-2.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap-2.log" >&2; die "debootstrap second stage failed (log: $CACHE/debootstrap-2.log)"; }
  unmount_all  # whatever the second stage left mounted
  touch "$ROOTFS/.edgeseq-debootstrap-ok"
}

PACKAGES=(python3 python3-venv python3-pip ca-certificates)
install_packages() {
  local marker="$ROOTFS/.edgeseq-packages-ok" sec
  if [[ -f "$marker" && "$(cat "$marker")" == "${PACKAGES[*]}" ]]; then
    log "reusing apt packages in the root filesystem"
    return 0
  fi
  {
    echo "deb $PI_MIRROR $PI_SUITE main"
    echo "deb $PI_MIRROR $PI_SUITE-updates main"
    sec="$(PI_SUITE="$PI_SUITE-security" detect_mirror || true)"
    [[ -n "$sec" ]] && echo "deb $sec $PI_SUITE-security main"
  } > "$ROOTFS/etc/apt/sources.list"
  log "apt-get install ${PACKAGES[*]} (inside, emulated)"
  inroot apt-get update -qq > "$CACHE/apt-inside.log" 2>&1 \
    || { tail -n 20 "$CACHE/apt-inside.log" >&2; die "apt-get update inside the root filesystem failed"; }
  inroot apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >> "$CACHE/apt-inside.log" 2>&1 \
    || { tail -n 20 "$CACHE/apt-inside.log" >&2; die "apt-get install inside the root filesystem failed"; }
  inroot apt-get clean
  echo "${PACKAGES[*]}" > "$marker"
}

# The package source the venvs install: the working tree's files (uncommitted changes included),
# without .venv, .git, runs/, build leftovers and caches.
SRC_FILES=(pyproject.toml README.md edgeseq)
source_hash() {
  (cd "$CHECKOUT" && find "${SRC_FILES[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
     | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}
copy_inputs() {
  local f
  rm -rf "$ROOTFS$SRC_IN" "$ROOTFS$WORK_IN"
  mkdir -p "$ROOTFS$SRC_IN" "$ROOTFS$WORK_IN/out"
  for f in "${SRC_FILES[@]}" LICENSE LICENSE.txt; do
    [[ -e "$CHECKOUT/$f" ]] || continue
    tar -C "$CHECKOUT" --exclude=__pycache__ --exclude='*.pyc' -cf - "$f" | tar -C "$ROOTFS$SRC_IN" -xf -
  done
  tar -C "$CHECKOUT" --exclude=__pycache__ -cf - models | tar -C "$ROOTFS$WORK_IN" -xf -
  # pip inside needs the host's CA bundle: this host reaches PyPI through an egress that re-signs TLS.
  mkdir -p "$(dirname "$ROOTFS$CA_IN")"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS$CA_IN"
  cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
}

# make_venv VENV EXTRA: create the venv and pip install '$SRC_IN[EXTRA]'; reuse when the markers match.
# Returns non-zero (and leaves the log in $CACHE) when pip fails.
make_venv() {
  local venv="$1" extra="$2" deps_key src_key log_file="$CACHE/pip-$2.log"
  deps_key="$extra $(sha256sum "$CHECKOUT/pyproject.toml" | cut -c1-16)"
  src_key="$(source_hash)"
  if [[ -f "$ROOTFS$venv/.edgeseq-deps-ok" && "$(cat "$ROOTFS$venv/.edgeseq-deps-ok")" == "$deps_key" ]]; then
    if [[ -f "$ROOTFS$venv/.edgeseq-src-ok" && "$(cat "$ROOTFS$venv/.edgeseq-src-ok")" == "$src_key" ]]; then
      log "reusing venv $venv"
      return 0
    fi
    log "source changed: reinstalling edgeseq only in $venv"
    inroot "$venv/bin/pip" install -q --no-deps --force-reinstall "$SRC_IN" > "$log_file" 2>&1 || return 1
  else
    log "creating venv $venv with edgeseq[$extra] (pip under emulation, a few minutes)"
    rm -rf "$ROOTFS$venv"
    inroot python3 -m venv "$venv" > "$log_file" 2>&1 || return 1
    inroot "$venv/bin/pip" install "${SRC_IN}[$extra]" >> "$log_file" 2>&1 || return 1
    echo "$deps_key" > "$ROOTFS$venv/.edgeseq-deps-ok"
  fi
  echo "$src_key" > "$ROOTFS$venv/.edgeseq-src-ok"
}

freeze() {  # venv -> the relevant pinned versions
  inroot "$1/bin/pip" list --format=freeze 2>/dev/null \
    | grep -iE '^(edgeseq|ai[-_]edge[-_]litert|onnxruntime|onnx|numpy|tflite[-_]runtime|tflite)==' || true
}

# run_to NAME CMD...: stdout -> OUT/NAME.txt (or .json), stderr -> OUT/NAME.log; prints the exit code.
run_capture() {
  local stdout="$1" stderr="$2"; shift 2
  local rc=0
  "$@" > "$stdout" 2> "$stderr" || rc=$?
  echo "$rc"
}

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
"$HOST_PY" - <<'PY'
import json, os, platform, time
from pathlib import Path

E = os.environ
out, md = Path(E["OUT_DIR"]), Path(E["MD_FILE"])
rel = os.path.relpath(out, md.parent)


def read(name):
    p = out / name
    return p.read_text().rstrip("\n") if p.exists() else None


def load(name):
    try:
        return json.loads((out / name).read_text())
    except (OSError, ValueError):
        return None


def block(text):
    return "```text\n" + (text if text else "(no output)") + "\n```\n"


phases = [line.split("\t") for line in Path(E["PHASES"]).read_text().splitlines() if line]
problems = [p for p in Path(E["PROBLEMS"]).read_text().splitlines() if p]
emu, native = load("validate.json"), load("native-validate.json")
L = []
w = L.append
w("# edgeseq on emulated 64-bit ARM (Raspberry Pi path)\n")
w(f"Generated by `tools/pi-emulate.sh` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
  f"Raw outputs: [`{rel}/`]({rel}/).\n")
w("> **Emulated latency is 100–1,000× native: these figures prove that things work, not how fast they are.**\n")
w("## What was run\n")
w(f"- An arm64 Debian {E['PI_SUITE']} (minbase) root filesystem built with `debootstrap --foreign` and its second "
  "stage run through user-mode QEMU registered with binfmt_misc (flag F), as a chroot.")
w(f"- QEMU **{E['QEMU_VERSION']}** (`qemu-user` from {E['PI_SUITE']}-backports, static `qemu-aarch64`; "
  f"{E['QEMU_VIA']}), `QEMU_CPU={E['PI_CPU']}`"
  + (" (Raspberry Pi 5's core)" if E["PI_CPU"] == "cortex-a76" else " (Raspberry Pi 4's core)" if E["PI_CPU"] == "cortex-a72" else "")
  + ". bookworm's own QEMU 7.2 crashes onnxruntime on import; the `max` CPU advertises SVE and is ~10× slower.")
if E.get("CPU_FEATURES"):
    w(f"- CPU features seen inside: `{E['CPU_FEATURES']}`")
w(f"- Python **{E['PY_VERSION']}** (Debian's `python3`), `platform.machine()` = `aarch64`, `import tensorflow` fails "
  "(TensorFlow absent) in the runtime venv: both checked, the script fails otherwise.")
w("- Venv 1: `pip install '.[runtime]'` (LiteRT `ai-edge-litert` + onnxruntime, no TensorFlow), the default device install.")
w("- Venv 2: `pip install '.[tflite-runtime]'` (tflite-runtime 2.14, secondary)"
  + ("." if E["TFLRT_OK"] == "1" else ": **install failed**, see below."))
w(f"- In venv 1: `edgeseq inspect` on each of the {E['N_FILES']} exported files, "
  f"`edgeseq validate models --limit {E['PI_LIMIT']} --runtime litert,onnxruntime` (table, then `--json`), "
  f"`edgeseq bench models --warmup 2 --min-runs 5 --min-seconds 0 --out DIR --device-name \"{E['DEVICE_NAME']}\"` "
  "(the table as printed; `--out` writes the same rows that `--json` would print as `bench.json`).")
w(f"- In venv 2: `edgeseq validate models --limit {E['PI_LIMIT']} --tflite-backend tflite-runtime` and `edgeseq inspect`.")
w(f"- On this host (x86_64, the checkout's dev venv): `edgeseq validate models --limit {E['PI_LIMIT']} "
  "--runtime litert,onnxruntime --json`, for the comparison below.\n")

w(f"Package source: the checkout's working tree (pyproject.toml, README.md, edgeseq/), content hash `{E['SRC_HASH']}`"
  + ("." if E["SRC_HASH"] == E["SRC_HASH_END"] else
     f"; **it changed during the run** (now `{E['SRC_HASH_END']}`): the native run may be of different code.") + "\n")
w("## Installed versions\n")
for name, title in (("pip-freeze-runtime.txt", "edgeseq[runtime] venv"),
                    ("pip-freeze-tflite-runtime.txt", "edgeseq[tflite-runtime] venv")):
    text = read(name)
    if text is not None:
        w(f"{title}:\n")
        w(block(text))
pip_fail = read("tflite-runtime-pip-install.log")
if pip_fail:
    w("`pip install '.[tflite-runtime]'` failed on aarch64 (last lines):\n")
    w(block(pip_fail))

w("## Wall time\n")
w("| phase | seconds | note |")
w("|---|---:|---|")
for name, secs, note in phases:
    w(f"| {name} | {secs} | {note} |")
total = int(E["T_TOTAL"])
w(f"| **all** | **{total}** | {total // 60} min {total % 60} s |\n")

def outcome(r):
    return r.get("outcome") or ("pass" if r.get("passed") else "fail")


w(f"## Validate (edgeseq[runtime], emulated, exit {E['VAL_RC']})\n")
if emu is None:
    problems.append("validate --json gave no JSON in the runtime venv")
else:
    counts = {}
    for r in emu:
        counts[outcome(r)] = counts.get(outcome(r), 0) + 1
    failed = [r["path"] for r in emu if outcome(r) not in ("pass", "inconclusive")]
    if failed:
        problems.append(f"validate failed in the runtime venv: {', '.join(failed)}")
    if len(emu) != int(E["N_FILES"]):
        problems.append(f"validate reported {len(emu)} rows for {E['N_FILES']} exported files")
    w(f"{len(emu)} rows: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + "."
      + (" INCONCLUSIVE is the toolkit's verdict when the digits used are too few to judge the accuracy"
         " tolerance (never a pass, never a fail): it comes from `--limit`, not from the emulation; the native"
         " verdicts below are the same." if counts.get("inconclusive") else "") + "\n")
w(block(read("validate.txt")))

w("## Native vs emulated accuracy\n")
if native is None or emu is None:
    why = "skipped (--skip-native)" if E["SKIP_NATIVE"] == "1" else "not available (no native or no emulated JSON)"
    w(f"Comparison {why}.\n")
else:
    key = lambda r: (r["path"], r["runtime"])
    nat = {key(r): r for r in native}
    equal_all = True
    w(f"Same {E['PI_LIMIT']} test digits; native = this x86_64 host (its reference is the Keras model, "
      "TensorFlow being installed there; the emulated run's is the fp32 file or the golden outputs, which changes "
      "the reference columns, not the file's own accuracy).\n")
    w("| file | runtime | native acc % | emulated acc % | equal? | native verdict | emulated verdict |")
    w("|---|---|---:|---:|---|---|---|")
    fmt = lambda a: "—" if a is None else f"{100 * a:.2f}"
    for r in emu:
        n = nat.get(key(r))
        ea = r.get("accuracy")
        na = n.get("accuracy") if n else None
        eq = ea is not None and na is not None and abs(ea - na) < 1e-12
        equal_all &= eq
        w(f"| {r['path']} | {r['runtime']} | {fmt(na)} | {fmt(ea)} | {'yes' if eq else '**no**'} "
          f"| {outcome(n) if n else '—'} | {outcome(r)} |")
    missing = sorted(set(nat) - {key(r) for r in emu})
    for path, runtime in missing:
        equal_all = False
        n = nat[(path, runtime)]
        w(f"| {path} | {runtime} | {fmt(n.get('accuracy'))} | — (not run emulated) | **no** | {outcome(n)} | — |")
    w("")
    w(f"Native validate exit {E['NATIVE_RC']}. " + ("Every file's accuracy is identical native and emulated.\n"
      if equal_all else "**Some accuracies differ** (see the rows marked no).\n"))
    if not equal_all:
        problems.append("native and emulated accuracies differ")

w(f"## Bench (emulated, exit {E['BENCH_RC']})\n")
w("> Emulated latency is 100–1,000× native: these figures prove that things work, not how fast they are.\n")
w(block(read("bench.txt")))

w("## tflite-runtime 2.14 venv (secondary)\n")
if E["TFLRT_OK"] != "1":
    w("Not run: its install failed (above).\n")
else:
    w(f"`edgeseq validate models --limit {E['PI_LIMIT']} --tflite-backend tflite-runtime`: exit {E['TFL_VAL_RC']}"
      + (" (non-zero is expected: tflite-runtime 2.14 lacks the FULLY_CONNECTED v12 kernels that some files use)."
         if E["TFL_VAL_RC"] != "0" else "."))
    w("")
    tv = read("tflite-runtime-validate.txt") or ""
    w(block(tv))
    if "crashed" in tv:
        w("Some files crash the tflite-runtime 2.14 interpreter here (the rows that say *crashed*; edgeseq runs each"
          " file in a child process, so validate goes on). The same files run under tflite-runtime 2.14 on x86_64"
          " (docs/results/portability.md) and under LiteRT on this emulated aarch64 (above): whether a real Pi's"
          " tflite-runtime 2.14 crashes too, or this is the emulation, needs a real Pi to tell.\n")
    w(f"`edgeseq inspect` failed on {E['TFL_INSPECT_BAD']} file(s) there (output: `tflite-runtime-inspect.txt`).\n")

w("## Files\n")
for f in sorted(p.name for p in out.iterdir()):
    w(f"- [`{f}`]({rel}/{f})")
w("")
if problems:
    w("## Problems\n")
    for p in problems:
        w(f"- {p}")
    w("")
md.write_text("\n".join(L))
(Path(E["PROBLEMS"])).write_text("".join(p + "\n" for p in problems))
PY
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
