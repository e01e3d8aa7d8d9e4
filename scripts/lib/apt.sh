# shellcheck shell=bash
# Sourced by pcapd's scripts. Expects a `log` function.

# ensure_apt_packages PKG...: apt-get install only what dpkg says is missing, and run
# `apt-get update` only then (it costs seconds and needs the network).
ensure_apt_packages() {
  local p missing=() sudo=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  (( ${#missing[@]} )) || return 0
  (( EUID == 0 )) || sudo=(sudo)
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  # </dev/null: never prompt, even if a package asks debconf questions.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

