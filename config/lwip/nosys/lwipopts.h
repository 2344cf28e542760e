/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The smallest lwIP configuration Postie runs on: bare metal (NO_SYS=1),
 * raw TCP API only, IPv4 over Ethernet, DNS for server names. lwIP 2.1 and
 * 2.2. Every option is under #ifndef so a board overrides it (-D, or a
 * lwipopts.h of its own that defines options and then includes this one).
 *
 * What Postie needs from lwIP here: one TCP pcb per connection (SMTP, plus
 * POP3 or IMAP when fetching), a send buffer and a receive window of a few
 * segments (Postie's engines take bytes as they come and write each flight
 * whole), and one UDP pcb for DNS. The rest is lwIP's defaults turned off.
 *
 * RAM: see the README's porting guide (measured on the Cortex-M4 build),
 * plus mbedTLS when TLS is used.
 */
#ifndef POSTIE_LWIPOPTS_NOSYS_H
#define POSTIE_LWIPOPTS_NOSYS_H

/* ---- no operating system: the main loop calls lwIP and its timers */
#ifndef POSTIE_LWIPOPTS_RTOS_INCLUDING /* config/lwip/rtos/lwipopts.h sets these */
#define NO_SYS 1
#ifndef SYS_LIGHTWEIGHT_PROT
#define SYS_LIGHTWEIGHT_PROT 0 /* single context: no interrupt-level lwIP calls */
#endif
#define LWIP_SOCKET  0
#define LWIP_NETCONN 0
#endif

/* ---- memory */
#ifndef MEM_ALIGNMENT
#define MEM_ALIGNMENT 4 /* a 32-bit MCU; a 64-bit host needs 8 (boards/host-lwip) */
#endif
#ifndef MEM_SIZE
/* the heap: tcp_write copies what Postie sends into PBUF_RAM taken from
 * here, up to TCP_SND_BUF plus a header per segment; and ARP's queue */
#define MEM_SIZE (TCP_SND_BUF + 2 * TCP_MSS + 1024)
#endif
#ifndef MEMP_NUM_PBUF
#define MEMP_NUM_PBUF 4
#endif
#ifndef MEMP_NUM_TCP_PCB
#define MEMP_NUM_TCP_PCB 3 /* SMTP + a fetch connection + one in TIME_WAIT */
#endif
#ifndef MEMP_NUM_TCP_PCB_LISTEN
#define MEMP_NUM_TCP_PCB_LISTEN 1
#endif
#ifndef MEMP_NUM_UDP_PCB
#define MEMP_NUM_UDP_PCB 1 /* DNS */
#endif
#ifndef MEMP_NUM_SYS_TIMEOUT
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 1)
#endif
#ifndef PBUF_POOL_SIZE
#define PBUF_POOL_SIZE 8
#endif

/* ---- protocols */
#define LWIP_IPV4 1
#ifndef LWIP_IPV6
#define LWIP_IPV6 0
#endif
#define LWIP_ARP      1
#define LWIP_ETHERNET 1
#define LWIP_TCP      1
#define LWIP_UDP      1
#ifndef LWIP_DNS
#define LWIP_DNS 1
#endif
#ifndef LWIP_DHCP
#define LWIP_DHCP 0 /* a board with DHCP turns it on */
#endif
#ifndef LWIP_ICMP
#define LWIP_ICMP 1
#endif
#ifndef IP_REASSEMBLY
#define IP_REASSEMBLY 0 /* TCP segments fit the MTU: no fragments to put together */
#endif
#ifndef IP_FRAG
#define IP_FRAG 0
#endif
#ifndef DNS_TABLE_SIZE
#define DNS_TABLE_SIZE 2 /* names resolved at a time (and cached) */
#endif
#define LWIP_RAW   0
#define LWIP_IGMP  0
#define LWIP_ALTCP 0 /* Postie layers TLS itself (see the README) */

/* ---- TCP: a few segments each way */
#ifndef TCP_MSS
#define TCP_MSS 1460
#endif
#ifndef TCP_WND
#define TCP_WND (4 * TCP_MSS)
#endif
#ifndef TCP_SND_BUF
#define TCP_SND_BUF (4 * TCP_MSS)
#endif
#ifndef TCP_SND_QUEUELEN
#define TCP_SND_QUEUELEN ((4 * (TCP_SND_BUF) + (TCP_MSS - 1)) / (TCP_MSS))
#endif
#ifndef MEMP_NUM_TCP_SEG
#define MEMP_NUM_TCP_SEG TCP_SND_QUEUELEN
#endif
#ifndef LWIP_TCP_KEEPALIVE
#define LWIP_TCP_KEEPALIVE 0
#endif

/* ---- what lwIP leaves on otherwise */
#ifndef LWIP_NETIF_HOSTNAME
#define LWIP_NETIF_HOSTNAME 0
#endif
#ifndef LWIP_STATS
#define LWIP_STATS 0 /* the host-lwip tests turn it on to check for leaks */
#endif

#endif /* POSTIE_LWIPOPTS_NOSYS_H */
