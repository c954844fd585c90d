package org.bn4j.convert;

import java.util.List;

/**
 * What {@link NormFolder} did: the folded network, the normalization layers folded (each into the layer before it),
 * and the normalization layers kept, each with the reason.
 *
 * @param network the new network
 * @param folded  the layers removed, in network order
 * @param kept    the normalization layers still in the network, in network order
 * @param <N>     MultiLayerNetwork or ComputationGraph
 */
public record FoldResult<N>(N network, List<Folded> folded, List<Kept> kept) {

    /**
     * A normalization layer merged into the layer before it.
     *
     * @param norm the removed layer's name
     * @param into the name of the layer that now computes both
     */
    public record Folded(String norm, String into) {
    }

    /**
     * A normalization layer that stays.
     *
     * @param norm   its name
     * @param reason why it was not folded
     */
    public record Kept(String norm, String reason) {
    }

    /** One line per layer: "folded bn1 into conv1", "kept bn2: the layer before it, ...". */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("folded " + folded.size() + ", kept " + kept.size());
        folded.forEach(f -> s.append("\n  folded ").append(f.norm()).append(" into ").append(f.into()));
        kept.forEach(k -> s.append("\n  kept ").append(k.norm()).append(": ").append(k.reason()));
        return s.toString();
    }
}
