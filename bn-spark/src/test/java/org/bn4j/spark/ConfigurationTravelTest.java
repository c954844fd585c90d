package org.bn4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import scala.reflect.ClassTag$;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

/**
 * bn4j's configurations as Spark ships them to the workers: the {@link NetBroadcastTuple} (configuration,
 * parameters, updater state) through Spark's default Java serializer, and the configuration through DL4J's JSON.
 */
class ConfigurationTravelTest {
    private static final SerializerInstance JAVA = new JavaSerializer(new SparkConf()).newInstance();

    static List<NetCases.NetCase> cases() {
        return NetCases.all();
    }

    private static NetBroadcastTuple roundTrip(NetBroadcastTuple t) {
        var tag = ClassTag$.MODULE$.<NetBroadcastTuple>apply(NetBroadcastTuple.class);
        return JAVA.deserialize(JAVA.serialize(t, tag), tag);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void multiLayerConfigurationTravels(NetCases.NetCase c) {
        MultiLayerNetwork net = new MultiLayerNetwork(c.mln());
        net.init();
        net.fit(c.data(1, 8, 4).get(0)); // running statistics and updater state away from their initial values
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();

        assertEquals(conf, MultiLayerConfiguration.fromJson(conf.toJson()), c + ": JSON");
        NetBroadcastTuple back = roundTrip(new NetBroadcastTuple(conf, net.params(), net.getUpdater().getStateViewArray()));
        assertNotSame(conf, back.getConfiguration());
        assertEquals(conf, back.getConfiguration(), c + ": Java serialization");
        assertArrayEquals(net.params().toFloatVector(), back.getParameters().toFloatVector(), 0f, c + ": parameters");
        assertArrayEquals(net.getUpdater().getStateViewArray().toFloatVector(), back.getUpdaterState().toFloatVector(), 0f,
                c + ": updater state");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void graphConfigurationTravels(NetCases.NetCase c) {
        ComputationGraph net = new ComputationGraph(c.graph());
        net.init();
        ComputationGraphConfiguration conf = net.getConfiguration();

        assertEquals(conf, ComputationGraphConfiguration.fromJson(conf.toJson()), c + ": JSON");
        NetBroadcastTuple back = roundTrip(new NetBroadcastTuple(conf, net.params(), null));
        assertNotSame(conf, back.getGraphConfiguration());
        assertEquals(conf, back.getGraphConfiguration(), c + ": Java serialization");
        assertArrayEquals(net.params().toFloatVector(), back.getParameters().toFloatVector(), 0f, c + ": parameters");
    }
}
