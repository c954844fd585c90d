package org.bn4j.check;

import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/** The kit on a layer nobody here wrote: DL4J's own BatchNormalization passes every check it applies to. */
class Dl4jBatchNormTest {

    @TestFactory
    Stream<DynamicNode> dl4jBatchNormalization() {
        return LayerCheck.of("DL4J BatchNormalization", () -> new BatchNormalization.Builder().build())
                .on(InputKind.FF, InputKind.CNN_NCHW, InputKind.CNN_NHWC)
                .tests();
    }
}
