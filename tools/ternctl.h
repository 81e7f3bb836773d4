/*
 * What ternctl's commands share (ternctl.c): the Redis connection's
 * command runner and the exit codes.
 */
#ifndef TERN_TOOLS_TERNCTL_H
#define TERN_TOOLS_TERNCTL_H

#include <stdint.h>

#include <hiredis/hiredis.h>

enum { EXIT_USAGE = 2, EXIT_REDIS = 3 };

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

#endif
