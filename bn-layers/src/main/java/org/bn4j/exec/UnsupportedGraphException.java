package org.bn4j.exec;

/** Raised while planning when a graph holds something an executor does not run. */
final class UnsupportedGraphException extends RuntimeException {
    UnsupportedGraphException(String message) {
        super(message);
    }
}
