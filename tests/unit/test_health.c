/* The health selection rule: eligibility, max-active, the 20 % margin. */
#include "autoconf.h"

#include "health/health.h"
#include "tap.h"

int main(void)
{
	plan(8);
	struct health_candidate c[4];

	memset(c, 0, sizeof(c));
	c[0] = (struct health_candidate){ .probed = true, .up = true, .rtt_us = 900 };
	c[1] = (struct health_candidate){ .probed = true, .up = false, .rtt_us = 100 };
	c[2] = (struct health_candidate){ .probed = true, .up = true, .rtt_us = 300 };
	c[3] = (struct health_candidate){ .probed = false };
	ok(health_select(c, 4, 2), "first selection changes flags");
	ok(c[3].active && c[2].active && !c[0].active && !c[1].active,
	   "unprobed first, then the fastest healthy; a down prefix never");
	ok(!health_select(c, 4, 2), "selecting again changes nothing");

	/* c[0] becomes a bit faster than the active c[2]: not enough to displace. */
	c[0].rtt_us = 280;
	ok(!health_select(c, 4, 2) && c[2].active && !c[0].active,
	   "a challenger within 20 % does not displace the incumbent");
	c[0].rtt_us = 200;
	ok(health_select(c, 4, 2) && c[0].active && !c[2].active,
	   "a challenger more than 20 % faster does");

	c[3].probed = true;	/* now probed and down */
	c[3].up = false;
	health_select(c, 4, 2);
	ok(!c[3].active && c[0].active && c[2].active, "a failed prefix is withdrawn, the next takes its place");

	for (int i = 0; i < 4; i++)
		c[i].up = false;
	health_select(c, 4, 3);
	ok(!c[0].active && !c[1].active && !c[2].active && !c[3].active,
	   "nothing healthy: nothing synthesized");

	c[1].up = true;
	c[1].rtt_us = 0;	/* healthy but no sample yet: ranked last, still eligible */
	health_select(c, 4, 1);
	ok(c[1].active, "a healthy prefix without an RTT sample is still usable");
	return tap_done();
}
