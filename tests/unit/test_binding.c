/*
 * The Binding service without sockets: requests built with the codec go in,
 * and the responses are parsed back and checked field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/binding.h"

static const uint8_t tid[STUN_TID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static const struct stun_addr client4 = {
	.family = STUN_FAMILY_IPV4, .port = 40000, .ip = { 192, 0, 2, 7 } };
static const struct stun_addr client6 = {
	.family = STUN_FAMILY_IPV6, .port = 50001,
	.ip = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 } };
static const struct stun_addr local_a = {
	.family = STUN_FAMILY_IPV4, .port = 3478, .ip = { 198, 51, 100, 1 } };
static const struct stun_addr other_b = {
	.family = STUN_FAMILY_IPV4, .port = 3479, .ip = { 198, 51, 100, 2 } };

struct exchange {
	uint8_t req[512], resp[2048];
	size_t req_len;
	struct stun_msg m, r;
	struct binding_reply br;
};

static size_t request(uint8_t *buf, size_t cap, uint16_t method, uint16_t cls,
		      int change, bool fingerprint, uint16_t extra_attr)
{
	struct stun_builder b;

	stun_build_init(&b, buf, cap, stun_type(method, cls), tid);
	if (change >= 0)
		stun_put_u32(&b, STUN_ATTR_CHANGE_REQUEST, (uint32_t)change);
	if (extra_attr)
		stun_put_u32(&b, extra_attr, 0);
	if (fingerprint)
		stun_put_fingerprint(&b);
	return stun_build_finish(&b);
}

/* Send req through binding_answer; parse the response when there is one. */
static void run(struct exchange *x, const struct binding_config *cfg,
		const struct stun_addr *src)
{
	assert_int_equal(stun_parse(&x->m, x->req, x->req_len), STUN_OK);
	x->br = binding_answer(cfg, &x->m, src, &local_a, x->resp, sizeof x->resp);
	if (x->br.len)
		assert_int_equal(stun_parse(&x->r, x->resp, x->br.len), STUN_OK);
}

static void assert_addr_eq(const struct stun_addr *a, const struct stun_addr *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->port, b->port);
	assert_memory_equal(a->ip, b->ip, a->family == STUN_FAMILY_IPV4 ? 4 : 16);
}

static void test_ipv4_xor_mapped(void **state)
{
	struct binding_config cfg = { .software = "tern test" };
	struct exchange x;
	struct stun_addr got;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST, -1, false, 0);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.error, 0);
	assert_int_equal(x.r.cls, STUN_SUCCESS);
	assert_int_equal(x.r.method, STUN_BINDING);
	assert_memory_equal(x.r.tid, tid, STUN_TID_LEN);
	assert_true(stun_attr_addr(&x.r, &x.r.a[SA_XOR_MAPPED_ADDRESS], true, &got));
	assert_addr_eq(&got, &client4);
	assert_null(x.r.a[SA_MAPPED_ADDRESS].v);
	assert_int_equal(x.r.a[SA_SOFTWARE].len, strlen("tern test"));
	assert_memory_equal(x.r.a[SA_SOFTWARE].v, "tern test", 9);
	assert_int_equal(x.r.fp_off, 0); /* no FINGERPRINT asked, none given */
	assert_null(x.r.a[SA_OTHER_ADDRESS].v);
}

static void test_ipv6_and_fingerprint(void **state)
{
	struct binding_config cfg = { 0 };
	struct exchange x;
	struct stun_addr got;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST, -1, true, 0);
	run(&x, &cfg, &client6);
	assert_true(stun_attr_addr(&x.r, &x.r.a[SA_XOR_MAPPED_ADDRESS], true, &got));
	assert_addr_eq(&got, &client6);
	assert_true(x.r.fp_off > 0);
	assert_null(x.r.a[SA_SOFTWARE].v);
}

