#!/usr/bin/env bash
# A throwaway icecast2 for the relay tests and benchmarks (never for a station):
#   scripts/test-icecast.sh DIR PORT PASSWORD
# writes DIR/icecast.xml (127.0.0.1:PORT only, source password PASSWORD, logs in DIR) and runs
# icecast2 in the foreground. As root it drops to the icecast2 user of the Debian package
# (icecast refuses to run as root). tests/stream_fixture.py and .ci/run both start it this way.
set -euo pipefail
dir=$1 port=$2 password=$3
bin=$(command -v icecast2 || command -v icecast || true)
if [ -z "$bin" ]; then
    echo "icecast2 is not installed: apt-get install icecast2 (scripts/install-debian-deps.sh)" >&2
    exit 3
fi
owner=""
if [ "$(id -u)" = 0 ]; then
    owner="<changeowner><user>icecast2</user><group>icecast</group></changeowner>"
    chmod 777 "$dir"
fi
cat >"$dir/icecast.xml" <<XML
<icecast>
  <location>loa tests</location><admin>loa@localhost</admin>
  <limits>
    <clients>50</clients><sources>20</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout>
    <source-timeout>5</source-timeout>
    <burst-on-connect>1</burst-on-connect><burst-size>16384</burst-size>
  </limits>
  <authentication>
    <source-password>$password</source-password><relay-password>$password</relay-password>
    <admin-user>admin</admin-user><admin-password>$password</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>$port</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>0</fileserve>
  <paths>
    <basedir>$dir</basedir><logdir>$dir</logdir><webroot>$dir</webroot>
    <adminroot>$dir</adminroot><pidfile>$dir/icecast.pid</pidfile>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>$owner</security>
</icecast>
XML
exec "$bin" -c "$dir/icecast.xml"
