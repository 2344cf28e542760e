#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job end to end on this machine, no outside server needed:
#
#   1. install the Debian packages and build Postie (build/)
#   2. start a private Postfix + Dovecot on 127.0.0.1 with a test CA
#      (tests/integration/mailserver.sh)
#   3. an appliance notification goes out with `postie send` over STARTTLS
#      with AUTH PLAIN, certificate verified against the test CA, to two
#      users and one unknown address (refused, reported per recipient)
#   4. the same over implicit TLS (SMTPS)
#   5. a named session from a JSON registry (JNDI name, JavaMail keys):
#      session show, test-connection, and a send in a user's name with a
#      Japanese subject and an attachment
#   6. show that message as it landed in bob's Maildir
#   7. the outgoing queue: a notification for a relay that is down stays
#      queued (durably, in a spool directory); once the session points at
#      a working server, `postie queue flush` delivers it
#   8. the mail comes back: two accounts added with `postie account add`
#      (bob over IMAPS, carol over POP3 with STLS), tested with `postie
#      account test`, archived with `postie fetch` into Maildirs of their
#      own; the archived copies are the messages sent above, and the
#      server's copies are gone; then stop the servers
#
# Usage: boards/host-posix/demo.sh   (needs root for the Postfix master)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/.ci/install-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$root/build" -j "$(nproc)" --target postie > /dev/null
postie="$root/build/postie"

