/* test_queue.c — the request queue: FIFO order, batches, capacity, the
 * was-empty signal, and a producer/consumer pair across threads, with the
 * consumer sleeping at once and with it watching the queue first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "queue.h"

struct item {
	struct smm_qnode node; /* first: a node pointer is an item pointer */
	int value;
};

static void test_fifo_batches(void **state)
{
	struct smm_queue *q = smm_queue_new(0);
	struct item items[5];
	struct smm_qlist batch = { 0 }, out;
	struct smm_qnode *n;
	int want = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		items[i].value = i;
		smm_qlist_append(&batch, &items[i].node);
		if (i == 2) {
			assert_int_equal(smm_queue_push(q, &batch), 1);
			assert_int_equal(batch.n, 0);
		}
	}
	assert_int_equal(smm_queue_push(q, &batch), 0); /* not empty before */
	assert_int_equal(smm_queue_length(q), 5);
	smm_queue_pop_all(q, 0, &out);
	assert_int_equal(out.n, 5);
	while ((n = smm_qlist_shift(&out)))
		assert_int_equal(((struct item *)n)->value, want++);
	assert_int_equal(want, 5);
	smm_queue_pop_all(q, 0, &out);
	assert_null(out.head);
	smm_queue_destroy(q);
}

static void test_capacity(void **state)
{
	struct smm_queue *q = smm_queue_new(2);
	struct item items[3];
	struct smm_qlist batch = { 0 };

	(void)state;
	for (int i = 0; i < 3; i++)
		smm_qlist_append(&batch, &items[i].node);
	assert_int_equal(smm_queue_push(q, &batch), -1);
	assert_int_equal(batch.n, 3); /* nothing moved */
	assert_int_equal(smm_queue_length(q), 0);
	smm_qlist_shift(&batch);
	assert_int_equal(smm_queue_push(q, &batch), 1);
	assert_int_equal(smm_queue_length(q), 2);
	smm_queue_destroy(q);
}

#define PRODUCED 20000

static void *producer(void *arg)
{
	struct smm_queue *q = arg;
	static struct item items[PRODUCED];
	struct smm_qlist batch = { 0 };

	for (int i = 0; i < PRODUCED; i++) {
		items[i].value = i;
		smm_qlist_append(&batch, &items[i].node);
		if (batch.n == 7 || i == PRODUCED - 1)
			smm_queue_push(q, &batch);
	}
	return NULL;
}

static void run_threads(uint64_t spin_ns)
{
	struct smm_queue *q = smm_queue_new(0);
	pthread_t t;
	int want = 0;

	smm_queue_set_spin(q, spin_ns);
	assert_int_equal(pthread_create(&t, NULL, producer, q), 0);
	while (want < PRODUCED) {
		struct smm_qlist out;
		struct smm_qnode *n;
		smm_queue_pop_all(q, 1, &out); /* blocks until the producer pushes */
		assert_true(out.n > 0);
		while ((n = smm_qlist_shift(&out)))
			assert_int_equal(((struct item *)n)->value, want++);
	}
	pthread_join(t, NULL);
	smm_queue_destroy(q);
}

static void test_threads(void **state)
{
	(void)state;
	run_threads(0);
}

static void test_threads_spinning(void **state)
{
	(void)state;
	run_threads(20000);
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The allocator's wait: pop_until with deadlines of 0-1 ms, so timeouts
 * race the producer's pushes (and its signals, sent after the unlock)
 * thousands of times. Every item must still arrive, in order, and an
 * empty return must only come once the deadline has passed. */
static void test_threads_with_deadlines(void **state)
{
	struct smm_queue *q = smm_queue_new(0);
	pthread_t t;
	int want = 0;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, producer, q), 0);
	while (want < PRODUCED) {
		struct smm_qlist out;
		struct smm_qnode *n;
		uint64_t deadline = now_ms() + (uint64_t)(want % 2);
		smm_queue_pop_until(q, deadline, &out);
		if (out.n == 0)
			assert_true(now_ms() >= deadline);
		while ((n = smm_qlist_shift(&out)))
			assert_int_equal(((struct item *)n)->value, want++);
	}
	pthread_join(t, NULL);
	smm_queue_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_batches),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_threads_spinning),
		cmocka_unit_test(test_threads_with_deadlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
