package org.bn4j.exec;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The threads that run a kernel's parts: every part once, on distinct threads when the workers claim them, on the caller
 * when they do not; failures passed on; concurrent callers.
 */
class TeamTest {

    @RepeatedTest(20)
    void everyPartRunsOnceAndWorkersTakeTheirs() {
        Team team = Team.of(4);
        AtomicIntegerArray runs = new AtomicIntegerArray(4);
        Map<Integer, Thread> ranOn = new ConcurrentHashMap<>();
        team.run(4, i -> {
            // the caller's part is slow enough for the workers, woken or spinning, to claim theirs meanwhile
            if (i == 0) sleepMicros(20_000);
            runs.incrementAndGet(i);
            ranOn.put(i, Thread.currentThread());
        });
        for (int i = 0; i < 4; i++) assertEquals(1, runs.get(i), "part " + i);
        assertEquals(4, Set.copyOf(ranOn.values()).size(), "each part on its own thread: " + ranOn);
        assertSame(Thread.currentThread(), ranOn.get(0), "part 0 on the caller");
    }

    @Test
    void theCallerRunsThePartsNoWorkerHasClaimed() {
        Team team = Team.of(2);
        int onCaller = 0;
        for (int round = 0; round < 200; round++) {
            Team.rest();
            if (round % 20 == 0) sleepMicros(1000);   // the worker parks: waking it takes longer than part 0
            AtomicIntegerArray runs = new AtomicIntegerArray(2);
            Thread[] ranOn = new Thread[2];
            team.run(2, i -> {
                runs.incrementAndGet(i);
                ranOn[i] = Thread.currentThread();
            });
            assertEquals(1, runs.get(0), "round " + round);
            assertEquals(1, runs.get(1), "round " + round);
            if (ranOn[1] == Thread.currentThread()) onCaller++;
        }
        // without the caller's claim every part 1 would run on the worker, however late it woke
        assertTrue(onCaller > 0, "part 1 never ran on the caller in 200 rounds");
    }

    private static void sleepMicros(long micros) {
        try {
            TimeUnit.MICROSECONDS.sleep(micros);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
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