work=$(mktemp -d "${TMPDIR:-/tmp}/postie-demo.XXXXXX")
chmod 755 "$work"
cleanup() {
    "$root/tests/integration/mailserver.sh" stop "$work" > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== starting Postfix and Dovecot on 127.0.0.1 (private, under $work)"
"$root/tests/integration/mailserver.sh" start "$work"
# shellcheck disable=SC1091
. "$work/env"

cat > "$work/message.txt" <<MSG
From: NAS-01 (Appliance) <alice@example.test>
To: Bob <bob@example.test>
Subject: [NAS-01] Disk 3 SMART warning
Date: $(date -R)
Message-ID: <demo-$$-$(date +%s)@nas-01.example.test>

Disk 3 (serial WD-1234) reports 8 reallocated sectors.
.This line starts with a dot and reaches the mailbox unchanged.
Volume /data stays online.
MSG

export DEMO_PASSWORD="$POSTIE_TEST_PASSWORD"
echo
echo "== postie send over STARTTLS + AUTH (port $POSTIE_TEST_SMTP_PORT), dialogue shown, password masked"
rc=0
"$postie" send --host localhost --connect-to 127.0.0.1 --port "$POSTIE_TEST_SMTP_PORT" \
    --tls starttls --ca-file "$POSTIE_TEST_CA" --user "$POSTIE_TEST_USER" \
    --password-env DEMO_PASSWORD --from alice@example.test \
    --to bob@example.test --to carol@example.test --to nobody@example.test \
    --message "$work/message.txt" --verbose || rc=$?
echo "-> exit $rc (1 = delivered to some recipients, refused for others)"
[ "$rc" -eq 1 ] || { echo "demo: unexpected exit status $rc" >&2; exit 1; }

echo
echo "== postie send over implicit TLS (SMTPS, port $POSTIE_TEST_SMTPS_PORT)"
"$postie" send --host localhost --connect-to 127.0.0.1 --port "$POSTIE_TEST_SMTPS_PORT" \
    --tls implicit --ca-file "$POSTIE_TEST_CA" --user "$POSTIE_TEST_USER" \
    --password-env DEMO_PASSWORD --from alice@example.test --to bob@example.test \
    --message "$work/message.txt"
echo "-> exit 0: every recipient accepted"

echo
echo "== a named session from a registry: java:comp/env/mail/Notify"
cat > "$work/registry.json" << REG
{
  "product": "NAS-01",
  "sessions": {
    "java:comp/env/mail/Base": {
      "description": "the local Postfix: STARTTLS + login, password from the environment",
      "mail.smtp.host": "localhost",
      "mail.smtp.port": "$POSTIE_TEST_SMTP_PORT",
      "mail.smtp.auth": "true",
      "mail.smtp.starttls.required": "true",
      "mail.user": "$POSTIE_TEST_USER",
      "password": {"env": "DEMO_PASSWORD"},
      "ca_file": "$POSTIE_TEST_CA",
      "mail.from": "alice@example.test"
    },
    "java:comp/env/mail/Notify": {
      "description": "notifications in the acting user's name",
      "jndi": "java:comp/env/mail/Base",
      "from": "alice@example.test",
      "from_name": "\${fullname} (NAS-01)",
      "subject_prefix": "[NAS-01] "
    }
  }
}
REG
chmod 600 "$work/registry.json"
export POSTIE_REGISTRY="$work/registry.json"
"$postie" session show java:comp/env/mail/Notify
echo
"$postie" test-connection java:comp/env/mail/Notify
printf 'ディスク 3 で再割り当てセクタが 8 個見つかりました。\nボリューム /data は稼働中です。\n' > "$work/alert.txt"
printf 'smart: 5 Reallocated_Sector_Ct 8\n' > "$work/smart.log"
echo
echo "== postie send --session mail/Notify as 山田 太郎, Japanese subject, an attachment"
"$postie" send --session mail/Notify --as-user "山田 太郎" --as-email yamada@example.test \
    --to bob@example.test --subject "ディスク 3 の SMART 警告" --body-file "$work/alert.txt" \
    --attach "$work/smart.log"

echo
echo "== bob's Maildir ($POSTIE_TEST_MAILDIR_ROOT/bob/new)"
for ((i = 0; i < 100; i++)); do
    count=$(find "$POSTIE_TEST_MAILDIR_ROOT/bob/new" -type f 2> /dev/null | wc -l)
    [ "$count" -ge 3 ] && break
    sleep 0.1
done
[ "${count:-0}" -ge 3 ] || { echo "demo: the messages did not arrive" >&2; exit 1; }
newest=$(ls -t "$POSTIE_TEST_MAILDIR_ROOT/bob/new"/* | head -n 1)
echo "$count messages; the one sent through the session, as delivered:"
sed 's/^/    /' "$newest"
echo
echo "== the same message read back by Python's email package"
/usr/bin/python3 - "$newest" << 'PY'
import email, email.policy, sys
from email.header import decode_header, make_header
raw = open(sys.argv[1], "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
print("    Subject:   ", m["subject"])
print("    From:      ", make_header(decode_header(m.get("From"))))
print("    Body:      ", m.get_body(preferencelist=("plain",)).get_content().strip().replace("\n", " / "))
for a in m.iter_attachments():
    print("    Attachment:", a.get_filename(), len(a.get_payload(decode=True)), "octets")
PY
echo
echo "== the outgoing queue: session mail/Relay points at a relay that is down"
export POSTIE_SPOOL="$work/spool"
relay_session() { # relay_session PORT: (re)write the registry's mail/Relay
    /usr/bin/python3 - "$POSTIE_REGISTRY" "$1" << 'PY'
import json, sys
path, port = sys.argv[1], int(sys.argv[2])
reg = json.load(open(path))
base = reg["sessions"]["java:comp/env/mail/Base"]
reg["sessions"]["mail/Relay"] = {
    "host": "localhost", "port": port, "username": base["mail.user"],
    "password": base["password"], "ca_file": base["ca_file"],
    "from": "alice@example.test", "connect_timeout": 3}
json.dump(reg, open(path, "w"), indent=2)
PY
}
relay_session 1
set +e
"$postie" send --queue --session mail/Relay --to bob@example.test \
    --subject "UPS on battery (queued while the relay was down)" --body-file "$work/alert.txt"
rc=$?
set -e
echo "-> exit $rc (4 = queued for a retry)"
[ "$rc" -eq 4 ] || { echo "demo: unexpected exit status $rc" >&2; exit 1; }
"$postie" queue list
echo
echo "== the admin points mail/Relay at the working server; postie queue flush"
relay_session "$POSTIE_TEST_SMTP_PORT"
"$postie" queue flush
"$postie" queue list
for ((i = 0; i < 100; i++)); do
    grep -lq "UPS on battery" "$POSTIE_TEST_MAILDIR_ROOT/bob/new"/* 2> /dev/null && break
    sleep 0.1
done
grep -lq "UPS on battery" "$POSTIE_TEST_MAILDIR_ROOT/bob/new"/* ||
    { echo "demo: the queued message did not arrive" >&2; exit 1; }
echo "-> the queued notification is in bob's Maildir"

echo
echo "== fetching it back: two mail accounts in the same registry"
archive="$work/archive"
"$postie" account add Bob --protocol imaps --host localhost --port "$POSTIE_TEST_IMAPS_PORT" \
    --user bob@example.test --password-env DEMO_PASSWORD --ca-file "$POSTIE_TEST_CA" \
    --maildir "$archive/bob" --description "bob's mailbox over IMAPS"
"$postie" account add Carol --protocol pop3 --host localhost --port "$POSTIE_TEST_POP3_PORT" \
    --tls starttls --user carol@example.test --password-env DEMO_PASSWORD \
    --ca-file "$POSTIE_TEST_CA" --maildir "$archive/carol" \
    --description "carol's mailbox over POP3 with STLS"
"$postie" accounts
echo
"$postie" account test Bob
echo
"$postie" account test Carol
server_count() { # server_count USER: messages in the user's Maildir on the server
    find "$POSTIE_TEST_MAILDIR_ROOT/$1/new" "$POSTIE_TEST_MAILDIR_ROOT/$1/cur" -type f | wc -l
}
archive_count() { # archive_count DIR
    find "$1/new" "$1/cur" -type f 2> /dev/null | wc -l
}
for who in bob carol; do
    before=$(server_count "$who")
    name=$([ "$who" = bob ] && echo Bob || echo Carol)
    echo
    echo "== postie fetch $name ($before messages on the server)"
    "$postie" fetch "$name"
    after=$(server_count "$who")
    got=$(archive_count "$archive/$who")
    echo "-> $got messages in $archive/$who, $after left on the server"
    [ "$got" -eq "$before" ] && [ "$after" -eq 0 ] ||
        { echo "demo: fetching $name archived $got of $before, $after left" >&2; exit 1; }
    grep -h '^Subject:' "$archive/$who"/new/* | sed 's/^/    /'
done
grep -lq "Disk 3 SMART warning" "$archive/carol"/new/* ||
    { echo "demo: the message sent to carol is not in her archive" >&2; exit 1; }
grep -lq "UPS on battery" "$archive/bob"/new/* ||
    { echo "demo: the queued message is not in bob's archive" >&2; exit 1; }
echo "-> the notifications sent above are archived; the server's copies are gone"
echo "   (a second 'postie fetch' archives nothing: the state file is in each Maildir)"
"$postie" fetch Bob

echo
echo "== demo finished; stopping the servers"
