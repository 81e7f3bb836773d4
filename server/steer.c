/*
 * The reuseport program and its userspace twin (see steer.h).
 *
 * The program runs with the packet's data at the UDP payload; SKF_NET_OFF
 * reaches back to the IP header. Both sides take the last 32 bits of the
 * source address (all of IPv4, the low bits of IPv6, which for a v4-mapped
 * client are its IPv4 address, as the kernel sees it) XOR the source port,
 * times 2654435761 (Knuth's multiplicative hash), bits 16-31, modulo n.
 * IPv6 extension headers before UDP are not followed: such datagrams are
 * still steered, just not where steer_pick() says.
 */
#include <errno.h>
#include <string.h>

#include <linux/filter.h>
#include <sys/socket.h>

#include "server/steer.h"

#define HASH_MUL 2654435761u

int steer_pick(const struct stun_addr *client, int n)
{
	const uint8_t *ip = client->family == STUN_FAMILY_IPV6 ? client->ip + 12 : client->ip;
	uint32_t a = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];

	if (n <= 1)
		return 0;
	return (int)((((a ^ client->port) * HASH_MUL) >> 16) % (uint32_t)n);
}

int steer_attach(int fd, int n)
{
	struct sock_filter code[] = {
		/* A = IP version */
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (uint32_t)SKF_NET_OFF),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 5, 0),
		/* IPv4: X = header length, X = source port, A = source address */
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, (uint32_t)SKF_NET_OFF),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, (uint32_t)SKF_NET_OFF),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
		BPF_JUMP(BPF_JMP | BPF_JA, 3, 0, 0),
		/* IPv6: X = source port (after the fixed 40-byte header),
		 * A = the source address' last 32 bits */
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (uint32_t)SKF_NET_OFF + 40),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 20),
		/* the socket: ((A ^ X) * HASH_MUL >> 16) % n */
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, HASH_MUL),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, (uint32_t)n),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { .len = sizeof code / sizeof *code, .filter = code };

	if (n <= 1)
		return 0;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0
		       ? -errno : 0;
}
