/*
 * SIGHUP's configuration reload: the file (and the command line) read
 * again, and what can change under running allocations applied to them.
 * Main thread only.
 */
#ifndef TERN_SERVER_RELOAD_H
#define TERN_SERVER_RELOAD_H

#include "server/config.h"
#include "server/worker.h"

/*
 * Read the configuration again as argv first read it into live's place.
 * A file with a problem changes nothing and is logged "file:line:
 * problem" (the caller then reloads nothing else either). Otherwise each changed option is applied, if it can be live
 * (reload.c's list: credentials, quotas, the peer policy, bandwidth limits,
 * the log level, the certificate files), or logged by name as taking a
 * restart and left as it was. live is srv->cfg. Returns the number of
 * options applied, or -1 when the file was refused.
 */
int reload_config(struct server *srv, struct config *live, int argc, char **argv);

#endif
