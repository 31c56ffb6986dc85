# Shared by demo.sh and test.sh: installs what a clean machine lacks. Sourced, not run.

# Installs the Debian packages the build needs (libhdf5, zlib, pkg-config) when they are missing.
ensure_system_packages() {
  local missing=()
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  pkg-config --exists hdf5 2>/dev/null || missing+=(libhdf5-dev)
  pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
  pkg-config --exists libcrypto 2>/dev/null || missing+=(libssl-dev)
  pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev)
  [[ -x /usr/bin/time ]] || missing+=(time)  # the corpus test measures peak memory with GNU time
  if ((${#missing[@]})); then
    echo "installing ${missing[*]} ..." >&2
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! command -v swift >/dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
      export PATH="/opt/swift/usr/bin:$PATH"
    else
      echo "error: the Swift toolchain (6.0 or later) is not on PATH; install it from swift.org" >&2
      exit 1
    fi
  fi
}
