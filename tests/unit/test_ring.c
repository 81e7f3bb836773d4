/*
 * The two-thread record ring (server/ring.h) and the handover lanes on it
 * (server/handover.h): records in order with their lengths, the wrap at
 * the end of the buffer, full and empty, the size limit, and a producer
 * and a consumer thread moving a million records of varying lengths with
 * every byte checked.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/handover.h"
#include "server/ring.h"

static void put(struct ring *r, const void *p, size_t len)
{
	void *d = ring_reserve(r, len);

	assert_non_null(d);
	memcpy(d, p, len);
	ring_commit(r);
}

static void take(struct ring *r, const void *want, size_t len)
{
	size_t n = 0;
	const void *p = ring_peek(r, &n);

	assert_non_null(p);
	assert_int_equal(n, len);
	assert_memory_equal(p, want, len);
	assert_int_equal((uintptr_t)p % 8, 0);
	ring_pop(r);
}

static void test_init_rules(void **state)
{
	struct ring r;

	(void)state;
	assert_int_equal(ring_init(&r, 100), -1); /* not a power of two */
	assert_int_equal(ring_init(&r, 32), -1);  /* too small */
	assert_int_equal(ring_init(&r, 256), 0);
	assert_int_equal(ring_max_record(&r), 56);
	assert_null(ring_reserve(&r, 57));
	ring_free(&r);
}

static void test_order_and_empty(void **state)
{
	struct ring r;
	size_t n;

	(void)state;
	assert_int_equal(ring_init(&r, 256), 0);
	assert_null(ring_peek(&r, &n));
	put(&r, "one", 3);
	put(&r, "", 0);
	put(&r, "three", 5);
	take(&r, "one", 3);
	take(&r, "", 0);
	take(&r, "three", 5);
	assert_null(ring_peek(&r, &n));
	ring_free(&r);
}

/* 256 bytes hold 4 records of 56 (64 with the header) and no more; once
 * one is popped, the next goes where it was. */
static void test_full(void **state)
{
	uint8_t rec[56];
	struct ring r;

	(void)state;
	assert_int_equal(ring_init(&r, 256), 0);
	for (int i = 0; i < 4; i++) {
		memset(rec, i, sizeof rec);
		put(&r, rec, sizeof rec);
	}
	assert_null(ring_reserve(&r, 1));
	memset(rec, 0, sizeof rec);
	take(&r, rec, sizeof rec);
	memset(rec, 9, sizeof rec);
	put(&r, rec, sizeof rec);
	assert_null(ring_reserve(&r, 0));
	for (int i = 1; i < 4; i++) {
		memset(rec, i, sizeof rec);
		take(&r, rec, sizeof rec);
	}
	memset(rec, 9, sizeof rec);
	take(&r, rec, sizeof rec);
	ring_free(&r);
}

/* A record that would straddle the end starts again at the beginning, and
 * the space it skipped counts as used until the consumer passes it. */
static void test_wrap(void **state)
{
	uint8_t a[40], b[48];
	struct ring r;

	(void)state;
	assert_int_equal(ring_init(&r, 128), 0);
	memset(a, 'a', sizeof a);
	memset(b, 'b', sizeof b);
	put(&r, a, 16); /* 24 bytes: [0, 24) */
	put(&r, a, 16); /* [24, 48) */
	put(&r, a, 16); /* [48, 72) */
	take(&r, a, 16);
	take(&r, a, 16);
	put(&r, b, 24); /* 32 bytes: [72, 104) */
	assert_null(ring_reserve(&r, 25)); /* over a quarter of the ring */
	/* 24 bytes left at the end, 48 free at the start: this one wraps */
	put(&r, a, 24); /* 32 bytes: skips [104, 128), goes to [0, 32) */
	take(&r, a, 16);
	take(&r, b, 24);
	take(&r, a, 24);
	assert_null(ring_peek(&r, &(size_t){ 0 }));
	ring_free(&r);
}

