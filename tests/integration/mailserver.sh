#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run a private Postfix + Dovecot pair for the integration tests.
#
#   mailserver.sh start DIR   write configs under DIR, start both, wait until
#                             every port answers, write DIR/env
#   mailserver.sh stop DIR    stop both by PID (no error if already stopped)
#
# Everything lives under DIR: certificates (DIR/certs, made by certs.sh),
# Postfix config (DIR/postfix), queue (DIR/postfix-queue), data
# (DIR/postfix-data), log (DIR/maillog); Dovecot config (DIR/dovecot.conf),
# run/state dirs, users file and log (DIR/dovecot/); delivered mail
# (DIR/mail/<local part>/ as Maildir). Nothing under /etc, /var or /run is
# read or written apart from the packaged binaries and Postfix's shared
# meta files (/etc/postfix/postfix-files, dynamicmaps.cf). All listeners bind
# 127.0.0.1 only, on ports picked free at start.
#
# DIR/env (shell-sourceable) exports:
#   POSTIE_TEST_HOST              127.0.0.1 (or $POSTIE_TEST_LISTEN when set)
#   POSTIE_TEST_SMTP_PORT         Postfix, plain + STARTTLS (may), AUTH only
#                                 after STARTTLS; PIPELINING CHUNKING 8BITMIME
#                                 SMTPUTF8 DSN SIZE ENHANCEDSTATUSCODES
#   POSTIE_TEST_SUBMISSION_PORT   Postfix, plain, STARTTLS mandatory (encrypt)
#   POSTIE_TEST_SMTPS_PORT        Postfix, implicit TLS, AUTH offered
#   POSTIE_TEST_SELFSIGNED_PORT   Postfix, implicit TLS, self-signed cert
#   POSTIE_TEST_WRONGHOST_PORT    Postfix, implicit TLS, CA-signed cert for
#                                 mail.other.example only
#   POSTIE_TEST_EXPIRED_PORT      Postfix, implicit TLS, expired CA-signed cert
#   POSTIE_TEST_IMAP_PORT         Dovecot, plain + STARTTLS
#   POSTIE_TEST_IMAPS_PORT        Dovecot, implicit TLS
#   POSTIE_TEST_POP3_PORT         Dovecot, plain + STLS
#   POSTIE_TEST_POP3S_PORT        Dovecot, implicit TLS
#   POSTIE_TEST_CA                DIR/certs/ca.pem (signs the good certificate)
#   POSTIE_TEST_USER              alice@example.test
#   POSTIE_TEST_PASSWORD          password of alice, bob and carol
#   POSTIE_TEST_MAILDIR_ROOT      DIR/mail: mail for bob@example.test lands in
#                                 DIR/mail/bob/new
#   POSTIE_TEST_POSTFIX_PID       Postfix master PID
#   POSTIE_TEST_DOVECOT_PID       Dovecot master PID
#
# POSTIE_TEST_POSTFIX_MAIN_CF (optional): lines appended to Postfix's
# main.cf, for a test that needs a restriction of its own (the mps2-an386
# test defers the first message through a policy service of its own).
#
# Needs root: the Postfix master refuses to run otherwise. Postfix daemons
# run as the packaged `postfix` user; Dovecot runs entirely unprivileged (no
# process of it keeps root) as the mail user, which also owns the Maildirs:
# $POSTIE_TEST_MAIL_USER if set, else $SUDO_USER if set and not root, else
# `nobody`. DIR is made world-traversable (0755) so those users can reach it.
#
# Dovecot regards 127.0.0.1 -> 127.0.0.1 as a secure connection and allows
# plaintext login there without STARTTLS (Postfix does not: AUTH appears only
# after STARTTLS).
#
# Mail for domains other than example.test is accepted only from
# authenticated clients (unauthenticated: 554 5.7.1 Relay access denied) and
# is then discarded: the test server never sends anything off the machine.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prog=mailserver.sh
PASSWORD=postie-test-pw
USERS=(alice bob carol)
DOMAIN=example.test
POSTFIX_DAEMONS=/usr/lib/postfix/sbin
PY=/usr/bin/python3
# The one address every listener binds: 127.0.0.1, or an address of a
# network namespace the caller made (POSTIE_TEST_LISTEN, for the lwIP tests
# that run the servers inside one).
LISTEN=${POSTIE_TEST_LISTEN:-127.0.0.1}
[ -x "$PY" ] || PY=python3

