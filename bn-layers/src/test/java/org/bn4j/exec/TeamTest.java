package org.bn4j.exec;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

/** The threads that run a kernel's parts: every part once, on distinct threads, failures passed on, concurrent callers. */
class TeamTest {

    @RepeatedTest(20)
    void everyPartRunsOnceOnItsOwnThread() {
        Team team = Team.of(4);
        AtomicIntegerArray runs = new AtomicIntegerArray(4);
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        team.run(4, i -> {
            runs.incrementAndGet(i);
            threads.add(Thread.currentThread());
        });
        for (int i = 0; i < 4; i++) assertEquals(1, runs.get(i), "part " + i);
        assertEquals(4, threads.size(), "each part on its own thread");
        assertTrue(threads.contains(Thread.currentThread()), "part 0 on the caller");
    }

    @Test
    void returnsOnlyWhenEveryPartHasFinished() {
        Team team = Team.of(2);
        for (int round = 0; round < 200; round++) {
            AtomicIntegerArray done = new AtomicIntegerArray(2);
            // the worker's part is the slow one: it parks past the spin budget, so the caller waits by parking too
            long sleep = round % 50 == 0 ? 2 * Team.spinNanos() / 1000 + 1000 : 0;
            team.run(2, i -> {
                if (i == 1 && sleep > 0) {
                    try {
                        TimeUnit.MICROSECONDS.sleep(sleep);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
                done.set(i, 1);
            });
            assertEquals(1, done.get(0), "round " + round);
            assertEquals(1, done.get(1), "round " + round);
        }
    }

    @Test
    void aRestingTeamWakesForTheNextRun() throws InterruptedException {
        Team team = Team.of(2);
        for (int round = 0; round < 50; round++) {
            Team.rest();
            if (round % 10 == 0) Thread.sleep(1);   // the worker parks
            AtomicIntegerArray runs = new AtomicIntegerArray(2);
            team.run(2, runs::incrementAndGet);
            assertEquals(1, runs.get(0), "round " + round);
            assertEquals(1, runs.get(1), "round " + round);
        }
    }

    @Test
    void aWorkersFailureReachesTheCaller() {
        Team team = Team.of(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> team.run(2, i -> {
            if (i == 1) throw new IllegalArgumentException("part 1 failed");
        }));
        assertEquals("part 1 failed", e.getMessage());
        assertThrows(AssertionError.class, () -> team.run(2, i -> {
            if (i == 1) throw new AssertionError("part 1 failed");
        }));
        // the team still works afterwards, and an earlier failure is not reported again
        AtomicIntegerArray runs = new AtomicIntegerArray(2);
        team.run(2, runs::incrementAndGet);
        assertEquals(1, runs.get(0));
        assertEquals(1, runs.get(1));
    }

    @Test
    void theCallersFailureComesFirst() {
        Team team = Team.of(2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> team.run(2, i -> {
            throw new IllegalStateException("part " + i);
        }));
        assertEquals("part 0", e.getMessage());
    }

    @Test
    void concurrentCallersEachGetAllTheirParts() throws Exception {
        Team team = Team.of(3);
        int callers = 4, calls = 300;
        ExecutorService ex = Executors.newFixedThreadPool(callers);
        try {
            CountDownLatch start = new CountDownLatch(1);
            Future<?>[] fs = new Future<?>[callers];
            for (int c = 0; c < callers; c++) {
                fs[c] = ex.submit(() -> {
                    start.await();
                    for (int k = 0; k < calls; k++) {
                        AtomicIntegerArray runs = new AtomicIntegerArray(3);
                        team.run(3, runs::incrementAndGet);
                        for (int i = 0; i < 3; i++) assertEquals(1, runs.get(i), "part " + i + " of call " + k);
                    }
                    return null;
                });
            }
            start.countDown();
            for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
        } finally {
            ex.shutdownNow();
        }
    }
}