static void test_rfc3489_gets_mapped_address(void **state)
{
	struct binding_config cfg = { 0 };
	struct exchange x;
	struct stun_addr got;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST, -1, false, 0);
	memcpy(x.req + 4, "\xde\xad\xbe\xef", 4); /* no magic cookie: RFC 3489 */
	run(&x, &cfg, &client4);
	assert_false(x.r.cookie);
	assert_memory_equal(x.resp + 4, x.req + 4, 16); /* whole legacy tid echoed */
	assert_true(stun_attr_addr(&x.r, &x.r.a[SA_MAPPED_ADDRESS], false, &got));
	assert_addr_eq(&got, &client4);
	assert_null(x.r.a[SA_XOR_MAPPED_ADDRESS].v);
}

static void test_indication_and_response_ignored(void **state)
{
	struct binding_config cfg = { 0 };
	struct exchange x;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_INDICATION, -1, false, 0);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.len, 0);
	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_SUCCESS, -1, false, 0);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.len, 0);
}

static void test_unknown_attribute_420(void **state)
{
	struct binding_config cfg = { 0 };
	struct exchange x;
	const uint8_t *reason;
	size_t rlen;
	int code;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST, -1, false,
			    0x7ff1);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.error, 420);
	assert_int_equal(x.r.cls, STUN_ERROR);
	assert_true(stun_attr_error(&x.r.a[SA_ERROR_CODE], &code, &reason, &rlen));
	assert_int_equal(code, 420);
	assert_int_equal(x.r.a[SA_UNKNOWN_ATTRIBUTES].len, 2);
	assert_int_equal(x.r.a[SA_UNKNOWN_ATTRIBUTES].v[0], 0x7f);
	assert_int_equal(x.r.a[SA_UNKNOWN_ATTRIBUTES].v[1], 0xf1);
}

static void test_unknown_optional_attribute_ignored(void **state)
{
	struct binding_config cfg = { 0 };
	struct exchange x;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST, -1, false,
			    0xfff1);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.error, 0);
	assert_int_equal(x.r.cls, STUN_SUCCESS);
}

static void test_other_method_400(void **state)
{
	struct binding_config cfg = { 0 };
	struct exchange x;
	const uint8_t *reason;
	size_t rlen;
	int code;

	x.req_len = request(x.req, sizeof x.req, TURN_ALLOCATE, STUN_REQUEST, -1, false, 0);
	run(&x, &cfg, &client4);
	assert_int_equal(x.r.method, TURN_ALLOCATE);
	assert_int_equal(x.r.cls, STUN_ERROR);
	assert_true(stun_attr_error(&x.r.a[SA_ERROR_CODE], &code, &reason, &rlen));
	assert_int_equal(code, 400);
}

static const struct binding_config cfg5780 = {
	.rfc5780 = true, .other = { .family = STUN_FAMILY_IPV4, .port = 3479,
				    .ip = { 198, 51, 100, 2 } } };

static void check_change(int change, const struct stun_addr *want_origin)
{
	struct exchange x;
	struct stun_addr got;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST, change, false, 0);
	run(&x, &cfg5780, &client4);
	assert_int_equal(x.br.error, 0);
	assert_int_equal(x.br.change, change);
	assert_true(stun_attr_addr(&x.r, &x.r.a[SA_OTHER_ADDRESS], false, &got));
	assert_addr_eq(&got, &other_b);
	assert_true(stun_attr_addr(&x.r, &x.r.a[SA_RESPONSE_ORIGIN], false, &got));
	assert_addr_eq(&got, want_origin);
}

static void test_rfc5780_change_request(void **state)
{
	struct stun_addr port_only = local_a, ip_only = other_b;

	port_only.port = other_b.port;
	ip_only.port = local_a.port;
	check_change(0, &local_a);
	check_change(STUN_CHANGE_PORT, &port_only);
	check_change(STUN_CHANGE_IP, &ip_only);
	check_change(STUN_CHANGE_IP | STUN_CHANGE_PORT, &other_b);
}

