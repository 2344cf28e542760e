/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An lwIP netif driver (NO_SYS=1, polled) for the SMSC LAN9118 Ethernet
 * controller as QEMU models it: the mps2-an386 board's Ethernet at
 * 0x40200000 (the real board has a LAN9220, software compatible but for
 * checksum offload, which this driver does not use).
 *
 *   netif_add(&netif, &ip, &mask, &gw, NULL, lan9118_netif_init, ethernet_input);
 *   for (;;) { lan9118_poll(&netif); sys_check_timeouts(); ... }
 *
 * Sending copies the pbuf chain into the TX data FIFO (one frame per
 * call, no padding needed: the MAC pads short frames). Receiving is
 * polled: lan9118_poll() takes every frame waiting in the RX FIFO (status
 * word, then the frame and its 4-octet CRC, which is dropped), copies it
 * into a pbuf from PBUF_POOL and hands it to netif->input. Frames with an
 * error status, shorter than an Ethernet header or longer than 1522 octets
 * are read out and dropped; when the pool is empty the frame is dropped
 * (TCP sends it again). No interrupt is used.
 *
 * The MAC address is the controller's (QEMU's -nic macaddr=, by default
 * 52:54:00:12:34:56). The link is reported up at once (QEMU's PHY has
 * autonegotiation done).
 *
 * RAM: one 1 536-octet frame buffer (static), plus lwIP's pbufs.
 * Thread model: lwIP's core context only.
 */
#ifndef POSTIE_MPS2_LAN9118_H
#define POSTIE_MPS2_LAN9118_H

#include <stdbool.h>
#include <stdint.h>

#include "lwip/err.h"
#include "lwip/netif.h"

#define LAN9118_BASE 0x40200000u

/* netif_add()'s init function: checks the chip (BYTE_TEST, ID_REV), resets
 * it, reads the MAC address, enables the transmitter and receiver.
 * ERR_IF when no LAN9118 answers at LAN9118_BASE. */
err_t lan9118_netif_init(struct netif *netif);

/* Hand every received frame to lwIP; returns how many there were. */
unsigned lan9118_poll(struct netif *netif);

/* The chip's ID_REV register (0x0118xxxx for a LAN9118). */
uint32_t lan9118_id(void);

/* Frames dropped on receive (error status, bad length, no pbuf). */
uint32_t lan9118_rx_dropped(void);

#endif /* POSTIE_MPS2_LAN9118_H */
