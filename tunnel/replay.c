/*
 * RFC 6479's window, the Linux module's way: counters are kept + 1 so that
 * 0 means "nothing yet"; moving the window forward clears the words it
 * passes, at most the whole ring.
 */
#include <string.h>

#include "tunnel/replay.h"

enum { WORD_BITS = 64, WORD_SHIFT = 6 };

void replay_init(struct replay *r)
{
	memset(r, 0, sizeof *r);
}

bool replay_check(struct replay *r, uint64_t counter)
{
	uint64_t index, bit;

	if (counter >= WG_REJECT_AFTER_MESSAGES)
		return false;
	counter++;
	if (counter + WG_REPLAY_WINDOW < r->next)
		return false; /* behind the window */
	index = counter >> WORD_SHIFT;
	if (counter > r->next) {
		uint64_t current = r->next >> WORD_SHIFT, top = index - current;

		if (top > WG_REPLAY_WORDS)
			top = WG_REPLAY_WORDS;
		for (uint64_t i = 1; i <= top; i++)
			r->bits[(current + i) & (WG_REPLAY_WORDS - 1)] = 0;
		r->next = counter;
	}
	index &= WG_REPLAY_WORDS - 1;
	bit = UINT64_C(1) << (counter & (WORD_BITS - 1));
	if (r->bits[index] & bit)
		return false;
	r->bits[index] |= bit;
	return true;
}
