#!/usr/bin/env bash
# Install the Debian packages spanalloc needs, and nothing when they are all
# there already (apt-get is then not run at all).
#
#   bash ci/install-deps.sh [GROUP...]     GROUP: build test bench fuzz all
#                                          mbench (default: all; mbench, the
#                                          programs two mimalloc-bench benchmarks
#                                          run, is not in all)
#
# Runs as root (CI does) or through sudo when that exists.
set -euo pipefail

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "$0"
}

pkgs_build=(gcc clang make pkg-config libc6-dev binutils valgrind) # valgrind: its client-request headers
pkgs_test=(libcriterion-dev valgrind python3 git sqlite3 coreutils clang-format clang-tidy cppcheck libclang-rt-14-dev) # lint, TSan
pkgs_bench=(libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 hyperfine gnuplot-nox)
pkgs_fuzz=(afl++ libclang-rt-14-dev llvm zip unzip)
pkgs_mbench=(z3 ruby) # mimalloc-bench's z3 and rbstress (make bench-mimalloc skips them without)

groups=("$@")
if ((${#groups[@]} == 0)); then
  groups=(all)
fi

wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${pkgs_build[@]}") ;;
    test) wanted+=("${pkgs_test[@]}") ;;
    bench) wanted+=("${pkgs_bench[@]}") ;;
    fuzz) wanted+=("${pkgs_fuzz[@]}") ;;
    mbench) wanted+=("${pkgs_mbench[@]}") ;;
    all) wanted+=("${pkgs_build[@]}" "${pkgs_test[@]}" "${pkgs_bench[@]}" "${pkgs_fuzz[@]}") ;;
    -h | --help) usage; exit 0 ;;
    *)
      echo "install-deps: unknown group '$g' (expected: build test bench fuzz mbench all)" >&2
      exit 2
      ;;
  esac
done

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing_pkgs() {
  local p
  declare -A seen=()
  for p in "${wanted[@]}"; do
    [[ -n "${seen[$p]:-}" ]] && continue
    seen[$p]=1
    is_installed "$p" || printf '%s\n' "$p"
  done
}

mapfile -t missing < <(missing_pkgs)
if ((${#missing[@]} == 0)); then
  echo "install-deps: all packages present (${groups[*]})"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: not root and no sudo; install by hand: ${missing[*]}" >&2
    exit 1
  fi
fi

apt_get() {
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 "$@"
}

apt_get update -q
apt_get install -y -q --no-install-recommends "${missing[@]}"

mapfile -t still < <(missing_pkgs)
if ((${#still[@]} != 0)); then
  echo "install-deps: still missing after apt-get: ${still[*]}" >&2
  exit 1
fi
echo "install-deps: done"
