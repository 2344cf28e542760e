/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MD5 after RFC 1321: 64-octet blocks, four rounds of sixteen steps, the
 * message padded with 0x80, zeros and its bit length (little-endian).
 */
#include "postie/common/md5.h"

#include <string.h>

/* Per-step shift amounts, four per round. */
static const uint8_t shifts[4][4] = {
    {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

/* T[i] = floor(abs(sin(i + 1)) * 2^32) (RFC 1321 section 3.4). */
static const uint32_t sines[64] = {
    0xd76aa478u, 0xe8c7b756u, 0x242070dbu, 0xc1bdceeeu, 0xf57c0fafu, 0x4787c62au, 0xa8304613u,
    0xfd469501u, 0x698098d8u, 0x8b44f7afu, 0xffff5bb1u, 0x895cd7beu, 0x6b901122u, 0xfd987193u,
    0xa679438eu, 0x49b40821u, 0xf61e2562u, 0xc040b340u, 0x265e5a51u, 0xe9b6c7aau, 0xd62f105du,
    0x02441453u, 0xd8a1e681u, 0xe7d3fbc8u, 0x21e1cde6u, 0xc33707d6u, 0xf4d50d87u, 0x455a14edu,
    0xa9e3e905u, 0xfcefa3f8u, 0x676f02d9u, 0x8d2a4c8au, 0xfffa3942u, 0x8771f681u, 0x6d9d6122u,
    0xfde5380cu, 0xa4beea44u, 0x4bdecfa9u, 0xf6bb4b60u, 0xbebfbc70u, 0x289b7ec6u, 0xeaa127fau,
    0xd4ef3085u, 0x04881d05u, 0xd9d4d039u, 0xe6db99e5u, 0x1fa27cf8u, 0xc4ac5665u, 0xf4292244u,
    0x432aff97u, 0xab9423a7u, 0xfc93a039u, 0x655b59c3u, 0x8f0ccc92u, 0xffeff47du, 0x85845dd1u,
    0x6fa87e4fu, 0xfe2ce6e0u, 0xa3014314u, 0x4e0811a1u, 0xf7537e82u, 0xbd3af235u, 0x2ad7d2bbu,
    0xeb86d391u,
};

static uint32_t rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

static void md5_block(uint32_t h[4], const uint8_t *p)
{
    uint32_t x[16];
    uint32_t a = h[0];
    uint32_t b = h[1];
    uint32_t c = h[2];
    uint32_t d = h[3];

    for (unsigned i = 0; i < 16; i++) {
        x[i] = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) | ((uint32_t)p[4 * i + 2] << 16) |
               ((uint32_t)p[4 * i + 3] << 24);
    }
    for (unsigned i = 0; i < 64; i++) {
        unsigned round = i / 16;
        uint32_t f;
        unsigned k;
        switch (round) {
        case 0:
            f = (b & c) | (~b & d);
            k = i;
            break;
        case 1:
            f = (b & d) | (c & ~d);
            k = (5 * i + 1) % 16;
            break;
        case 2:
            f = b ^ c ^ d;
            k = (3 * i + 5) % 16;
            break;
        default:
            f = c ^ (b | ~d);
            k = (7 * i) % 16;
            break;
        }
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rotl(a + f + x[k] + sines[i], shifts[round][i % 4]);
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    memset(x, 0, sizeof(x));
}

void postie_md5_init(postie_md5_t *m)
{
    m->h[0] = 0x67452301u;
    m->h[1] = 0xefcdab89u;
    m->h[2] = 0x98badcfeu;
    m->h[3] = 0x10325476u;
    m->total = 0;
    memset(m->block, 0, sizeof(m->block));
}

void postie_md5_update(postie_md5_t *m, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t used = (size_t)(m->total % 64u);

    m->total += len;
    while (len > 0) {
        size_t n = 64u - used;
        if (n > len) {
            n = len;
        }
        memcpy(m->block + used, p, n);
        used += n;
        p += n;
        len -= n;
        if (used == 64u) {
            md5_block(m->h, m->block);
            used = 0;
        }
    }
}

void postie_md5_final(postie_md5_t *m, uint8_t out[POSTIE_MD5_DIGEST_LEN])
{
    uint64_t bits = m->total * 8u;
    size_t used = (size_t)(m->total % 64u);
    uint8_t len_le[8];

    m->block[used++] = 0x80u;
    if (used > 56u) {
        memset(m->block + used, 0, 64u - used);
        md5_block(m->h, m->block);
        used = 0;
    }
    memset(m->block + used, 0, 56u - used);
    for (unsigned i = 0; i < 8; i++) {
        len_le[i] = (uint8_t)(bits >> (8u * i));
    }
    memcpy(m->block + 56, len_le, 8);
    md5_block(m->h, m->block);
    for (unsigned i = 0; i < 4; i++) {
        out[4 * i] = (uint8_t)m->h[i];
        out[4 * i + 1] = (uint8_t)(m->h[i] >> 8);
        out[4 * i + 2] = (uint8_t)(m->h[i] >> 16);
        out[4 * i + 3] = (uint8_t)(m->h[i] >> 24);
    }
    memset(m, 0, sizeof(*m));
}

void postie_md5_hex(const uint8_t digest[POSTIE_MD5_DIGEST_LEN], char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < POSTIE_MD5_DIGEST_LEN; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15u];
    }
    out[32] = '\0';
}
