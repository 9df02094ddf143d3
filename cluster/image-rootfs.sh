#!/usr/bin/env bash
# Turns a fresh `debootstrap --variant=minbase` root file system into the base of pgpitr's
# local image: what the official postgres image (docker-library/postgres, Debian variant)
# provides and pgpitr relies on, made from Debian's own PostgreSQL packages.
# cluster/image.py runs it as root inside the chroot, /proc mounted, apt's sources written:
#   chroot ROOTFS env -i ... bash /tmp/pgpitr-image-rootfs.sh
#
# Input (environment):
#   POSTGRES_MAJOR   the PostgreSQL major version to install (Debian's postgresql-N)
#   POSTGRES_UID     uid and gid of the postgres user (the official image's 999; Debian's is 100)
#   PACKAGES         more Debian packages, space-separated (what pgpitr's layer needs)
#   LOCALE           the locale to generate, as in /etc/locale.gen ("en_US.UTF-8")
#   LANG_VALUE       the image's LANG, which must then name a UTF-8 locale ("en_US.utf8")
#   DATA_DIR         the image's PGDATA default, made writable by everyone as the official image does
#   SOCKET_DIR       PostgreSQL's socket directory, writable by the postgres user
set -euo pipefail

: "${POSTGRES_MAJOR:?POSTGRES_MAJOR is not set}"
: "${POSTGRES_UID:?POSTGRES_UID is not set}"
: "${PACKAGES:?PACKAGES is not set}"
: "${LOCALE:?LOCALE is not set}"
: "${LANG_VALUE:?LANG_VALUE is not set}"
: "${DATA_DIR:?DATA_DIR is not set}"
: "${SOCKET_DIR:?SOCKET_DIR is not set}"
export DEBIAN_FRONTEND=noninteractive

fail() {
	printf 'image-rootfs.sh: %s\n' "$*" >&2
	exit 1
}
apt_install() {
	apt-get install -y -q --no-install-recommends "$@"
}

# No service may start inside the chroot (Debian's maintainer scripts ask this file).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

# The official image's ids, made before the package would make its own (uid 100); the
# package's maintainer script then keeps this system user as it is.
groupadd --system --gid "$POSTGRES_UID" postgres
useradd --system --gid postgres --uid "$POSTGRES_UID" --home-dir /var/lib/postgresql --shell /bin/bash postgres
install --directory --owner postgres --group postgres --mode 1777 /var/lib/postgresql

apt-get update -q
apt_install postgresql-common
# No cluster in the image: the entrypoint runs initdb on the volume. This must be set
# before postgresql-N is installed, whose maintainer script would create "main".
sed -ri 's/^#?[[:space:]]*(create_main_cluster)[[:space:]]*=.*$/\1 = false/' /etc/postgresql-common/createcluster.conf
grep -qx 'create_main_cluster = false' /etc/postgresql-common/createcluster.conf ||
	fail "could not set create_main_cluster = false in /etc/postgresql-common/createcluster.conf"

read -ra packages <<<"$PACKAGES"
apt_install "postgresql-$POSTGRES_MAJOR" locales "${packages[@]}"
[[ -z "$(pg_lsclusters --no-header)" ]] || fail "the package created a cluster: $(pg_lsclusters --no-header)"

# A UTF-8 locale, so initdb makes UTF8 databases as the official image's does.
printf '%s UTF-8\n' "$LOCALE" >>/etc/locale.gen
locale-gen
[[ "$(LC_ALL="$LANG_VALUE" locale charmap)" == UTF-8 ]] || fail "locale $LANG_VALUE was not generated"

# The official image makes initdb's clusters listen on every address by default.
sample="/usr/share/postgresql/$POSTGRES_MAJOR/postgresql.conf.sample"
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$sample"
grep -qF "listen_addresses = '*'" "$sample" || fail "could not set listen_addresses in $sample"

install --directory --owner postgres --group postgres --mode 3777 "$SOCKET_DIR"
install --directory --owner postgres --group postgres --mode 1777 "$DATA_DIR"

apt-get clean
rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
"/usr/lib/postgresql/$POSTGRES_MAJOR/bin/postgres" --version
