#!/bin/bash
# Installs Tessera from this bundle, with no network: the bundle's own Debian packages for
# what the system lacks, a virtual environment of the bundle's wheels, PREFIX/bin/tessera,
# its settings file and the systemd unit. Safe to run again: what is there is kept.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: sudo ./install.sh [--prefix DIR] [--no-system] [--dry-run]

  --prefix DIR  where Tessera goes (default /opt/tessera): DIR/venv, DIR/bin/tessera,
                DIR/etc/tessera.env (its settings), DIR/lib/systemd/system/tessera.service
  --no-system   leave the system alone: no Debian packages, no user, no unit in /etc/systemd
  --dry-run     check the bundle and show what would be installed; change nothing

Every file is checked against the bundle's MANIFEST first; a bundle built for another OS or
architecture is refused. Nothing is ever fetched from a network.
EOF
}

prefix=/opt/tessera
system=1
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 2; }; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --no-system) system=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

bundle=$(cd "$(dirname "$0")" && pwd)
say() { echo "tessera install: $*"; }
fail() { echo "tessera install: $*" >&2; exit 1; }

case "$prefix" in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
prefix=${prefix%/}

# -- the bundle: its manifest, its platform, every file's checksum ---------------------------

manifest=$bundle/MANIFEST
[ -f "$manifest" ] || fail "no MANIFEST beside install.sh: run install.sh from the unpacked bundle"
field() { sed -n "s/^$1 //p" "$manifest" | head -n1; }
version=$(field version)
bundle_os=$(field os)
bundle_arch=$(field arch)
packages=$(field packages)
[ -n "$version" ] && [ -n "$bundle_os" ] && [ -n "$bundle_arch" ] || fail "MANIFEST is incomplete"

host_os=$(. /etc/os-release && echo "${ID}${VERSION_ID%%.*}")
host_arch=$(dpkg --print-architecture)
if [ "$bundle_os" != "$host_os" ] || [ "$bundle_arch" != "$host_arch" ]; then
  fail "this bundle is for $bundle_os-$bundle_arch, this machine is $host_os-$host_arch: build one with 'make bundle' on a connected $host_os-$host_arch machine"
fi

say "checking the bundle's files against MANIFEST (tessera $version, $bundle_os-$bundle_arch)"
sums=$(grep -E '^[0-9a-f]{64}  ' "$manifest" || true)
[ -n "$sums" ] || fail "MANIFEST lists no files"
if ! bad=$(cd "$bundle" && printf '%s\n' "$sums" | sha256sum --check --quiet --strict 2>&1); then
  printf '%s\n' "$bad" | sed 's/^/  /' >&2
  fail "the bundle does not match its MANIFEST (damaged or altered in transit): refusing to install"
fi
unlisted=$(cd "$bundle" && find . -type f ! -path ./MANIFEST -printf '%P\n' | sort \
  | comm -23 - <(printf '%s\n' "$sums" | cut -c67- | sort) || true)
if [ -n "$unlisted" ]; then
  printf '  %s\n' $unlisted >&2
  fail "the bundle holds files its MANIFEST does not list: refusing to install"
fi
say "all $(printf '%s\n' "$sums" | wc -l) files match"

if [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  if [ "$system" = 1 ] || ! mkdir -p "$prefix" 2>/dev/null; then
    fail "run as root (sudo ./install.sh), or with --no-system and a --prefix you can write"
  fi
fi

# -- Debian packages, from the bundle's own files only ---------------------------------------

admindir=${DPKG_ADMINDIR:-/var/lib/dpkg}

missing_packages() {
  local p
  for p in $packages; do
    dpkg-query --admindir="$admindir" -W -f='${Status}\n' "$p" 2>/dev/null \
      | grep -q "install ok installed" || echo "$p"
  done
}

install_system_packages() {
  local missing
  missing=$(missing_packages | tr '\n' ' ')
  if [ -z "${missing// /}" ]; then
    say "system packages: all there ($packages)"
    return
  fi
  say "system packages to install from the bundle: $missing"
  # apt sees only the bundle's folder of .debs: no network source, the host's lists unread.
  local apt_dir
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  echo "deb [trusted=yes] file:$bundle/debs ./" >"$apt_dir/sources.list"
  local apt_options=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::archives=$apt_dir/archives"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "Dir::State::status=$admindir/status" -o "APT::Sandbox::User=root"
    -o "Acquire::Languages=none"
  )
  if ! apt-get "${apt_options[@]}" -qq update >"$apt_dir/log" 2>&1; then
    cat "$apt_dir/log" >&2
    rm -rf "$apt_dir"
    fail "apt could not read the bundle's packages"
  fi
  local action=(install -y --no-install-recommends)
  [ "$dry_run" = 1 ] && action+=(--simulate -o Debug::NoLocking=1)
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive apt-get "${apt_options[@]}" "${action[@]}" $missing \
      >"$apt_dir/log" 2>&1; then
    cat "$apt_dir/log" >&2
    rm -rf "$apt_dir"
    fail "the bundle's packages could not be installed (see apt's words above)"
  fi
  if [ "$dry_run" = 1 ]; then
    grep '^Inst ' "$apt_dir/log" | sed 's/^/  would install: /'
  else
    say "installed: $missing"
  fi
  rm -rf "$apt_dir"
}

