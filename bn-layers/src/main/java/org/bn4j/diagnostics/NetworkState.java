package org.bn4j.diagnostics;

import java.util.Arrays;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Everything of a {@link MultiLayerNetwork} or {@link ComputationGraph} that a probe could change, copied: the
 * flattened parameters (which hold the running statistics of the batch-norm family and weight norm's
 * initialization flag), the updater state (momentum, Adam moments), the iteration and epoch counts of the network
 * and of each layer, the last score, and the state of ND4J's default random generator (dropout and other
 * stochastic layers draw from it). {@link #restore()} puts all of it back; {@link #identicalTo} compares two
 * states bit for bit.
 *
 * <p>The updater state is read without creating an updater: a network that has not trained yet has none, and
 * capturing its state does not give it one. The layers' stored inputs are cleared by {@link #restore()}; the
 * network's own input, labels and masks are set back to the arrays it held.
 */
public final class NetworkState {

    private final NetAccess net;
    private final INDArray params;
    private final INDArray updater;
    private final int iteration;
    private final int epoch;
    private final double score;
    private final long rngRoot;
    private final long rngNode;
    private final Object[] inputs;

    private NetworkState(NetAccess net) {
        this.net = net;
        this.params = NetAccess.detach(net.params());
        INDArray u = net.updaterState();
        this.updater = u == null ? null : NetAccess.detach(u);
        this.iteration = net.iterationCount();
        this.epoch = net.epochCount();
        this.score = net.model.score();
        Random r = Nd4j.getRandom();
        this.rngRoot = r.rootState();
        this.rngNode = r.nodeState();
        this.inputs = net.io();
    }

    /**
     * Copies the state of {@code network}.
     *
     * @throws IllegalArgumentException when {@code network} is neither a MultiLayerNetwork nor a ComputationGraph
     */
    public static NetworkState capture(Model network) {
        return new NetworkState(NetAccess.of(network));
    }

    static NetworkState capture(NetAccess net) {
        return new NetworkState(net);
    }

    /** Puts the copied state back into the network it was captured from. */
    public void restore() {
        net.params().assign(params);
        INDArray u = net.updaterState();
        if (updater != null && u != null) {
            u.assign(updater);
        }
        net.setCounts(iteration, epoch);
        net.clearLayers();
        setScore(net.model, score);
        Nd4j.getRandom().setStates(rngRoot, rngNode);
        net.io(inputs);
    }

    /**
     * True when both states hold exactly the same values: parameters and updater state compared bit for bit (no
     * tolerance), the same counts, score and random-generator state.
     */
    public boolean identicalTo(NetworkState other) {
        return sameBits(params, other.params) && sameBits(updater, other.updater) && iteration == other.iteration
                && epoch == other.epoch && Double.compare(score, other.score) == 0 && rngRoot == other.rngRoot
                && rngNode == other.rngNode;
    }

    /** What differs from {@code other}, for test messages ("nothing" when {@link #identicalTo} holds). */
    public String differencesFrom(NetworkState other) {
        StringBuilder sb = new StringBuilder();
        if (!sameBits(params, other.params)) {
            sb.append("parameters; ");
        }
        if (!sameBits(updater, other.updater)) {
            sb.append("updater state; ");
        }
        if (iteration != other.iteration || epoch != other.epoch) {
            sb.append("counts ").append(iteration).append('/').append(epoch).append(" vs ").append(other.iteration)
                    .append('/').append(other.epoch).append("; ");
        }
        if (Double.compare(score, other.score) != 0) {
            sb.append("score ").append(score).append(" vs ").append(other.score).append("; ");
        }
        if (rngRoot != other.rngRoot || rngNode != other.rngNode) {
            sb.append("random generator state; ");
        }
        return sb.length() == 0 ? "nothing" : sb.substring(0, sb.length() - 2);
    }

    private static boolean sameBits(INDArray a, INDArray b) {
        if (a == null || b == null) {
            return a == b;
        }
        return a.dataType() == b.dataType() && Arrays.equals(a.shape(), b.shape())
                && Arrays.equals(a.reshape(a.length()).toDoubleVector(), b.reshape(b.length()).toDoubleVector());
    }

    private static void setScore(Model m, double s) {
        if (m instanceof MultiLayerNetwork n) {
            n.setScore(s);
        } else {
            ((ComputationGraph) m).setScore(s);
        }
    }
}