die() {
    echo "$prog: $*" >&2
    exit 1
}

usage() {
    echo "usage: $prog start|stop DIR" >&2
    exit 2
}

# live_in_dir PID: PID exists, is not a zombie, and its working directory is
# under DIR. Both masters and all their children chdir into DIR (queue
# directory, Dovecot base_dir, Maildirs), which tells our processes apart
# from anything that reuses a PID from a stale pid file.
live_in_dir() {
    local state cwd
    [ -n "$1" ] || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2> /dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] || return 1
    cwd=$(readlink "/proc/$1/cwd" 2> /dev/null) || return 1
    case "$cwd/" in "$D"/*) return 0 ;; esac
    return 1
}

postfix_pid() { sed -n '1{s/[^0-9]//g;p;}' "$D/postfix-queue/pid/master.pid" 2> /dev/null || true; }
dovecot_pid() { sed -n '1{s/[^0-9]//g;p;}' "$D/dovecot/run/master.pid" 2> /dev/null || true; }

# session_procs SID: our live processes in session SID. Both masters
# daemonize with setsid(), so the session ID is the master's PID and every
# child stays in it (the kernel does not reuse a PID still used as a SID).
session_procs() {
    local p
    for p in $(pgrep -s "$1" 2> /dev/null); do
        live_in_dir "$p" && echo "$p"
    done
    return 0
}

# stop_master PID NAME: SIGTERM the master (it stops its children); once it
# has exited (at the latest after 2 s) SIGTERM any child left over (Dovecot's
# master exits after ~1 s leaving anvil/auth/log/stats running: they keep
# each other busy), after 5 s SIGKILL. Zombies count as gone:
# PID 1 of a container may reap orphans late.
stop_master() {
    local pid=$1 name=$2 i procs termed=
    [ -n "$pid" ] || return 0
    [ -n "$(session_procs "$pid")" ] || return 0
    if live_in_dir "$pid" && [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = "$name" ]; then
        kill -TERM "$pid" 2> /dev/null || true
    fi
    for ((i = 1; i <= 70; i++)); do
        procs=$(session_procs "$pid")
        [ -n "$procs" ] || return 0
        if [ -z "$termed" ] && { [ $i -ge 20 ] || ! live_in_dir "$pid"; }; then
            termed=1
            # shellcheck disable=SC2086
            kill -TERM $procs 2> /dev/null || true
        elif [ $i -eq 50 ]; then
            # shellcheck disable=SC2086
            echo "$prog: $name (session $pid) did not stop in 5 s, killing:" $procs >&2
            # shellcheck disable=SC2086
            kill -KILL $procs 2> /dev/null || true
        fi
        sleep 0.1
    done
    echo "$prog: $name session $pid still has processes: $(session_procs "$pid" | tr '\n' ' ')" >&2
    return 1
}

cmd_stop() {
    local rc=0 ppid dpid
    [ -d "$D" ] || return 0
    ppid=$(postfix_pid)
    dpid=$(dovecot_pid)
    # Postfix first: its smtpd processes talk to Dovecot's auth socket.
    stop_master "$ppid" master || rc=1
    stop_master "$dpid" dovecot || rc=1
    rm -f "$D/env"
    return $rc
}

# show_logs: for each log, its warnings/errors first (the root cause is
# often early, then drowned by repeats), then its last lines.
show_logs() {
    local f
    for f in "$D/dovecot-start.log" "$D/postfix-start.log" "$D/dovecot/dovecot.log" "$D/maillog"; do
        [ -s "$f" ] || continue
        echo "----- $f: warnings and errors (first 20) -----" >&2
        grep -i -E 'warn|err|fatal|panic' "$f" | awk '!seen[$0]++' | head -n 20 >&2 || true
        echo "----- $f: last 20 lines -----" >&2
        tail -n 20 "$f" >&2
    done
}

# pick_ports N: print N distinct TCP ports that are free on 127.0.0.1 now.
# They come from below the kernel's ephemeral range (so outgoing connections
# of other programs do not grab them meanwhile), in random order; each is
# checked by binding it, all held until the set is complete.
pick_ports() {
    "$PY" - "$1" "$LISTEN" << 'PY'
import random, socket, sys
n = int(sys.argv[1])
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except Exception:
    low = 32768
hi = low if low > 12000 else 65535
cand = list(range(10000, hi))
if hi == 65535:
    cand = list(range(low + 1000, 65535))
random.shuffle(cand)
held = []
for port in cand:
    s = socket.socket()
    try:
        s.bind((sys.argv[2], port))
    except OSError:
        s.close()
        continue
    held.append(s)
    if len(held) == n:
        break
if len(held) < n:
    sys.exit("no free ports")
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
}

write_postfix_config() {
    local pf=$D/postfix
    mkdir -p "$pf" "$D/postfix-queue" "$D/postfix-data"
    chmod 0755 "$pf" "$D/postfix-queue"
    # data_directory must belong to mail_owner (tlsmgr PRNG file, locks).
    chown postfix: "$D/postfix-data"
    chmod 0700 "$D/postfix-data"

    # Recipients: "address  path/" (trailing slash = Maildir), relative to
    # virtual_mailbox_base. texthash needs no postmap step.
    : > "$pf/vmailbox"
    local u
    for u in "${USERS[@]}"; do
        echo "$u@$DOMAIN $u/" >> "$pf/vmailbox"
    done

    cat > "$pf/main.cf" << EOF
# Private Postfix instance written by tests/integration/mailserver.sh.
# Avoid backwards-compatibility warnings and legacy defaults.
compatibility_level = 3.6
# Private locations: nothing shared with a system instance.
queue_directory = $D/postfix-queue
data_directory = $D/postfix-data
# Packaged users/groups (created by the Debian postfix package).
mail_owner = postfix
setgid_group = postdrop
# Log to a file through postlogd (Postfix >= 3.4); the prefix whitelist must
# allow a path outside /var.
maillog_file = $D/maillog
maillog_file_prefixes = $D
syslog_name = postfix-postie
# Identity. No local domains: mail is virtual (example.test) or relayed.
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
append_dot_mydomain = no
biff = no
# Listen on IPv4 loopback only (master.cf also names 127.0.0.1 explicitly).
inet_interfaces = $LISTEN
inet_protocols = ipv4
# Loopback is "mynetworks" only so that anvil's rate limits exempt the tests;
# relaying is NOT granted by it (see smtpd_relay_restrictions).
mynetworks = 127.0.0.0/8
# Relay only for SASL-authenticated clients, otherwise 554 (reject, not the
# default 454 defer).
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
# Anything that is relayed is discarded: never send mail off this machine.
default_transport = discard:postie-test-relay
relay_transport = discard:postie-test-relay
# Virtual mailboxes: DIR/mail/<user>/ Maildirs owned by the mail user.
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $D/mail
virtual_mailbox_maps = texthash:$pf/vmailbox
virtual_uid_maps = static:$MAIL_UID
virtual_gid_maps = static:$MAIL_GID
virtual_minimum_uid = 1
# Unknown example.test recipients: 550 5.1.1 at RCPT time (both are the
# defaults, spelled out because the tests rely on them).
smtpd_reject_unlisted_recipient = yes
unknown_virtual_mailbox_reject_code = 550
# Advertised as SIZE 10240000; the virtual mailbox limit must not be lower.
message_size_limit = 10240000
virtual_mailbox_limit = 0
# ESMTP extensions the client tests exercise (defaults, made explicit).
smtputf8_enable = yes
smtpd_discard_ehlo_keywords =
# Errors must not slow the tests down or end sessions early.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
smtpd_banner = \$myhostname ESMTP Postie test server
# TLS: the good certificate; STARTTLS offered but optional on the main port.
smtpd_tls_cert_file = $D/certs/good.pem
smtpd_tls_key_file = $D/certs/good.key
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
# SASL through Dovecot's auth socket; AUTH is offered only under TLS.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $D/dovecot/run/auth-postfix
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_tls_auth_only = yes
# No bounce-of-bounce or delay warnings cluttering the Maildirs.
delay_warning_time = 0
EOF
    if [ -n "${POSTIE_TEST_POSTFIX_MAIN_CF:-}" ]; then
        printf '# From POSTIE_TEST_POSTFIX_MAIN_CF:\n%s\n' "$POSTIE_TEST_POSTFIX_MAIN_CF" >> "$pf/main.cf"
    fi

    # Options of the implicit-TLS (wrapper mode) listeners.
    local tls_opts="-o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt"
    cat > "$pf/master.cf" << EOF
# Private Postfix services written by tests/integration/mailserver.sh.
# No chroot anywhere (column 5 = n): paths under DIR are used as-is.
# service                type  private unpriv chroot wakeup maxproc command
# Main port: plain SMTP, STARTTLS optional, AUTH after STARTTLS.
$LISTEN:$P_SMTP        inet  n       -      n      -      -       smtpd
# Submission-like port: STARTTLS mandatory before MAIL FROM / AUTH.
$LISTEN:$P_SUBMISSION  inet  n       -      n      -      -       smtpd
  -o syslog_name=postfix-postie/submission -o smtpd_tls_security_level=encrypt
# Implicit TLS (SMTPS) with the good certificate; AUTH offered.
$LISTEN:$P_SMTPS       inet  n       -      n      -      -       smtpd
  -o syslog_name=postfix-postie/smtps $tls_opts
# Implicit TLS with certificates a verifying client must refuse.
$LISTEN:$P_SELFSIGNED  inet  n       -      n      -      -       smtpd
  -o syslog_name=postfix-postie/selfsigned $tls_opts
  -o smtpd_tls_cert_file=$D/certs/selfsigned.pem -o smtpd_tls_key_file=$D/certs/selfsigned.key
$LISTEN:$P_WRONGHOST   inet  n       -      n      -      -       smtpd
  -o syslog_name=postfix-postie/wronghost $tls_opts
  -o smtpd_tls_cert_file=$D/certs/wronghost.pem -o smtpd_tls_key_file=$D/certs/wronghost.key
$LISTEN:$P_EXPIRED     inet  n       -      n      -      -       smtpd
  -o syslog_name=postfix-postie/expired $tls_opts
  -o smtpd_tls_cert_file=$D/certs/expired.pem -o smtpd_tls_key_file=$D/certs/expired.key
# Internal services (the usual set, minus local(8), lmtp and postscreen).
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
# Writes maillog_file.
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    # Postfix re-reads a table or main.cf until it is at least a second
    # old (it might still be being written): backdate them instead of
    # paying that wait (~1.5 s) in every process that starts.
    touch -d "@$(($(date +%s) - 10))" "$pf/main.cf" "$pf/master.cf" "$pf/vmailbox"
}

write_dovecot_config() {
    local dv=$D/dovecot u
    mkdir -p "$dv/run" "$dv/state"
    chown -R "$MAIL_UID:$MAIL_GID" "$dv"
    chmod 0755 "$dv"

    # passwd-file: user:password:uid:gid:gecos:home (passdb and userdb).
    : > "$dv/users"
    for u in "${USERS[@]}"; do
        echo "$u@$DOMAIN:{PLAIN}$PASSWORD:$MAIL_UID:$MAIL_GID::$D/mail/$u::" >> "$dv/users"
    done
    chmod 0644 "$dv/users"

    cat > "$D/dovecot.conf" << EOF
# Private Dovecot ($DOVECOT_VERSION) written by tests/integration/mailserver.sh.
# Setting names are those of Dovecot 2.3 (2.4 renamed many of them).
# Runs unprivileged as the mail user: every internal and login process
# uses that user too, and login processes cannot chroot.
default_internal_user = $MAIL_USER
default_internal_group = $MAIL_GROUP
default_login_user = $MAIL_USER
first_valid_uid = 1
first_valid_gid = 1
# Private runtime/state dirs and log; unique instance name for ps/doveadm.
base_dir = $dv/run
state_dir = $dv/state
instance_name = postie-$(basename "$D")
log_path = $dv/dovecot.log
verbose_proctitle = yes
# IPv4 loopback only.
listen = $LISTEN
protocols = imap pop3
# TLS with the good certificate; STARTTLS/STLS offered on the plain ports.
ssl = yes
ssl_cert = <$D/certs/good.pem
ssl_key = <$D/certs/good.key
# No plaintext authentication without TLS (2.3 name of auth_allow_cleartext).
# Caveat: Dovecot counts a connection whose remote IP equals its local IP
# (127.0.0.1 -> 127.0.0.1) as secured, so here LOGIN / USER+PASS before
# STARTTLS still succeed and LOGINDISABLED is not advertised.
disable_plaintext_auth = yes
auth_mechanisms = plain login
# Failed logins answered at once (default delays 2 s).
auth_failure_delay = 0
# Same users and password as Postfix SASL (which uses this auth service).
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dv/users
}
userdb {
  driver = passwd-file
  args = $dv/users
}
# Same Maildirs Postfix delivers into: DIR/mail/<local part>.
mail_location = maildir:$D/mail/%n
# Tests may open many connections per user from 127.0.0.1.
protocol imap {
  mail_max_userip_connections = 100
}
protocol pop3 {
  mail_max_userip_connections = 100
}
# Services that chroot by default cannot do so unprivileged.
service anvil {
  chroot =
  # Disable the auth penalty (failed logins from an IP delayed 2..15 s, also
  # for Postfix SASL): tests fail logins on purpose. Dovecot's documented
  # way is an unusable socket; auth logs one harmless "Error:
  # net_connect_unix(anvil-auth-penalty) failed" at startup.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service ipc {
  chroot =
}
service old-stats {
  chroot =
}
service aggregator {
  chroot =
}
service imap-urlauth-login {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = $LISTEN
    port = $P_IMAP
  }
  inet_listener imaps {
    address = $LISTEN
    port = $P_IMAPS
    ssl = yes
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = $LISTEN
    port = $P_POP3
  }
  inet_listener pop3s {
    address = $LISTEN
    port = $P_POP3S
    ssl = yes
  }
}
service auth {
  # Postfix smtpd (user postfix) connects here for SASL; the directory is
  # private to the test, so a world-accessible socket is fine.
  unix_listener auth-postfix {
    mode = 0666
  }
}
EOF
}

# wait_ready: every port answers with its greeting (TLS ports after a
# handshake; the good ones are also verified against the CA) within 15 s.
wait_ready() {
    "$PY" - "$LISTEN" "$D/certs/ca.pem" \
        "smtp:$P_SMTP" "smtp:$P_SUBMISSION" "smtp+tls:$P_SMTPS" \
        "smtp+tlsbad:$P_SELFSIGNED" "smtp+tlsbad:$P_WRONGHOST" "smtp+tlsbad:$P_EXPIRED" \
        "imap:$P_IMAP" "imap+tls:$P_IMAPS" "pop3:$P_POP3" "pop3+tls:$P_POP3S" << 'PY'
import socket, ssl, sys, time
listen = sys.argv[1]
ca = sys.argv[2]
greet = {"smtp": b"220 ", "imap": b"* OK", "pop3": b"+OK"}
good = ssl.create_default_context(cafile=ca)
bad = ssl.create_default_context()
bad.check_hostname = False
bad.verify_mode = ssl.CERT_NONE
pending = list(sys.argv[3:])
deadline = time.monotonic() + 15
last = {}
while pending and time.monotonic() < deadline:
    for item in list(pending):
        kind, port = item.split(":")
        proto, _, tls = kind.partition("+")
        try:
            s = socket.create_connection((listen, int(port)), timeout=2)
            if tls:
                ctx = good if tls == "tls" else bad
                s = ctx.wrap_socket(s, server_hostname="localhost")
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    break
                data += chunk
            s.close()
            if data.startswith(greet[proto]):
                pending.remove(item)
            else:
                last[item] = "greeting %r" % data[:80]
        except (OSError, ssl.SSLError) as e:
            last[item] = str(e)
    if pending:
        time.sleep(0.1)
for item in pending:
    print("%s not ready: %s" % (item, last.get(item, "?")), file=sys.stderr)
sys.exit(1 if pending else 0)
PY
}

# start_once: one attempt with freshly picked ports. Returns 0 when all is
# up, 1 on failure (logs shown), 3 when a port was taken meanwhile (retry).
start_once() {
    local ports lock=${TMPDIR:-/tmp}/postie-mailserver.lock rc=0
    # Serialize port choice and binding among concurrent starts on this host
    # (the lock is held only until both masters have bound their ports).
    exec 9> "$lock"
    flock -w 30 9 || die "could not lock $lock"
    ports=$(pick_ports 10) || die "could not find free ports"
    read -r P_SMTP P_SUBMISSION P_SMTPS P_SELFSIGNED P_WRONGHOST P_EXPIRED \
        P_IMAP P_IMAPS P_POP3 P_POP3S <<< "$ports"

    write_postfix_config
    write_dovecot_config
    : > "$D/maillog"
    : > "$D/dovecot/dovecot.log"
    chown "$MAIL_UID:$MAIL_GID" "$D/dovecot/dovecot.log"

    # Dovecot, fully unprivileged: drop to the mail user before exec.
    # It daemonizes after binding its listeners; master.pid in base_dir.
    if ! setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --clear-groups \
        dovecot -c "$D/dovecot.conf" > "$D/dovecot-start.log" 2>&1; then
        rc=1
    fi
    # Postfix: `postfix start` creates missing queue directories with the
    # right owners, runs its integrity checks and waits (master -w) until
    # the master has bound its listeners and initialized.
    if [ $rc -eq 0 ] && ! /usr/sbin/postfix -c "$D/postfix" start > "$D/postfix-start.log" 2>&1; then
        rc=1
    fi
    flock -u 9
    exec 9>&-

    if [ $rc -eq 0 ] && ! wait_ready 2> "$D/ready.log"; then
        rc=1
    fi
    if [ $rc -ne 0 ]; then
        if cat "$D/dovecot-start.log" "$D/postfix-start.log" "$D/maillog" \
            "$D/dovecot/dovecot.log" 2> /dev/null | grep -q 'in use'; then
            cmd_stop > /dev/null 2>&1 || true
            return 3
        fi
        echo "$prog: start failed in $D" >&2
        cat "$D/ready.log" >&2 2> /dev/null || true
        show_logs
        cmd_stop || true
        return 1
    fi
    return 0
}

cmd_start() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (the Postfix master requires it)"
    case "$D" in
        *[[:space:]]* | *[\\\"\'\$\`]*) die "DIR must not contain spaces or shell metacharacters: $D" ;;
    esac
    # Dovecot's UNIX socket paths (base_dir/...) must fit in sun_path.
    [ ${#D} -le 70 ] || die "DIR path too long for UNIX sockets (max 70 chars): $D"
    local b
    for b in "$POSTFIX_DAEMONS/master" /usr/sbin/postfix dovecot setpriv flock "$PY"; do
        command -v "$b" > /dev/null || die "$b not found (run .ci/install-deps.sh)"
    done
    if [ -n "$(session_procs "$(postfix_pid)")" ] || [ -n "$(session_procs "$(dovecot_pid)")" ]; then
        die "already running in $D (stop it first)"
    fi

    # Mail user: owns the Maildirs and runs Dovecot.
    MAIL_USER=${POSTIE_TEST_MAIL_USER:-}
    if [ -z "$MAIL_USER" ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
        MAIL_USER=$SUDO_USER
    fi
    MAIL_USER=${MAIL_USER:-nobody}
    MAIL_UID=$(id -u "$MAIL_USER") || die "no such user: $MAIL_USER"
    MAIL_GID=$(id -g "$MAIL_USER")
    MAIL_GROUP=$(getent group "$MAIL_GID" | cut -d: -f1)
    [ "$MAIL_UID" -ne 0 ] || die "the mail user must not be root"
    DOVECOT_VERSION=$(dovecot --version)
    case "$DOVECOT_VERSION" in
        2.3.*) ;;
        *) die "config written for Dovecot 2.3, found $DOVECOT_VERSION" ;;
    esac

    chmod 0755 "$D"
    rm -f "$D/env"
    [ -f "$D/certs/expired.pem" ] || bash "$here/certs.sh" "$D/certs" ||
        die "certs.sh failed"
    # Every parent of DIR must be traversable by postfix and the mail user.
    setpriv --reuid=postfix --regid=postfix --clear-groups test -r "$D/certs/good.key" ||
        die "user postfix cannot read $D/certs/good.key (a parent of $D not traversable?)"
    setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --clear-groups test -r "$D/certs/good.key" ||
        die "user $MAIL_USER cannot read $D/certs/good.key (a parent of $D not traversable?)"

    # Maildirs made up front so tests can watch new/ before the first mail.
    local u
    for u in "${USERS[@]}"; do
        mkdir -p "$D/mail/$u/new" "$D/mail/$u/cur" "$D/mail/$u/tmp"
    done
    chown -R "$MAIL_UID:$MAIL_GID" "$D/mail"
    chmod 0755 "$D/mail"

    # If start is interrupted (signal, failure), stop whatever is running.
    trap 'cmd_stop > /dev/null 2>&1 || true' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
    local attempt rc
    for attempt in 1 2 3; do
        rc=0
        start_once || rc=$?
        [ $rc -eq 3 ] || break
        echo "$prog: a port was taken meanwhile, retrying ($attempt)" >&2
    done
    [ $rc -eq 0 ] || exit 1

    cat > "$D/env.tmp" << EOF
export POSTIE_TEST_HOST=$LISTEN
export POSTIE_TEST_SMTP_PORT=$P_SMTP
export POSTIE_TEST_SUBMISSION_PORT=$P_SUBMISSION
export POSTIE_TEST_SMTPS_PORT=$P_SMTPS
export POSTIE_TEST_SELFSIGNED_PORT=$P_SELFSIGNED
export POSTIE_TEST_WRONGHOST_PORT=$P_WRONGHOST
export POSTIE_TEST_EXPIRED_PORT=$P_EXPIRED
export POSTIE_TEST_IMAP_PORT=$P_IMAP
export POSTIE_TEST_IMAPS_PORT=$P_IMAPS
export POSTIE_TEST_POP3_PORT=$P_POP3
export POSTIE_TEST_POP3S_PORT=$P_POP3S
export POSTIE_TEST_CA=$D/certs/ca.pem
export POSTIE_TEST_USER=alice@$DOMAIN
export POSTIE_TEST_PASSWORD=$PASSWORD
export POSTIE_TEST_MAILDIR_ROOT=$D/mail
export POSTIE_TEST_POSTFIX_PID=$(postfix_pid)
export POSTIE_TEST_DOVECOT_PID=$(dovecot_pid)
EOF
    mv "$D/env.tmp" "$D/env"
    trap - EXIT HUP INT PIPE TERM
}

[ $# -eq 2 ] || usage
case "$1" in
    start) mkdir -p "$2" ;;
    stop) [ -d "$2" ] || exit 0 ;;
esac
D=$(cd "$2" && pwd -P)
case "$1" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    *) usage ;;
esac
