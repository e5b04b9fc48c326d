#include "suites.h"
#include "preload/fdtable.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static const struct cr_sockinfo tcp_nb = {
	.known = 1, .domain = AF_INET, .type = SOCK_STREAM, .nonblock = 1, .fresh = 1
};

static struct cr_inflight pending_to(uint16_t port)
{
	struct cr_inflight p = { .family = CR_FAM_INET, .port = port, .sotype = SOCK_STREAM, .level = 1 };
	p.addr[0] = 127, p.addr[3] = 1;
	strcpy(p.rule, "r");
	return p;
}

START_TEST(made_and_looked_at_once)
{
	cr_fd_made(5, tcp_nb);
	struct cr_fd_view v = cr_fd_look(5);
	ck_assert(v.sock.known && v.sock.nonblock && v.sock.fresh);
	ck_assert_int_eq(v.sock.domain, AF_INET);
	ck_assert(!v.pending);
	struct cr_inflight p = pending_to(80);
	cr_fd_pending_set(5, &p);
	ck_assert(cr_fd_look(5).pending);
	ck_assert(cr_fd_look(5).sock.known); /* one entry holds both */
}
END_TEST

START_TEST(pending_taken_once)
{
	struct cr_inflight p = pending_to(443), out;
	cr_fd_pending_set(7, &p);
	ck_assert(cr_fd_pending_peek(7, &out));
	ck_assert(cr_fd_pending_peek(7, &out)); /* a look leaves it */
	ck_assert(cr_fd_pending_take(7, &out));
	ck_assert_int_eq(out.port, 443);
	ck_assert_str_eq(out.rule, "r");
	ck_assert(!cr_fd_pending_take(7, &out)); /* only one caller gets it */
	ck_assert(!cr_fd_pending_maybe(7));
}
END_TEST

START_TEST(a_new_socket_forgets_the_old_connect)
{
	struct cr_inflight p = pending_to(80), out;
	cr_fd_pending_set(9, &p);
	cr_fd_made(9, tcp_nb); /* socket() or accept() gave the number again */
	ck_assert(!cr_fd_pending_peek(9, &out));
	cr_fd_pending_set(9, &p);
	cr_fd_made(9, (struct cr_sockinfo){ 0 }); /* a socket of another family */
	ck_assert(!cr_fd_look(9).sock.known);
	ck_assert(!cr_fd_look(9).pending);
}
END_TEST

START_TEST(close_dup_and_ranges_forget)
{
	struct cr_inflight p = pending_to(80);
	cr_fd_made(10, tcp_nb);
	cr_fd_pending_set(10, &p);
	cr_fd_forget(10);
	ck_assert(!cr_fd_look(10).sock.known && !cr_fd_look(10).pending);
	/* dup: the socket has two numbers, the kernel is asked from now on,
	 * and its connect in flight stays where it was. */
	cr_fd_made(11, tcp_nb);
	cr_fd_pending_set(11, &p);
	cr_fd_shared(11);
	ck_assert(!cr_fd_look(11).sock.known);
	ck_assert(cr_fd_look(11).pending);
	for (int fd = 20; fd < 30; fd++) {
		cr_fd_made(fd, tcp_nb);
		cr_fd_pending_set(fd, &p);
	}
	cr_fd_forget_range(22, 25);
	ck_assert(cr_fd_look(21).pending && cr_fd_look(26).sock.known);
	for (int fd = 22; fd <= 25; fd++)
		ck_assert(!cr_fd_look(fd).pending && !cr_fd_look(fd).sock.known);
	cr_fd_forget_range(28, ~0u); /* to the end of the table and past it */
	ck_assert(!cr_fd_look(29).sock.known && cr_fd_look(27).sock.known);
}
END_TEST

START_TEST(modes_change_known_sockets_only)
{
	cr_fd_made(12, tcp_nb);
	cr_fd_set_nonblock(12, false);
	cr_fd_set_fresh(12, false);
	struct cr_fd_view v = cr_fd_look(12);
	ck_assert(v.sock.known && !v.sock.nonblock && !v.sock.fresh);
	cr_fd_forget(13);
	cr_fd_set_nonblock(13, true);
	ck_assert(!cr_fd_look(13).sock.known);
}
END_TEST

