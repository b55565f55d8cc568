/* test_port.c — the reply hand-back: the eventfd is written only while
 * the loop says it sleeps, at most once per sleep, and never a reply is
 * left behind while the loop blocks (a loop and an allocator thread
 * racing through thousands of rounds); and the loop's CPU is recorded for
 * an allocator thread that follows it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "port.h"

static struct smm_port port_new(void)
{
	struct smm_port p;

	assert_int_equal(smm_port_open(&p), 0);
	assert_int_equal(p.cpu, -1);
	return p;
}

static void port_free(struct smm_port *p)
{
	smm_port_close(p);
}

/* pokes returns how many eventfd writes are pending, and clears them. */
static uint64_t pokes(const struct smm_port *p)
{
	uint64_t n = 0;

	if (read(p->notify_fd, &n, sizeof n) < 0)
		assert_int_equal(errno, EAGAIN);
	return n;
}

static void hand_back_one(struct smm_port *p, struct smm_qnode *node)
{
	struct smm_qlist batch = { 0 };

	smm_qlist_append(&batch, node);
	smm_port_hand_back(p, &batch);
	assert_int_equal(batch.n, 0);
}

static void test_awake_loop_is_not_woken(void **state)
{
	struct smm_port p = port_new();
	struct smm_qnode a, b;
	struct smm_qlist out;

	(void)state;
	hand_back_one(&p, &a);
	hand_back_one(&p, &b);
	assert_int_equal(pokes(&p), 0);
	smm_queue_pop_all(p.replies, 0, &out);
	assert_int_equal(out.n, 2);
	port_free(&p);
}

static void test_sleeping_loop_is_woken_once(void **state)
{
	struct smm_port p = port_new();
	struct smm_qnode a, b;
	struct smm_qlist out;

	(void)state;
	assert_int_equal(smm_port_sleep(&p), 0);
	hand_back_one(&p, &a);
	hand_back_one(&p, &b); /* the first already woke it */
	assert_int_equal(pokes(&p), 1);
	smm_port_awake(&p);
	smm_queue_pop_all(p.replies, 0, &out);
	assert_int_equal(out.n, 2);
	port_free(&p);
}

static void test_sleep_refused_with_replies_waiting(void **state)
{
	struct smm_port p = port_new();
	struct smm_qnode a, b;

	(void)state;
	hand_back_one(&p, &a);
	assert_int_equal(smm_port_sleep(&p), 1);
	/* Refusing cleared the flag: the loop is awake, nothing is written. */
	hand_back_one(&p, &b);
	assert_int_equal(pokes(&p), 0);
	port_free(&p);
}

static void test_poke_always_writes(void **state)
{
	struct smm_port p = port_new();

	(void)state;
	smm_port_poke(&p);
	smm_port_poke(&p);
	assert_int_equal(pokes(&p), 2);
	port_free(&p);
}

#define ROUNDS 20000

static void *allocator(void *arg)
{
	struct smm_port *p = arg;
	static struct smm_qnode nodes[ROUNDS];

	for (int i = 0; i < ROUNDS; i++)
		hand_back_one(p, &nodes[i]);
	return NULL;
}

/* The loop's side: take what came, say it sleeps, block on the eventfd
 * unless that was refused. A lost wake-up would block here; poll's
 * timeout turns that into a failure instead of a hang. */
static void test_no_lost_wakeup(void **state)
{
	struct smm_port p = port_new();
	struct pollfd pfd = { .fd = p.notify_fd, .events = POLLIN };
	pthread_t t;
	size_t got = 0;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, allocator, &p), 0);
	while (got < ROUNDS) {
		struct smm_qlist out;
		smm_queue_pop_all(p.replies, 0, &out);
		got += out.n;
		if (got == ROUNDS || smm_port_sleep(&p))
			continue;
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		pokes(&p);
		smm_port_awake(&p);
	}
	pthread_join(t, NULL);
	assert_int_equal(got, ROUNDS);
	port_free(&p);
}

/* The test thread is pinned to each CPU it may use in turn, so where it
 * runs is known when note_cpu looks. */
static void test_note_cpu_records_where_the_loop_runs(void **state)
{
	struct smm_port p = port_new();
	cpu_set_t mine, one;
	int seen = 0;

	(void)state;
	smm_port_note_cpu(&p); /* not followed: nothing recorded */
	assert_int_equal(p.cpu, -1);
	p.followed = 1;
	assert_int_equal(sched_getaffinity(0, sizeof mine, &mine), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE && seen < 4; cpu++) {
		if (!CPU_ISSET(cpu, &mine))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
		smm_port_note_cpu(&p);
		assert_int_equal(p.cpu, cpu);
		seen++;
	}
	assert_int_equal(sched_setaffinity(0, sizeof mine, &mine), 0);
	assert_true(seen >= 1);
	port_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_awake_loop_is_not_woken),
		cmocka_unit_test(test_sleeping_loop_is_woken_once),
		cmocka_unit_test(test_sleep_refused_with_replies_waiting),
		cmocka_unit_test(test_poke_always_writes),
		cmocka_unit_test(test_no_lost_wakeup),
		cmocka_unit_test(test_note_cpu_records_where_the_loop_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
