# tools/pi-emulate-steps.sh: the steps of tools/pi-emulate.sh (host tools, QEMU, the root filesystem, the
# venvs, running a command with its output captured), sourced by it where they stood; not run on its own.
# shellcheck shell=bash

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
