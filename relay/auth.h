/*
 * TURN long-term credentials (RFC 8489 s9.2, RFC 8656 s5): static users, the
 * TURN REST API's time-limited usernames (coturn's use-auth-secret), USERHASH,
 * PASSWORD-ALGORITHMS negotiation and stateless nonces. Sans-I/O: the caller
 * passes the time (unix seconds) and the nonce secrets.
 *
 * Ownership: auth_new() returns an object the caller frees with auth_free().
 * auth_check() and auth_put_challenge() only read it, so worker threads may
 * share one while nobody modifies it (build a new one and swap the pointer).
 */
#ifndef TERN_RELAY_AUTH_H
#define TERN_RELAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/nonce.h"
#include "stun/stun.h"

enum auth_limits {
	AUTH_MAX_USERS = 1 << 20,      /* static users in one struct auth */
	AUTH_MAX_NAME = 508,           /* RFC 8489 s14.3: fewer than 509 bytes */
	AUTH_MAX_PASSWORD = 512,
	AUTH_MAX_SECRETS = 16,         /* REST secrets honoured at once */
	AUTH_MAX_SECRET_LEN = 1024,
	AUTH_MAX_REALM = STUN_MAX_REALM - 1, /* s14.9: fewer than 763 bytes */
	AUTH_NONCE_VALIDITY = 600,     /* seconds; coturn's stale-nonce default */
	AUTH_KEY_MAX = 32,
};

/* Why a request was refused; each is a `dropped{reason}` label. */
enum auth_fail {
	AUTH_OK = 0,
	AUTH_NO_INTEGRITY,  /* 401: the challenge, a first request */
	AUTH_MISSING,       /* 400: integrity without USERNAME/USERHASH, REALM, NONCE */
	AUTH_BAD_ALGORITHM, /* 400: PASSWORD-ALGORITHM(S) do not match what we sent */
	AUTH_BAD_NONCE,     /* 438: not ours, tampered, or another client's */
	AUTH_STALE_NONCE,   /* 438: ours, expired */
	AUTH_WRONG_REALM,   /* 401 */
	AUTH_UNKNOWN_USER,  /* 401 */
	AUTH_EXPIRED,       /* 401: REST username past its expiry */
	AUTH_NO_KEY,        /* 401: SHA-256 asked of a user stored as an MD5 key */
	AUTH_BAD_INTEGRITY, /* 401: wrong password */
	AUTH_FAIL_COUNT
};

struct auth_result {
	int code;            /* 0, or the error response to send: 400, 401, 438 */
	enum auth_fail reason;
	/* the rest is set only when code is 0 */
	uint8_t key[AUTH_KEY_MAX]; /* long-term key: sign the response with it */
	size_t keylen;             /* 16 (MD5) or 32 (SHA-256) */
	uint16_t algorithm;        /* STUN_PWALG_MD5 or STUN_PWALG_SHA256 */
	/*
	 * The request carried MESSAGE-INTEGRITY-SHA256: sign the response with
	 * it, else with MESSAGE-INTEGRITY (RFC 8489 s9.2.4, s9.1.3).
	 */
	bool sha256_integrity;
	/* the username: points into the request, or into the auth for USERHASH */
	const uint8_t *user;
	size_t user_len;
};

/* A new, empty credential set for realm, or NULL (bad realm, no memory). */
struct auth *auth_new(const char *realm);
void auth_free(struct auth *a);

/*
 * Add a static user from coturn's `user=` value: "name:password" or
 * "name:0x<32 hex digits>" (the MD5 key itself, as turnadmin prints it).
 * The name ends at the first ':'. Only keys are kept: MD5 and SHA-256 of
 * name:realm:password, or just the MD5 key given; line is only read, so
 * wiping the caller's copy is the caller's job. Returns 0, or -EINVAL,
 * -EEXIST, -ENOSPC, -ENOMEM with a message in err that names neither the
 * option nor the password ("bob: defined twice"): the caller adds context.
 */
int auth_add_user(struct auth *a, const char *line, char *err, size_t errlen);
size_t auth_user_count(const struct auth *a);
/* Lower the cap on static users (AUTH_MAX_USERS at most, and by default). */
void auth_set_max_users(struct auth *a, uint32_t n);

/*
 * TURN REST API secrets (coturn's static-auth-secret and secret sets). Any
 * of them may sign a username, so rotation is: add the new one, wait out the
 * longest credential lifetime, remove the old. Return 0, -EINVAL, -EEXIST,
 * -ENOSPC, -ENOMEM; auth_remove_secret returns -ENOENT for an unknown one.
 */
int auth_add_secret(struct auth *a, const char *secret);
int auth_remove_secret(struct auth *a, const char *secret);
/*
 * use-auth-secret: usernames "<expiry>" or "<expiry><sep><anything>", where
 * expiry is unix seconds in decimal, are REST credentials; their password
 * is base64(HMAC-SHA1(secret, username)). Other usernames still go to the
 * static users. sep defaults to ':' (coturn's rest-api-separator).
 */
void auth_use_secret(struct auth *a, bool on);
void auth_set_separator(struct auth *a, char sep);
/* Seconds a fresh nonce stays valid; AUTH_NONCE_VALIDITY by default. */
void auth_set_nonce_validity(struct auth *a, uint32_t seconds);

/*
 * Authenticate request m from src at time now (RFC 8489 s9.2.4). nonce
 * secrets: current first, then any still honoured. Fills r and returns
 * r->code. A 401 or a 438 must carry auth_put_challenge(); a 400 must not.
 * Call auth_result_wipe() when done with the key.
 */
int auth_check(const struct auth *a, const struct stun_msg *m, uint64_t now,
	       const struct stun_addr *src, const uint8_t (*nonce_secrets)[NONCE_SECRET_LEN],
	       size_t n_secrets, struct auth_result *r);
void auth_result_wipe(struct auth_result *r);

/*
 * Append REALM, a fresh NONCE for src (made with secret, which should be the
 * current one) and PASSWORD-ALGORITHMS, for a 401 or 438 response.
 */
void auth_put_challenge(const struct auth *a, struct stun_builder *b,
			const uint8_t secret[NONCE_SECRET_LEN], uint64_t now,
			const struct stun_addr *src);

/*
 * The exact size of a 401 or 438 response: header, ERROR-CODE with no
 * reason phrase, the challenge, and FINGERPRINT if asked. The shell can
 * compare it with the request's size before answering a spoofable source.
 */
size_t auth_challenge_len(const struct auth *a, bool fingerprint);

/* The metric label for f, e.g. "stale_nonce". */
const char *auth_fail_name(enum auth_fail f);

#endif
