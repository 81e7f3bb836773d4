/*
 * libFuzzer harness for the configuration file parser: arbitrary bytes as a
 * config file, then the cross-option checks. Must never crash, leak or read
 * out of bounds.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[CONFIG_ERR_LEN];
	struct config c;
	int fd = memfd_create("fuzz_config", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		config_defaults(&c);
		c.quiet = true;
		if (config_load(&c, path, err, sizeof(err)) == 0)
			config_validate(&c, err, sizeof(err));
		config_free(&c);
	}
	close(fd);
	return 0;
}
