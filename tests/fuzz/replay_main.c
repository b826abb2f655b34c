/* Replays a fuzz target's corpus under `make check` (no libFuzzer needed):
 * every file in tests/fuzz/corpus/NAME (NAME = the binary's name without
 * "replay_"), plus every prefix of each file, as TAP. */
#include "autoconf.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	self = self ? self + 1 : argv[0];
	if (strncmp(self, "lt-", 3) == 0)
		self += 3;
	const char *name = strncmp(self, "replay_", 7) == 0 ? self + 7 : self;
	const char *srcdir = getenv("top_srcdir");
	char dir[4096];
	if (argc > 1)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", srcdir ? srcdir : ".", name);
	DIR *d = opendir(dir);
	if (!d) {
		printf("1..0 # SKIP no corpus at %s\n", dir);
		return 0;
	}
	/* The plan first (one check per corpus file), so that a file the
	 * replay fails to read is a missing check, not a shorter plan. */
	int planned = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		planned += de->d_name[0] != '.';
	printf("1..%d\n", planned);
	rewinddir(d);
	int n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "rb");
		if (!f) {
			printf("not ok %d - %s cannot be read\n", ++n, de->d_name);
			continue;
		}
		static uint8_t buf[1 << 16];
		size_t len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		/* Every truncation too: the cut-off cases are the interesting ones. */
		for (size_t cut = 0; cut <= len; cut++)
			LLVMFuzzerTestOneInput(buf, cut);
		printf("ok %d - %s (%zu octets and its prefixes)\n", ++n, de->d_name, len);
	}
	closedir(d);
	return n == planned ? 0 : 1;
}
