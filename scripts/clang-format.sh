#!/usr/bin/env bash
# Formats the native addon's C++ with clang-format (.clang-format at the root).
#   scripts/clang-format.sh --check   fails, listing the files, when one is not formatted
#   scripts/clang-format.sh --write   formats them in place
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format is missing (Debian package clang-format; scripts/install.sh --test installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files 'src/capture/native/*.cc' 'src/capture/native/*.h')
case "${1:-}" in
  --write) clang-format -i "${files[@]}" ;;
  --check) clang-format --dry-run --Werror "${files[@]}" ;;
  *) echo "usage: $0 --check|--write" >&2; exit 2 ;;
esac
