package io.embstore.cli;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * jvector announces at INFO, on every start, which vector provider it picked: the commands that use the index keep its
 * warnings (a missing Vector API module is worth one) and drop the rest.
 */
final class JvectorLogging {
    /** Held here: the logging system keeps loggers only weakly, and a collected logger forgets its level. */
    private static final Logger JVECTOR = Logger.getLogger("io.github.jbellis.jvector");

    private JvectorLogging() {
    }

    static void quiet() {
        JVECTOR.setLevel(Level.WARNING);
    }
}
