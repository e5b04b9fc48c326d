/* One check suite per module: a failing test names the module at fault. */
#ifndef CR_TEST_SUITES_H
#define CR_TEST_SUITES_H
#include <check.h>
Suite *addr_suite(void);
Suite *glob_suite(void);
Suite *config_suite(void);
Suite *decide_suite(void);
Suite *index_suite(void);
Suite *decode_suite(void);
Suite *log_suite(void);
Suite *fdtable_suite(void);
Suite *hostcache_suite(void);
Suite *current_suite(void);
Suite *image_suite(void);
/* test_image.c: a rule set as check prints it, its source named t.cfg. */
struct cr_ruleset;
char *cr_test_printed(const struct cr_ruleset *rs);
#endif
