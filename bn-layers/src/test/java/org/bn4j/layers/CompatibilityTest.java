package org.bn4j.layers;

import org.bn4j.check.Exact;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.DataInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Models saved by the first release (configuration format 1, before versions were recorded; made by
 * compat/MakeFixtures.java.txt at commit 64e36d6) load and predict as they did: a network of every layer of that release,
 * with options away from their defaults and a network-wide tanh activation that format 1 did not apply to its layers.
 */
class CompatibilityTest {

    private static InputStream res(String name) {
        return CompatibilityTest.class.getResourceAsStream("/compat/" + name);
    }

    @Test
    void format1ModelsLoadAndPredictAsBefore() throws Exception {
        MultiLayerNetwork net;
        try (InputStream in = res("bn4j-0.1-mln.zip")) {
            net = ModelSerializer.restoreMultiLayerNetwork(in, true);
        }
        INDArray x, expected;
        try (DataInputStream in = new DataInputStream(res("bn4j-0.1-input.bin"))) {
            x = Nd4j.read(in);
        }
        try (DataInputStream in = new DataInputStream(res("bn4j-0.1-output.bin"))) {
            expected = Nd4j.read(in);
        }
        Exact.assertClose(Exact.values(expected), Exact.values(net.output(x, false)), 1e-12, "inference output of the format-1 model");

        // the options read from format 1 (p, k, the Gaussian constant, affine, the noise) are those saved
        String json = new String(res("bn4j-0.1-mln.json").readAllBytes(), StandardCharsets.UTF_8);
        MultiLayerConfiguration conf = MultiLayerConfiguration.fromJson(json);
        LpBatchNorm l3 = (LpBatchNorm) conf.getConf(2).getLayer();
        assertEquals(org.bn4j.core.Statistic.lp(3, false), l3.getStatistic());
        assertFalse(l3.isScale() || l3.isBias(), "affine false");
        assertEquals(org.bn4j.core.Statistic.topK(2, true), ((LpBatchNorm) conf.getConf(3).getLayer()).getStatistic());
        assertEquals(4, ((GhostBatchNorm) conf.getConf(4).getLayer()).getVirtualBatchSize());
        NoisyBatchNorm noisy = (NoisyBatchNorm) conf.getConf(5).getLayer();
        assertEquals(NoiseConfig.santurkar().withSeed(3), noisy.getNoise());
        assertTrue(noisy.isNoiseBeforeAffine());
        assertEquals(1, noisy.getFormatVersion());
        assertInstanceOf(org.nd4j.linalg.activations.impl.ActivationIdentity.class, noisy.activation(),
                "format 1 applied no activation");
        // saved again, it keeps format 1 (so its meaning does not change) and reads back equal
        MultiLayerConfiguration again = MultiLayerConfiguration.fromJson(conf.toJson());
        assertEquals(conf, again);
        assertEquals(1, ((NoisyBatchNorm) again.getConf(5).getLayer()).getFormatVersion());
        // format 1 wrote the noise under its getters' names; values other than the defaults are read too
        MultiLayerConfiguration custom = MultiLayerConfiguration.fromJson(json.replace("\"nmu\" : 0.5", "\"nmu\" : 0.3"));
        assertEquals(NoiseConfig.of(0.3, 1.25, 0.1, 0.1, 3), ((NoisyBatchNorm) custom.getConf(5).getLayer()).getNoise());
    }
}
