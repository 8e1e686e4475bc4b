#!/bin/sh
# Installs the real servers the targets/fronts deployments run (Debian
# packages), idempotently: packages already installed are left alone.
# Runs apt as root, or through sudo; says so and fails otherwise.
# The packages' system services are not started: a policy-rc.d that denies
# every start is put in place for the install only if none exists, and
# removed afterwards (an existing one is left as it is). No running
# service is stopped. PACKAGES in the environment replaces the list.
set -eu

PACKAGES="${PACKAGES:-apache2 libapache2-mod-wsgi-py3 libapache2-mod-fcgid nginx fcgiwrap lighttpd spawn-fcgi uwsgi uwsgi-plugin-python3 php-fpm}"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "servers: all installed ($PACKAGES)"
	exit 0
fi

if [ "$(id -u)" = 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO=sudo
else
	echo "servers: need root or password-less sudo to install:$missing" >&2
	echo "servers: run 'sudo make servers', or install them with apt-get" >&2
	exit 1
fi

POLICY=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# forkbench make servers: no service starts during the install\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
	$SUDO chmod 755 "$POLICY"
	ours=1
fi
cleanup() {
	if [ -n "$ours" ]; then
		$SUDO rm -f "$POLICY"
	fi
}
trap cleanup EXIT INT TERM

echo "servers: installing$missing"
# The lock timeout waits for another apt or dpkg run instead of failing.
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing
echo "servers: installed$missing"