if [ "$system" = 1 ]; then
  install_system_packages
else
  say "system packages: skipped (--no-system)"
fi

# -- the virtual environment -----------------------------------------------------------------

python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3 || true)
[ -n "$python" ] || fail "no python3 on this machine: run without --no-system to install it"
venv=$prefix/venv
stamp=$venv/.tessera-bundle
bundle_id=$(sha256sum "$manifest" | cut -c1-64)

if [ "$dry_run" = 1 ]; then
  say "would install tessera $version into $venv and write $prefix/bin/tessera"
  exit 0
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$bundle_id" ] && "$venv/bin/tessera" --version >/dev/null 2>&1; then
  say "tessera $version: already installed in $venv from this bundle"
else
  if [ ! -x "$venv/bin/python" ]; then
    say "creating the virtual environment $venv (with $python)"
    mkdir -p "$prefix"
    if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      fail "$python cannot create a virtual environment: run without --no-system to install python3-venv from the bundle"
    fi
  fi
  say "installing tessera $version and its dependencies from the bundle's wheels"
  # Only the bundle's wheels: no index, and none of this host's pip settings.
  for name in $(compgen -e | grep '^PIP_' || true); do unset "$name"; done
  PIP_CONFIG_FILE=/dev/null "$venv/bin/python" -m pip install --quiet --no-index \
    --disable-pip-version-check --no-cache-dir --find-links "$bundle/wheels" \
    --force-reinstall "tessera-ocr==$version" \
    || fail "pip could not install the bundle's wheels into $venv"
  echo "$bundle_id" >"$stamp"
  say "tessera $version installed in $venv"
fi

# -- the command, its settings, the unit -----------------------------------------------------

# Moves FILE.new over FILE unless they are the same: a second run changes nothing.
put() {
  if cmp -s "$1.new" "$1"; then
    rm -f "$1.new"
    say "$1: already there"
  else
    mv "$1.new" "$1"
    say "wrote $1"
  fi
}

mkdir -p "$prefix/bin" "$prefix/etc" "$prefix/lib/systemd/system" "$prefix/share/tessera"
cat >"$prefix/bin/tessera.new" <<EOF
#!/bin/sh
# Tessera with the settings of $prefix/etc/tessera.env; variables already set win.
if [ -r "$prefix/etc/tessera.env" ]; then
  while IFS= read -r line || [ -n "\$line" ]; do
    case "\$line" in ''|'#'*) continue ;; *=*) ;; *) continue ;; esac
    key=\${line%%=*}
    case "\$key" in ''|[0-9]*|*[!A-Za-z0-9_]*) continue ;; esac
    eval "known=\\\${\$key+x}"
    [ -n "\$known" ] || export "\$line"
  done <"$prefix/etc/tessera.env"
fi
exec "$venv/bin/tessera" "\$@"
EOF
chmod 755 "$prefix/bin/tessera.new"
put "$prefix/bin/tessera"

if [ -f "$prefix/etc/tessera.env" ]; then
  say "settings: $prefix/etc/tessera.env already there, kept"
else
  install -m 644 "$bundle/tessera.env" "$prefix/etc/tessera.env"
  say "settings: wrote $prefix/etc/tessera.env"
fi
install -m 644 "$bundle/README.md" "$prefix/share/tessera/README.md"
unit=$prefix/lib/systemd/system/tessera.service
sed "s|@PREFIX@|$prefix|g" "$bundle/tessera.service" >"$unit.new"
put "$unit"

if [ "$system" = 1 ]; then
  if id tessera >/dev/null 2>&1; then
    say "user tessera: already there"
  else
    useradd --system --user-group --home-dir /var/lib/tessera --no-create-home \
      --shell /usr/sbin/nologin tessera
    say "user tessera: created"
  fi
  # The unit's StateDirectory, made now so that models can be added before the first start.
  if [ -d /var/lib/tessera/models ]; then
    say "/var/lib/tessera/models: already there"
  else
    install -d -o tessera -g tessera -m 0750 /var/lib/tessera /var/lib/tessera/models
    say "created /var/lib/tessera/models"
  fi
  if cmp -s "$unit" /etc/systemd/system/tessera.service; then
    say "/etc/systemd/system/tessera.service: already there"
  else
    install -m 644 "$unit" /etc/systemd/system/tessera.service
    say "wrote /etc/systemd/system/tessera.service"
    [ -d /run/systemd/system ] && systemctl daemon-reload
  fi
  next="systemctl enable --now tessera"
else
  next="$prefix/bin/tessera serve"
fi

say "done. Check it with: $prefix/bin/tessera doctor"
say "then start it with: $next"
