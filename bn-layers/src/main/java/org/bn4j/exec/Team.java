package org.bn4j.exec;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The threads that run the parts of a fused kernel's sweeps: part 0 on the calling thread, part i on worker i. A
 * kernel hands work over once per phase, a few times a call, and a thread pool's hand-over (queue, unpark, future)
 * costs tens of microseconds on a virtual machine, more than a whole sweep of a small layer takes. So the workers
 * spin for a while after each part for the next one, and the caller spins for its workers, before either parks (the
 * way OpenMP runtimes wait): {@code -Dbn4j.exec.spinMicros} microseconds, default 100, read at each wait (0: park at
 * once). Between graphs the workers do not spin: the executor calls {@link #rest} when a graph's call is done,
 * because what runs next (the rest of a layer and of the network, ND4J's own threads) wants the cores; only the
 * passes of one graph call are handed over while the workers spin. A worker claims its part before running it; the
 * caller, its own part done, runs the parts no worker has claimed yet itself (a parked worker takes tens of
 * microseconds to wake, as long as a small layer's part takes), so the parts, and the results, are the same whoever
 * runs them. One caller at a time has the team; a second, concurrent caller runs its parts one after the other on its
 * own thread, which gives the same results.
 */
final class Team {
    /** How long a worker (or the waiting caller) spins before parking. */
    static long spinNanos() {
        return Long.getLong("bn4j.exec.spinMicros", 100) * 1000;
    }

    private static volatile Team shared;

    private final Worker[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger pending = new AtomicInteger();
    private volatile Thread waiter;
    private volatile Throwable failure;
    private volatile boolean stopped;
    /** Set by {@link #rest}: spinning workers park; cleared when work is posted. */
    private volatile boolean resting;

    private Team(int workers) {
        this.workers = new Worker[workers];
        for (int i = 0; i < workers; i++) {
            this.workers[i] = new Worker(i + 1);
            this.workers[i].thread.start();
        }
    }

    /** The process's team, with at least {@code threads - 1} workers. */
    static synchronized Team of(int threads) {
        if (shared == null || shared.workers.length < threads - 1) {
            if (shared != null) shared.stop();
            shared = new Team(threads - 1);
        }
        return shared;
    }

    /** Lets the workers park now rather than spin for a next part (cheap; the next {@link #run} wakes them). */
    static void rest() {
        Team t = shared;
        if (t != null) t.resting = true;
    }

    /**
     * Runs {@code body(0..t-1)}, part 0 on the caller, and returns when every part has; rethrows a part's failure (the
     * caller's own first).
     */
    void run(int t, IntConsumer body) {
        if (t <= 1) {
            body.accept(0);
            return;
        }
        if (t - 1 > workers.length || !lock.tryLock()) {
            for (int i = 0; i < t; i++) body.accept(i);
            return;
        }
        try {
            if (stopped) {
                for (int i = 0; i < t; i++) body.accept(i);
                return;
            }
            failure = null;
            resting = false;
            pending.set(t - 1);
            for (int i = 1; i < t; i++) workers[i - 1].post(body);
            Throwable own = null;
            try {
                body.accept(0);
            } catch (Throwable e) {
                own = e;
            }
            for (int i = 1; i < t; i++) {   // the parts no worker has claimed yet
                if (workers[i - 1].task.getAndSet(null) == null) continue;
                try {
                    body.accept(i);
                } catch (Throwable e) {
                    if (failure == null) failure = e;
                }
                pending.decrementAndGet();
            }
            awaitWorkers();
            Throwable f = own != null ? own : failure;
            if (f instanceof RuntimeException re) throw re;
            if (f instanceof Error er) throw er;
            if (f != null) throw new IllegalStateException(f);
        } finally {
            lock.unlock();
        }
    }

    private void awaitWorkers() {
        long until = System.nanoTime() + spinNanos();
        while (pending.get() != 0) {
            if (System.nanoTime() - until < 0) {
                Thread.onSpinWait();
            } else {
                waiter = Thread.currentThread();
                while (pending.get() != 0) LockSupport.park(this);
                waiter = null;
            }
        }
    }

    /** Ends the workers once no caller has the team; a caller that still holds it runs its parts itself. */
    private void stop() {
        lock.lock();
        try {
            stopped = true;
            for (Worker w : workers) LockSupport.unpark(w.thread);
        } finally {
            lock.unlock();
        }
    }

    private final class Worker implements Runnable {
        final int part;
        final Thread thread;
        /** The posted part, until the worker or the caller claims it. */
        final AtomicReference<IntConsumer> task = new AtomicReference<>();
        volatile boolean parked;

        Worker(int part) {
            this.part = part;
            thread = new Thread(this, "bn4j-fused-" + part);
            thread.setDaemon(true);
        }

        void post(IntConsumer body) {
            task.set(body);
            if (parked) LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            while (!stopped) {
                IntConsumer b = next();
                if (b == null) continue;
                try {
                    b.accept(part);
                } catch (Throwable e) {
                    failure = e;
                }
                if (pending.decrementAndGet() == 0) {
                    Thread w = waiter;
                    if (w != null) LockSupport.unpark(w);
                }
            }
        }

        /** The next part to run, claimed: spins for it, then parks; null when woken without one. */
        private IntConsumer next() {
            long until = System.nanoTime() + spinNanos();
            while (task.get() == null && !resting && System.nanoTime() - until < 0) Thread.onSpinWait();
            if (task.get() == null) {
                parked = true;
                if (task.get() == null && !stopped) LockSupport.park(this);
                parked = false;
            }
            return task.getAndSet(null);
        }
    }
}
