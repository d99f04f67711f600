# Shared by lab/install-{sendmail,exim,opensmtpd}.sh (sourced, not run): fetch
# Debian .debs with apt-get download, unpack them with dpkg-deb -x into a
# private tree, and install only the shared libraries they link against, so
# that several MTAs (conflicting as packages) can sit side by side.
#
# The sourcing script sets: lab_name, lab_debs (array of package names),
# lab_bins (array of paths relative to the unpacked root, which must exist and
# resolve every library), and may define lab_accounts (creates users/groups)
# and lab_extra_pkgs (array of whole packages to install normally, e.g. m4).
# shellcheck shell=bash

die() { echo "install-$lab_name: error: $*" >&2; exit 1; }
log() { echo "install-$lab_name: $*" >&2; }

lab_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lab_cache=${ETRN_LAB_CACHE:-$lab_repo/.cache/lab}/$lab_name
lab_root=$lab_cache/root
lab_stamp=$lab_cache/installed.stamp
apt_opts=(-q -o DPkg::Lock::Timeout=300 -o APT::Get::Assume-Yes=true)
export DEBIAN_FRONTEND=noninteractive

# Packages (from the arguments) that are not installed yet.
missing_pkgs() {
  local p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || echo "$p"
  done
}

lab_bins_ok() {
  local b
  for b in "${lab_bins[@]}"; do [ -e "$lab_root/$b" ] || return 1; done
}

lab_install_pkgs() {
  [ "$#" -gt 0 ] || return 0
  log "installing: $*"
  apt-get "${apt_opts[@]}" install --no-install-recommends "$@" >&2 \
    || { apt-get "${apt_opts[@]}" update >&2 && apt-get "${apt_opts[@]}" install --no-install-recommends "$@" >&2; } \
    || die "apt-get install $* failed"
}

lab_main() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0)"
  declare -F lab_accounts >/dev/null || lab_accounts() { :; }
  local -a extra=("${lab_extra_pkgs[@]}")

  # Fast path: unpacked tree, stamp, libraries and accounts all present.
  if [ -f "$lab_stamp" ] && lab_bins_ok; then
    local -a libs
    read -r -a libs <<<"$(sed -n 's/^libs=//p' "$lab_stamp")"
    if [ -z "$(missing_pkgs "${libs[@]}" "${extra[@]}")" ] && lab_accounts check; then
      exit 0
    fi
  fi

  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "needs a Debian system (apt-get, dpkg-deb)"
  mkdir -p "$lab_cache/debs" || die "cannot create $lab_cache"

  # apt-get update only when the lists do not know the packages or the .debs
  # cannot be fetched from them (lists older than the mirror).
  download() {
    (cd "$lab_cache/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" download "${lab_debs[@]}") >&2
  }
  if ! apt-cache show "${lab_debs[@]}" >/dev/null 2>&1 || ! download; then
    log "refreshing package lists (apt-get update)"
    apt-get "${apt_opts[@]}" update >&2 || die "apt-get update failed"
    download || die "apt-get download ${lab_debs[*]} failed"
  fi

  rm -rf "$lab_root.tmp"
  mkdir -p "$lab_root.tmp"
  local deb p versions=() deps=''
  for p in "${lab_debs[@]}"; do
    deb=$(ls "$lab_cache/debs/${p}"_*.deb 2>/dev/null | head -n1)
    [ -n "$deb" ] || die "no $p .deb in $lab_cache/debs after download"
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$lab_root.tmp" || die "dpkg-deb -x $deb failed"
    versions+=("$p=$(dpkg-deb -f "$deb" Version)")
    deps+="$(dpkg-deb -f "$deb" Depends),$(dpkg-deb -f "$deb" Pre-Depends),"
  done
  rm -rf "$lab_root"
  mv "$lab_root.tmp" "$lab_root"
  lab_bins_ok || die "unpacked tree lacks one of: ${lab_bins[*]}"

  # The library dependencies: the lib* packages among the Depends (alternatives
  # and version constraints dropped).
  local -a libs
  mapfile -t libs < <(tr ',' '\n' <<<"$deps" | sed 's/[|(].*//; s/:any//; s/^ *//; s/ *$//' \
    | grep -E '^lib' | sort -u)
  [ "${#libs[@]}" -gt 0 ] || die "found no library dependencies in ${lab_debs[*]}"
  local -a need
  mapfile -t need < <(missing_pkgs "${libs[@]}" "${extra[@]}")
  lab_install_pkgs "${need[@]}"

  local unresolved b
  unresolved=$(for b in "${lab_bins[@]}"; do ldd "$lab_root/$b" 2>/dev/null | grep 'not found' || true; done | sort -u)
  [ -z "$unresolved" ] || die "unresolved libraries after install:"$'\n'"$unresolved"

  lab_accounts create
  lab_accounts check || die "could not create the accounts $lab_name needs"

  printf 'versions=%s\nlibs=%s\n' "${versions[*]}" "${libs[*]}" > "$lab_stamp"
  log "$lab_name (${versions[*]}) ready in $lab_root"
}

# ensure_group NAME / ensure_user NAME GROUP: system accounts, idempotent.
ensure_group() {
  getent group "$1" >/dev/null || groupadd --system "$1" || die "cannot create group $1"
}
ensure_user() {
  ensure_group "$2"
  getent passwd "$1" >/dev/null || useradd --system --gid "$2" --home-dir /nonexistent \
    --no-create-home --shell /usr/sbin/nologin "$1" || die "cannot create user $1"
}
