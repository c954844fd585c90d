package org.bn4j.layers;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Invalid options are refused when the configuration is built, with a message naming layer, rule and value. */
class VariantConfigTest {

    private static void refused(Executable build, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' lacks '" + p + "'");
    }

    @Test
    void invalidOptionsAreRefused() {
        refused(() -> new LpBatchNorm.Builder().p(0.5).build(), "LpBatchNorm", "p must be >= 1", "0.5");
        refused(() -> new LpBatchNorm.Builder().topK(0).build(), "LpBatchNorm", "k must be >= 1", "0");
        refused(() -> new GhostBatchNorm.Builder().virtualBatchSize(1).build(), "GhostBatchNorm", "virtualBatchSize must be >= 2", "1");
        refused(() -> new BatchNorm.Builder().eps(0).build(), "BatchNorm", "eps must be > 0", "0.0");
        refused(() -> new LayerNorm.Builder().eps(-1).build(), "LayerNorm", "eps must be > 0", "-1.0");
        refused(() -> new BatchNorm.Builder().decay(1).build(), "BatchNorm", "decay must be in [0, 1)", "1.0");
        refused(() -> NoiseConfig.of(0.5, 0.9, 0.1, 0.1, 0), "noise", "nSigma >= 1", "nSigma=0.9");
    }
}
