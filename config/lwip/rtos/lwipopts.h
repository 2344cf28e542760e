/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lwIP with an RTOS (NO_SYS=0): the sockets API for Postie's lwIP socket
 * transport (postie/lwip/sock.h), which runs the engines through the shared
 * blocking driver in an application thread. lwIP 2.1 and 2.2. Every option
 * is under #ifndef so a board overrides it.
 *
 * The socket names are lwip_socket(), lwip_connect()...: LWIP_COMPAT_SOCKETS
 * is off so they never clash with a C library's (the host-lwip test links
 * both). Postie needs select() (LWIP_SOCKET_SELECT) for its timeouts and
 * getaddrinfo() for names.
 */
#ifndef POSTIE_LWIPOPTS_RTOS_H
#define POSTIE_LWIPOPTS_RTOS_H

#define NO_SYS       0
#define LWIP_SOCKET  1
#define LWIP_NETCONN 1
#ifndef LWIP_COMPAT_SOCKETS
#define LWIP_COMPAT_SOCKETS 0
#endif
#ifndef LWIP_POSIX_SOCKETS_IO_NAMES
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#endif
#ifndef LWIP_SOCKET_SELECT
#define LWIP_SOCKET_SELECT 1
#endif
#ifndef LWIP_SO_SNDTIMEO
#define LWIP_SO_SNDTIMEO 0 /* Postie waits with select() */
#endif
#ifndef LWIP_TCPIP_CORE_LOCKING
#define LWIP_TCPIP_CORE_LOCKING 1
#endif
#ifndef LWIP_NETCONN_SEM_PER_THREAD
#define LWIP_NETCONN_SEM_PER_THREAD 0
#endif
#ifndef TCPIP_MBOX_SIZE
#define TCPIP_MBOX_SIZE 16
#endif
#ifndef DEFAULT_TCP_RECVMBOX_SIZE
#define DEFAULT_TCP_RECVMBOX_SIZE 16
#endif
#ifndef DEFAULT_ACCEPTMBOX_SIZE
#define DEFAULT_ACCEPTMBOX_SIZE 4
#endif
#ifndef DEFAULT_UDP_RECVMBOX_SIZE
#define DEFAULT_UDP_RECVMBOX_SIZE 4
#endif
#ifndef DEFAULT_THREAD_STACKSIZE
#define DEFAULT_THREAD_STACKSIZE 4096
#endif
#ifndef TCPIP_THREAD_STACKSIZE
#define TCPIP_THREAD_STACKSIZE 4096
#endif
#ifndef MEMP_NUM_NETCONN
#define MEMP_NUM_NETCONN 4
#endif
#ifndef MEMP_NUM_NETBUF
#define MEMP_NUM_NETBUF 4
#endif
#ifndef MEMP_NUM_TCPIP_MSG_INPKT
#define MEMP_NUM_TCPIP_MSG_INPKT 16
#endif

/* The rest as on bare metal (TCP buffers, DNS, pools): that file's NO_SYS
 * and API switches are skipped, this file's win. */
#define POSTIE_LWIPOPTS_RTOS_INCLUDING 1
#include "../nosys/lwipopts.h"
#undef POSTIE_LWIPOPTS_RTOS_INCLUDING

#endif /* POSTIE_LWIPOPTS_RTOS_H */
