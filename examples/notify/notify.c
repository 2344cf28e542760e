/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A host application that sends a notification through the registry's
 * java:comp/env/mail/Notify session with the one-call API
 * (postie/posix/notify.h). Built against an installed Postie, with CMake
 * (find_package) or with pkg-config: see README.md next to this file.
 *
 *   notify [--queue] TO SUBJECT [USER]
 *
 * The registry is $POSTIE_REGISTRY, else /etc/postie/registry.json; with
 * --queue the spool is $POSTIE_SPOOL, else /var/spool/postie.
 */
#include <stdio.h>
#include <string.h>

#include <postie/common/version.h>
#include <postie/posix/notify.h>

int main(int argc, char **argv)
{
    static postie_notifier_t notifier; /* the one object: keep it off the stack */
    static postie_notify_result_t result;
    postie_notification_t m;
    char line[512];
    int arg = 1;

    memset(&m, 0, sizeof(m));
    if (argc > 1 && strcmp(argv[1], "--queue") == 0) {
        m.mode = POSTIE_NOTIFY_QUEUE;
        arg++;
    }
    if (argc - arg < 2) {
        fprintf(stderr, "usage: notify [--queue] TO SUBJECT [USER]\n");
        return 2;
    }
    m.session = "java:comp/env/mail/Notify";
    m.to = (const char *const *)&argv[arg];
    m.to_count = 1;
    m.subject = argv[arg + 1];
    m.user_name = argc - arg > 2 ? argv[arg + 2] : NULL;
    m.text = "Sent by the Postie example application (examples/notify).\n";

    if (postie_notifier_open(&notifier, NULL, &result.error) != POSTIE_OK) {
        fprintf(stderr, "notify: registry: %s: %s\n", result.error.phase, result.error.subject);
        return 1;
    }
    postie_notify(&notifier, &m, &result);
    printf("postie %s: %s\n", postie_version(),
           postie_notify_describe(&result, line, sizeof(line)));
    return result.status == POSTIE_OK ? 0 : 1;
}
