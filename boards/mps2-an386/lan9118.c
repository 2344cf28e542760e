/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The LAN9118 netif driver: see lan9118.h. Register offsets and bits are
 * those of SMSC's LAN9118 datasheet (system control and status registers,
 * MAC control and status registers reached through MAC_CSR_CMD/DATA).
 */
#include "lan9118.h"

#include <string.h>

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#define REG(off) (*(volatile uint32_t *)(LAN9118_BASE + (off)))

/* system control and status registers */
#define RX_DATA_FIFO   0x00u
#define TX_DATA_FIFO   0x20u
#define RX_STATUS_FIFO 0x40u
#define TX_STATUS_FIFO 0x48u
#define ID_REV         0x50u
#define INT_EN         0x5Cu
#define BYTE_TEST      0x64u
#define RX_CFG         0x6Cu
#define TX_CFG         0x70u
#define HW_CFG         0x74u
#define RX_FIFO_INF    0x7Cu
#define TX_FIFO_INF    0x80u
#define MAC_CSR_CMD    0xA4u
#define MAC_CSR_DATA   0xA8u

#define BYTE_TEST_VALUE 0x87654321u
#define HW_CFG_SRST     0x00000001u
#define TX_CFG_TX_ON    0x00000002u
#define MAC_CSR_BUSY    0x80000000u
#define MAC_CSR_READ    0x40000000u

/* MAC control and status registers */
#define MAC_CR      1u
#define MAC_ADDRH   2u
#define MAC_ADDRL   3u
#define MAC_CR_FDPX 0x00100000u
#define MAC_CR_TXEN 0x00000008u
#define MAC_CR_RXEN 0x00000004u

/* TX command words */
#define TX_CMD_A_FIRST 0x00002000u
#define TX_CMD_A_LAST  0x00001000u

/* RX status word */
#define RX_STS_LEN(s) (((s) >> 16) & 0x3FFFu)
#define RX_STS_ERROR  0x00008000u

#define FRAME_MAX 1536u

static uint32_t frame[FRAME_MAX / 4u]; /* word-aligned staging for the FIFOs */
static uint32_t rx_dropped;
static uint16_t tx_tag;

static bool mac_wait(void)
{
    for (unsigned i = 0; i < 100000u; i++) {
        if ((REG(MAC_CSR_CMD) & MAC_CSR_BUSY) == 0) {
            return true;
        }
    }
    return false;
}

static uint32_t mac_read(uint32_t reg)
{
    (void)mac_wait();
    REG(MAC_CSR_CMD) = MAC_CSR_BUSY | MAC_CSR_READ | reg;
    (void)mac_wait();
    return REG(MAC_CSR_DATA);
}

static void mac_write(uint32_t reg, uint32_t value)
{
    (void)mac_wait();
    REG(MAC_CSR_DATA) = value;
    REG(MAC_CSR_CMD) = MAC_CSR_BUSY | reg;
    (void)mac_wait();
}

uint32_t lan9118_id(void)
{
    return REG(ID_REV);
}

uint32_t lan9118_rx_dropped(void)
{
    return rx_dropped;
}

static err_t low_level_output(struct netif *netif, struct pbuf *p)
{
    uint16_t len = p->tot_len;
    uint32_t words;
    (void)netif;
    if (len > FRAME_MAX) {
        return ERR_BUF;
    }
    if (pbuf_copy_partial(p, frame, len, 0) != len) {
        return ERR_BUF;
    }
    words = ((uint32_t)len + 3u) / 4u;
    /* room for the two command words and the frame, in octets */
    for (unsigned i = 0; (REG(TX_FIFO_INF) & 0xFFFFu) < words * 4u + 8u; i++) {
        if (i > 100000u) {
            return ERR_IF;
        }
    }
    tx_tag++;
    REG(TX_DATA_FIFO) = TX_CMD_A_FIRST | TX_CMD_A_LAST | len;
    REG(TX_DATA_FIFO) = ((uint32_t)tx_tag << 16) | len;
    for (uint32_t i = 0; i < words; i++) {
        REG(TX_DATA_FIFO) = frame[i];
    }
    /* the TX status FIFO: one word per frame sent; keep it from filling */
    while (((REG(TX_FIFO_INF) >> 16) & 0xFFu) != 0) {
        (void)REG(TX_STATUS_FIFO);
    }
    return ERR_OK;
}

err_t lan9118_netif_init(struct netif *netif)
{
    uint32_t lo, hi;
    if (REG(BYTE_TEST) != BYTE_TEST_VALUE || (REG(ID_REV) >> 16) != 0x0118u) {
        return ERR_IF;
    }
    REG(HW_CFG) = HW_CFG_SRST;
    for (unsigned i = 0; (REG(HW_CFG) & HW_CFG_SRST) != 0; i++) {
        if (i > 100000u) {
            return ERR_IF;
        }
    }
    REG(INT_EN) = 0;
    lo = mac_read(MAC_ADDRL);
    hi = mac_read(MAC_ADDRH);
    netif->hwaddr_len = ETH_HWADDR_LEN;
    netif->hwaddr[0] = (uint8_t)lo;
    netif->hwaddr[1] = (uint8_t)(lo >> 8);
    netif->hwaddr[2] = (uint8_t)(lo >> 16);
    netif->hwaddr[3] = (uint8_t)(lo >> 24);
    netif->hwaddr[4] = (uint8_t)hi;
    netif->hwaddr[5] = (uint8_t)(hi >> 8);
    netif->mtu = 1500;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->output = etharp_output;
    netif->linkoutput = low_level_output;

    REG(RX_CFG) = 0; /* no offset, no end padding */
    REG(TX_CFG) = TX_CFG_TX_ON;
    /* exact address filter plus broadcast (promiscuous mode off) */
    mac_write(MAC_CR, MAC_CR_FDPX | MAC_CR_TXEN | MAC_CR_RXEN);
    netif_set_link_up(netif);
    return ERR_OK;
}

unsigned lan9118_poll(struct netif *netif)
{
    unsigned frames = 0;
    while (((REG(RX_FIFO_INF) >> 16) & 0xFFu) != 0) {
        uint32_t status = REG(RX_STATUS_FIFO);
        uint32_t len = RX_STS_LEN(status); /* the frame and its CRC */
        uint32_t words = (len + 3u) / 4u;
        bool keep = (status & RX_STS_ERROR) == 0 && len >= 14u + 4u && len <= FRAME_MAX;
        struct pbuf *p = NULL;
        for (uint32_t i = 0; i < words; i++) {
            uint32_t w = REG(RX_DATA_FIFO);
            if (keep) {
                frame[i] = w;
            }
        }
        frames++;
        if (keep) {
            p = pbuf_alloc(PBUF_RAW, (u16_t)(len - 4u), PBUF_POOL);
        }
        if (p == NULL) {
            rx_dropped++;
            continue;
        }
        if (pbuf_take(p, frame, (u16_t)(len - 4u)) != ERR_OK || netif->input(p, netif) != ERR_OK) {
            pbuf_free(p);
            rx_dropped++;
        }
    }
    return frames;
}
