/*
 * What ternctl's commands share (ternctl.c): the Redis connection's
 * command runner and the exit codes.
 */
#ifndef TERN_TOOLS_TERNCTL_H
#define TERN_TOOLS_TERNCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

/* 1: refused (said); 2: a bad command line; 3: Redis unreachable or
 * failing; 4: the node's stats endpoint unreachable */
enum { EXIT_USAGE = 2, EXIT_REDIS = 3, EXIT_NODE = 4 };

/* Run a command; NULL (reported) on an error reply or a lost connection. */
redisReply *ternctl_run(int argc, const char **argv);
/* Pipelining: queue a command, then take the replies in order; a NULL
 * reply (reported) for an error reply or a lost connection. */
void ternctl_append(int argc, const char **argv);
redisReply *ternctl_reply(void);
/* The usage message: EXIT_USAGE. */
int ternctl_usage(void);

/* "peer ..." (ternctl_peer.c), argv from the word after "peer", for the
 * responder with public key responder. */
int ternctl_peer(const uint8_t responder[32], int argc, char **argv);

struct config;
/* "stats", "allocations", "drain", "reload" (ternctl_node.c), argv from
 * the command's word, against the stats endpoint at url (http://HOST:PORT)
 * with token (NULL or "": none). */
int ternctl_node(const char *url, const char *token, int argc, char **argv);
/* The endpoint's URL: given (--stats-url), else c's stats-listen; false
 * (said) when there is none. */
bool ternctl_stats_url(const char *given, const struct config *c, char *out, size_t cap);

#endif