enum { STRESS_RECORDS = 1000000, STRESS_RING = 4096 };

static size_t stress_len(uint32_t i)
{
	return (i * 2654435761u >> 7) % 200;
}

static void *producer(void *arg)
{
	struct ring *r = arg;
	uint8_t buf[256];

	for (uint32_t i = 0; i < STRESS_RECORDS;) {
		size_t len = stress_len(i) + sizeof i;
		uint8_t *d = ring_reserve(r, len);

		if (!d) {
			sched_yield();
			continue;
		}
		memcpy(buf, &i, sizeof i);
		memset(buf + sizeof i, (int)(i & 0xff), len - sizeof i);
		memcpy(d, buf, len);
		ring_commit(r);
		i++;
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	struct ring r;
	pthread_t t;
	uint32_t next = 0;

	(void)state;
	assert_int_equal(ring_init(&r, STRESS_RING), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
	while (next < STRESS_RECORDS) {
		size_t len;
		const uint8_t *p = ring_peek(&r, &len);
		uint32_t got;

		if (!p)
			continue;
		assert_int_equal(len, stress_len(next) + sizeof got);
		memcpy(&got, p, sizeof got);
		assert_int_equal(got, next);
		for (size_t k = sizeof got; k < len; k++)
			if (p[k] != (uint8_t)(next & 0xff))
				fail_msg("record %u byte %zu: %u", next, k, p[k]);
		ring_pop(&r);
		next++;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_null(ring_peek(&r, &(size_t){ 0 }));
	ring_free(&r);
}

/* A lane: the message travels with its datagram, a full lane counts what
 * it drops, the consumer counts what it could not deliver, and a wake
 * reaches the consumer's eventfd once per batch. */
static void test_handover_lane(void **state)
{
	struct handover *h = handover_new(2);
	struct handover_lane *up, *down;
	struct handover_msg m = { .alloc = 7, .local = 1,
				  .client = { STUN_FAMILY_IPV4, 4242, { 192, 0, 2, 1 } } }, got;
	struct handover_totals t;
	static uint8_t big[65536];
	const uint8_t *p;
	uint64_t wakes;
	size_t len;
	int pushed = 0;

	(void)state;
	assert_non_null(h);
	assert_null(handover_new(0));
	assert_int_equal(handover_workers(h), 2);
	up = handover_up(h, 1);
	down = handover_down(h, 1);
	assert_int_equal(up->efd, handover_responder_fd(h));
	assert_int_not_equal(down->efd, up->efd);
	assert_true(handover_push(up, &m, (const uint8_t *)"datagram", 8));
	handover_wake(up);
	handover_wake(up); /* nothing new: no second wake */
	assert_int_equal(read(handover_responder_fd(h), &wakes, sizeof wakes), sizeof wakes);
	assert_int_equal(wakes, 1);
	p = handover_peek(up, &got, &len);
	assert_non_null(p);
	assert_int_equal(len, 8);
	assert_memory_equal(p, "datagram", 8);
	assert_int_equal(got.alloc, 7);
	assert_int_equal(got.local, 1);
	assert_memory_equal(&got.client, &m.client, sizeof m.client);
	handover_pop(up);
	handover_lost(up);
	assert_null(handover_peek(up, &got, &len));
	/* down fills up with big datagrams and drops the rest */
	while (handover_push(down, &m, big, sizeof big))
		pushed++;
	assert_true(pushed > 10);
	handover_totals(h, &t);
	assert_int_equal(t.to_responder[HO_TURN], 1);
	assert_int_equal(t.to_client[HO_TURN], (uint64_t)pushed);
	assert_int_equal(t.to_responder[HO_WEBSOCKET] + t.to_client[HO_WEBSOCKET], 0);
	assert_int_equal(t.full_down, 1);
	assert_int_equal(t.full_up, 0);
	assert_int_equal(t.lost, 1);
	handover_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rules),
		cmocka_unit_test(test_order_and_empty),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_handover_lane),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
