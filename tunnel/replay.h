/*
 * The receive counter window of one keypair (RFC 6479, as the Linux
 * module's counter.c): a bitmap of WG_REPLAY_WORDS 64-bit words of which
 * WG_REPLAY_WINDOW counters behind the greatest seen are remembered.
 * Checked after the packet has authenticated, so a forged counter cannot
 * move the window. No I/O, no allocation.
 */
#ifndef TERN_TUNNEL_REPLAY_H
#define TERN_TUNNEL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "tunnel/messages.h"

struct replay {
	uint64_t next;                  /* greatest counter seen + 1; 0: none */
	uint64_t bits[WG_REPLAY_WORDS];
};

void replay_init(struct replay *r);
/* Whether counter is new (then it is marked seen): false for a replay,
 * one too old for the window, or one at or past WG_REJECT_AFTER_MESSAGES. */
bool replay_check(struct replay *r, uint64_t counter);

#endif
