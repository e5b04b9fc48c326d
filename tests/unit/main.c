#include "suites.h"

#include <stdlib.h>

int main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	srunner_add_suite(sr, glob_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, decide_suite());
	srunner_add_suite(sr, index_suite());
	srunner_add_suite(sr, image_suite());
	srunner_add_suite(sr, decode_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, fdtable_suite());
	srunner_add_suite(sr, hostcache_suite());
	srunner_add_suite(sr, current_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