START_TEST(numbers_outside_the_table)
{
	struct cr_inflight p = pending_to(80), out;
	cr_fd_made(-1, tcp_nb);
	cr_fd_pending_set(-1, &p);
	cr_fd_pending_set(CR_FD_MAX, &p);
	ck_assert(!cr_fd_look(-1).sock.known && !cr_fd_look(CR_FD_MAX).pending);
	ck_assert(!cr_fd_pending_take(CR_FD_MAX, &out));
	cr_fd_forget(CR_FD_MAX + 5);
	cr_fd_forget_range(CR_FD_MAX, CR_FD_MAX + 10);
}
END_TEST

START_TEST(destinations_round_trip)
{
	struct cr_inflight p = pending_to(8080);
	struct cr_dest d;
	struct cr_attempt a = cr_inflight_attempt(&p, &d);
	ck_assert(a.dest == &d && strcmp(a.rule, "r") == 0);
	ck_assert(cr_inflight_same_dest(&p, &d));
	d.port = 8081;
	ck_assert(!cr_inflight_same_dest(&p, &d));
	d.port = 8080;
	d.mapped = true; /* ::ffff:127.0.0.1 is another form of the same address: another attempt */
	ck_assert(!cr_inflight_same_dest(&p, &d));
}
END_TEST

/* The record keeps the rule's name whole, up to the config's limit, through
 * the table. */
START_TEST(rule_name_kept_whole)
{
	char name[CR_RULE_NAME_MAX + 1];
	memset(name, 'n', CR_RULE_NAME_MAX);
	name[CR_RULE_NAME_MAX] = '\0';
	struct cr_dest d = { .family = CR_FAM_INET, .port = 5432 };
	struct cr_attempt a = { .rule = name, .dest = &d, .level = CR_LEVEL_FAILURES };
	struct cr_inflight f, out;
	cr_inflight_make(&f, &a, 0, false);
	cr_fd_pending_set(12, &f);
	ck_assert(cr_fd_pending_take(12, &out));
	ck_assert_str_eq(out.rule, name);
	ck_assert_int_eq(out.sotype, SOCK_STREAM);
}
END_TEST

/* One settle for both questions: the simulated errno in place of the sink's
 * refusal; a connect's states are not outcomes; SO_ERROR's 0 is one only
 * with a peer. */
START_TEST(settled_as_the_kernel_answers)
{
	struct cr_inflight sim = pending_to(80), real = pending_to(80);
	sim.err = ETIMEDOUT;
	struct cr_settled s = cr_inflight_settle(&sim, ECONNREFUSED, false, false);
	ck_assert(s.settled && s.seen == ETIMEDOUT && s.outcome == ETIMEDOUT);
	s = cr_inflight_settle(&real, ECONNREFUSED, true, false);
	ck_assert(s.settled && s.seen == ECONNREFUSED);
	s = cr_inflight_settle(&sim, EALREADY, true, false);
	ck_assert(!s.settled && s.seen == EALREADY);
	s = cr_inflight_settle(&real, EISCONN, true, false);
	ck_assert(s.settled && s.seen == EISCONN && s.outcome == 0);
	ck_assert(!cr_inflight_settle(&real, 0, false, false).settled);
	ck_assert(cr_inflight_settle(&real, 0, false, true).settled);
}
END_TEST

Suite *fdtable_suite(void)
{
	Suite *s = suite_create("fdtable");
	TCase *tc = tcase_create("fdtable");
	tcase_add_test(tc, made_and_looked_at_once);
	tcase_add_test(tc, pending_taken_once);
	tcase_add_test(tc, rule_name_kept_whole);
	tcase_add_test(tc, settled_as_the_kernel_answers);
	tcase_add_test(tc, a_new_socket_forgets_the_old_connect);
	tcase_add_test(tc, close_dup_and_ranges_forget);
	tcase_add_test(tc, modes_change_known_sockets_only);
	tcase_add_test(tc, numbers_outside_the_table);
	tcase_add_test(tc, destinations_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