static void test_change_request_without_rfc5780_is_420(void **state)
{
	struct binding_config cfg = { 0 };
	struct exchange x;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST,
			    STUN_CHANGE_IP, false, 0);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.error, 420);
	assert_int_equal(x.br.change, 0);
	/* a CHANGE-REQUEST asking for nothing is harmless and answered */
	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST, 0, false, 0);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.error, 0);
}

static void test_change_request_over_stream_is_400(void **state)
{
	struct binding_config cfg = cfg5780;
	struct exchange x;

	cfg.stream = true;
	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST,
			    STUN_CHANGE_PORT, false, 0);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.error, 400);
	assert_int_equal(x.br.change, 0);
}

/* A request with RESPONSE-PORT 40404 and 100 bytes of PADDING. */
static size_t discovery_request(uint8_t *buf, size_t cap)
{
	static const uint8_t pad[100];
	struct stun_builder b;

	stun_build_init(&b, buf, cap, stun_type(STUN_BINDING, STUN_REQUEST), tid);
	stun_put_u32(&b, STUN_ATTR_RESPONSE_PORT, 40404u << 16);
	stun_put(&b, STUN_ATTR_PADDING, pad, sizeof pad);
	return stun_build_finish(&b);
}

static void test_response_port_and_padding(void **state)
{
	struct exchange x;

	x.req_len = discovery_request(x.req, sizeof x.req);
	run(&x, &cfg5780, &client4);
	assert_int_equal(x.br.error, 0);
	assert_int_equal(x.br.response_port, 40404);
	assert_int_equal(x.r.a[SA_PADDING].len, 100);
}

static void test_discovery_attributes_without_rfc5780_are_420(void **state)
{
	struct binding_config cfg = { 0 };
	struct exchange x;
	const uint8_t *u;

	x.req_len = discovery_request(x.req, sizeof x.req);
	run(&x, &cfg, &client4);
	assert_int_equal(x.br.error, 420);
	assert_int_equal(x.br.response_port, 0);
	assert_int_equal(x.r.a[SA_UNKNOWN_ATTRIBUTES].len, 4);
	u = x.r.a[SA_UNKNOWN_ATTRIBUTES].v;
	assert_int_equal((u[0] << 8) | u[1], STUN_ATTR_RESPONSE_PORT);
	assert_int_equal((u[2] << 8) | u[3], STUN_ATTR_PADDING);
}

static void test_small_buffer_sends_nothing(void **state)
{
	struct binding_config cfg = { .software = "tern" };
	struct exchange x;

	x.req_len = request(x.req, sizeof x.req, STUN_BINDING, STUN_REQUEST, -1, false, 0);
	assert_int_equal(stun_parse(&x.m, x.req, x.req_len), STUN_OK);
	x.br = binding_answer(&cfg, &x.m, &client4, &local_a, x.resp, 30);
	assert_int_equal(x.br.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_xor_mapped),
		cmocka_unit_test(test_ipv6_and_fingerprint),
		cmocka_unit_test(test_rfc3489_gets_mapped_address),
		cmocka_unit_test(test_indication_and_response_ignored),
		cmocka_unit_test(test_unknown_attribute_420),
		cmocka_unit_test(test_unknown_optional_attribute_ignored),
		cmocka_unit_test(test_other_method_400),
		cmocka_unit_test(test_rfc5780_change_request),
		cmocka_unit_test(test_change_request_without_rfc5780_is_420),
		cmocka_unit_test(test_change_request_over_stream_is_400),
		cmocka_unit_test(test_response_port_and_padding),
		cmocka_unit_test(test_discovery_attributes_without_rfc5780_are_420),
		cmocka_unit_test(test_small_buffer_sends_nothing),
	};

	return cmocka_run_group_tests_name("binding", tests, NULL, NULL);
}
